/* The client's send path: a refused send allocates nothing; a send from a
 * callback goes straight to the connection (no wake of the I/O thread);
 * small messages framed and masked by us reach a strict peer (Python
 * `websockets` rejects unmasked client frames) whole and in order. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "alloc_counter.h"
#include "client_harness.h"
#include "io/ctx.h"
#include "py_peer.h"

Test(send_path_client, a_refused_send_allocates_nothing)
{
	if (!ALLOC_COUNTER_WORKS)
		cr_skip_test("sanitizer build: its allocator is not counted");
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_messages = 1;
	cfg.queue_max_bytes = 100;
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:1/", &cfg), 0);
	/* Not connected: the offline queue takes one message, then is full. */
	cr_assert_eq(mws_client_send(c, "first", 5, MWS_MSG_TEXT), 0);
	long before = allocs_here();
	cr_assert_eq(mws_client_send(c, "second", 6, MWS_MSG_TEXT), MWS_EQUEUEFULL);
	cr_expect_eq(allocs_here() - before, 0, "a refused send allocated %ld times",
	             allocs_here() - before);
	mws_client_free(c);
}

Test(send_path_client, an_accepted_send_allocates_once)
{
	if (!ALLOC_COUNTER_WORKS)
		cr_skip_test("sanitizer build: its allocator is not counted");
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:1/", NULL), 0);
	cr_assert_eq(mws_client_send(c, "warm", 4, MWS_MSG_TEXT), 0);
	long before = allocs_here();
	cr_assert_eq(mws_client_send(c, "one allocation", 14, MWS_MSG_TEXT), 0);
	cr_expect_eq(allocs_here() - before, 1);
	mws_client_free(c);
}

/* ---- a send from a callback ---- */

typedef struct cb_send {
	mws_ctx *ctx;
	atomic_int received;
	atomic_long wakes_during_send; /* -1 until measured */
	atomic_int send_rc;
} cb_send;

static void echo_once(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	(void)d, (void)n, (void)t;
	cb_send *s = ud;
	if (atomic_fetch_add(&s->received, 1) == 0) {
		uint64_t before = atomic_load(&s->ctx->wakes);
		atomic_store(&s->send_rc, mws_client_send(c, "from the callback", 17, MWS_MSG_TEXT));
		atomic_store(&s->wakes_during_send, (long)(atomic_load(&s->ctx->wakes) - before));
	}
}

static bool got_two(void *arg) { return atomic_load(&((cb_send *)arg)->received) >= 2; }

Test(send_path_client, a_send_from_a_callback_wakes_nothing_and_arrives, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	cb_send s = {.wakes_during_send = -1};
	cr_assert_eq(mws_ctx_new(&s.ctx, NULL), 0);
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, s.ctx, url, NULL), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, echo_once, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &s, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert_eq(mws_client_send(c, "from the app", 12, MWS_MSG_TEXT), 0);
	cr_assert(mws_test_wait_until(got_two, &s, 10000), "the echo of the callback's send");
	cr_expect_eq(atomic_load(&s.send_rc), 0);
	/* Before: the send went through the ring and woke the loop it ran on
	 * (lws_cancel_service, an eventfd write and read, one more poll). */
	cr_expect_eq(atomic_load(&s.wakes_during_send), 0, "%ld wakes",
	             atomic_load(&s.wakes_during_send));
	mws_client_free(c);
	mws_ctx_free(s.ctx);
	mws_test_peer_stop(&peer);
}

/* ---- several small frames per write ---- */

/* Message i of round k: text (valid UTF-8) for even i, binary for odd. */
static void fill(unsigned char *buf, size_t n, int i, int k)
{
	for (size_t j = 0; j < n; j++) {
		unsigned v = (unsigned)(i * 31 + (int)j * 7 + k);
		buf[j] = i % 2 ? (unsigned char)v : (unsigned char)('a' + v % 26);
	}
}

Test(send_path_client, small_and_large_messages_arrive_whole_and_in_order, .timeout = 60)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_bytes = 16u << 20;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_not_null(c);
	/* Every frame header form (7-bit, 16-bit, 64-bit lengths), the edges
	 * of a batch, and a message fragmented over several writes. */
	static const size_t sizes[] = {0,    1,    3,    7,    8,    9,     125,   126,
	                               127,  200,  1000, 4000, 4090, 4096,  4100,  5000,
	                               16000, 16384, 20000, 65535, 65536, 70000, 2,   0};
	enum { N = sizeof sizes / sizeof sizes[0], ROUNDS = 20 };
	unsigned char *buf = malloc(70000);
	cr_assert_not_null(buf);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < N; i++) {
			fill(buf, sizes[i], i, k);
			cr_assert_eq(mws_client_send(c, buf, sizes[i],
			                             i % 2 ? MWS_MSG_BINARY : MWS_MSG_TEXT), 0);
		}
	cr_assert(rec_wait_msgs(&r, N * ROUNDS, 30000), "got %d of %d", r.nmsgs, N * ROUNDS);
	for (int k = 0; k < ROUNDS; k++)
		for (int i = 0; i < N; i++) {
			int m = k * N + i;
			cr_assert_eq(r.msg_lens[m], sizes[i], "message %d: %zu bytes", m, r.msg_lens[m]);
			cr_assert_eq(r.msg_types[m], i % 2 ? MWS_MSG_BINARY : MWS_MSG_TEXT);
			fill(buf, sizes[i], i, k);
			cr_assert_eq(memcmp(r.msgs[m], buf, sizes[i]), 0, "message %d differs", m);
		}
	free(buf);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}
