/* The server's send path: one allocation per send, none for a refused
 * one, and a send from a callback goes straight to the connection (no
 * wake of the I/O thread). */
#include <criterion/criterion.h>

#include "alloc_counter.h"
#include "io/ctx.h"
#include "server_common.h"
#include "raw_ws.h"

/* What the test client saw: messages counted, the last one kept. */
typedef struct seen {
	atomic_int msgs;
	char last[64];
} seen;

static void client_on_message(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	(void)c, (void)t;
	seen *s = ud;
	if (n < sizeof s->last) {
		memcpy(s->last, d, n);
		s->last[n] = '\0';
	}
	atomic_fetch_add(&s->msgs, 1);
}

/* A plain client of ours connected to `srv`; waits for on_connect. */
static mws_client *plain_client(mws_ctx *ctx, mws_server *srv, rec *r, seen *s)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, client_on_message, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, s, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(wait_at_least(&r->connects, 1, 5000), "never connected");
	return c;
}

static bool msgs_at_least(void *arg)
{
	int_at_least *w = arg;
	return atomic_load(w->v) >= w->n;
}

Test(send_path_server, a_refused_send_allocates_nothing, .timeout = 30)
{
	if (!ALLOC_COUNTER_WORKS)
		cr_skip_test("sanitizer build: its allocator is not counted");
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.send_queue_max_bytes = 8;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	seen s = {0};
	mws_client *c = plain_client(ctx, srv, &r, &s);
	long before = allocs_here();
	cr_assert_eq(mws_server_send(srv, r.last_id, "nine byte", 9, MWS_MSG_TEXT),
	             MWS_EQUEUEFULL);
	cr_assert_eq(mws_server_send(srv, r.last_id + 1000, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);
	cr_expect_eq(allocs_here() - before, 0, "refused sends allocated %ld times",
	             allocs_here() - before);
	/* and one that fits still goes */
	before = allocs_here();
	cr_assert_eq(mws_server_send(srv, r.last_id, "8 bytes!", 8, MWS_MSG_TEXT), 0);
	cr_expect_eq(allocs_here() - before, 1, "a send allocated %ld times",
	             allocs_here() - before);
	int_at_least w = {&s.msgs, 1};
	cr_assert(mws_test_wait_until(msgs_at_least, &w, 5000));
	cr_expect_str_eq(s.last, "8 bytes!");
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* ---- a send from a callback ---- */

typedef struct echo_probe {
	mws_ctx *ctx;
	atomic_int connects;
	atomic_long wakes; /* during the callback's send; -1 until measured */
	atomic_int rc;
} echo_probe;

static void probe_echo(mws_server *srv, mws_conn_id id, const void *d, size_t n, int t,
                       void *ud)
{
	echo_probe *p = ud;
	uint64_t before = atomic_load(&p->ctx->wakes);
	atomic_store(&p->rc, mws_server_send(srv, id, d, n, t));
	atomic_store(&p->wakes, (long)(atomic_load(&p->ctx->wakes) - before));
}

static void probe_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv, (void)id, (void)info;
	atomic_fetch_add(&((echo_probe *)ud)->connects, 1);
}

Test(send_path_server, a_send_from_a_callback_wakes_nothing_and_arrives, .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	echo_probe pc = {.ctx = ctx, .wakes = -1, .rc = 1};
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	mws_server *srv;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, probe_connect, probe_echo, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, &pc, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);

	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
	mws_client_config ccfg;
	mws_client_config_init(&ccfg);
	ccfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	seen s = {0};
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, ctx, url, &ccfg), 0);
	mws_client_callbacks ccbs = {sizeof ccbs, NULL, client_on_message, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &ccbs, &s, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(wait_at_least(&pc.connects, 1, 5000), "never connected");
	cr_assert_eq(mws_client_send(c, "echo me", 7, MWS_MSG_TEXT), 0);
	int_at_least w = {&s.msgs, 1};
	cr_assert(mws_test_wait_until(msgs_at_least, &w, 5000), "no echo");
	cr_expect_str_eq(s.last, "echo me");
	cr_expect_eq(atomic_load(&pc.rc), 0);
	/* Before: a command in the outbox, lws_cancel_service() and its
	 * eventfd, one more trip round the loop. */
	cr_expect_eq(atomic_load(&pc.wakes), 0, "%ld wakes", atomic_load(&pc.wakes));
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* ---- a ping read before a message gets its pong before the echo ---- */

/* The ping in `frames` gets its pong before the echo (raw_ws.h). */
static void pong_then_echo(const unsigned char *frames, size_t n, const char *want)
{
	raw_expect_pong_then_echo(frames, n, want, 0);
}

Test(send_path_server, a_ping_between_fragments_is_answered_before_the_echo, .timeout = 30)
{
	unsigned char f[128];
	size_t n = raw_ws_frame(f, 0x1, "frag1", 5, 1);
	f[0] &= 0x7f; /* not the last fragment */
	n += raw_ws_frame(f + n, 0x9, "ping", 4, 1);
	n += raw_ws_frame(f + n, 0x0, "frag2", 5, 1);
	pong_then_echo(f, n, "frag1frag2");
}

Test(send_path_server, a_ping_before_a_message_is_answered_before_the_echo, .timeout = 30)
{
	unsigned char f[128];
	size_t n = raw_ws_frame(f, 0x9, "ping", 4, 1);
	n += raw_ws_frame(f + n, 0x1, "message", 7, 1);
	pong_then_echo(f, n, "message");
}
