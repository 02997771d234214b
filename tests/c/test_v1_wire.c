/*
 * mws.v1 on the wire against our server, from a raw socket: the 101 selects
 * the protocol, hello/welcome with the resume secret (a wrong one gets a
 * new session, the same answer as an unknown id), and every kind of bad
 * input closes with the code docs/PROTOCOL.md names, counted, crashing
 * nothing; a plain client on the same port is unaffected.
 */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "core/envelope.h"
#include "managedws.h"
#include "raw_ws.h"

/* raw_ws_open with Sec-WebSocket-Protocol: mws.v1; the 101 must select it. */
static int v1_open(int port)
{
	int fd = tcp_connect_from(NULL, port);
	cr_assert_geq(fd, 0);
	char req[512];
	int n = snprintf(req, sizeof req,
	                 "GET /v1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Protocol: mws.v1\r\nSec-WebSocket-Version: 13\r\n\r\n",
	                 port);
	cr_assert_eq(write_all(fd, req, (size_t)n), 0);
	char buf[2048];
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + 5000;
	while (got < sizeof buf - 1) {
		uint64_t now = mws_test_now_ms();
		if (now >= end || mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		if (read(fd, buf + got, 1) != 1)
			break;
		got++;
		buf[got] = '\0';
		if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
			break;
	}
	buf[got] = '\0';
	cr_assert(strstr(buf, " 101 "), "no 101: %s", buf);
	cr_assert(strcasestr(buf, "Sec-WebSocket-Protocol: mws.v1"), "not selected: %s", buf);
	cr_assert(strcasestr(buf, "\r\nMws-Protocol: mws.v1\r\n"), "no marker: %s", buf);
	return fd;
}

static void send_env(int fd, mws__env_out *o)
{
	cr_assert_eq(raw_ws_send(fd, 2, mws__env_out_bytes(o), o->len, 1), 0);
	mws__env_out_reset(o);
}

/* Reads binary frames until one decodes as `type`; its envelope is copied
 * with the frame in `frame` (payload pointers point there). */
static int read_env(int fd, unsigned char *frame, size_t cap, int type, mws__env *e)
{
	uint64_t end = mws_test_now_ms() + 5000;
	while (mws_test_now_ms() < end) {
		size_t n = 0;
		int op = raw_ws_read_frame(fd, frame, cap, &n, NULL, 5000);
		if (op < 0 || op == 8)
			return -1;
		if (op == 2 && mws__env_decode(frame, n, NULL, e) == 0 && e->type == type)
			return 0;
	}
	return -1;
}

typedef struct wire_srv {
	mws_ctx *ctx;
	mws_server *srv;
	atomic_int connects, disconnects, last_why;
} wire_srv;

static void w_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i, void *u)
{
	(void)s, (void)id, (void)i;
	atomic_fetch_add(&((wire_srv *)u)->connects, 1);
}

static void w_disconnect(mws_server *s, mws_conn_id id, int code, const char *r, int why,
                         void *u)
{
	(void)s, (void)id, (void)code, (void)r;
	atomic_store(&((wire_srv *)u)->last_why, why);
	atomic_fetch_add(&((wire_srv *)u)->disconnects, 1);
}

static void wire_start(wire_srv *w)
{
	memset(w, 0, sizeof *w);
	cr_assert_eq(mws_ctx_new(&w->ctx, NULL), 0);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.max_message_bytes = 1000;
	cr_assert_eq(mws_server_new(&w->srv, w->ctx, &cfg), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = w_connect;
	cb.on_disconnect = w_disconnect;
	cr_assert_eq(mws_server_set_callbacks(w->srv, &cb, w, NULL), 0);
	cr_assert_eq(mws_server_start(w->srv), 0);
}

static void wire_stop(wire_srv *w)
{
	mws_server_free(w->srv);
	mws_ctx_free(w->ctx);
}

/* A welcomed raw session; its id in `id`. */
static int hello(int port, const unsigned char *id_in, const unsigned char *secret,
                 mws__env *welcome, unsigned char *frame, size_t cap)
{
	int fd = v1_open(port);
	mws__env_out o;
	mws__env_out_growing(&o, 0);
	cr_assert_eq(mws__env_encode_hello(&o, id_in, secret, 0), 0);
	send_env(fd, &o);
	mws__env_out_release(&o);
	cr_assert_eq(read_env(fd, frame, cap, MWS__ENV_WELCOME, welcome), 0, "no welcome");
	return fd;
}

Test(v1_wire, wrong_secret_gets_a_new_session_right_one_resumes)
{
	wire_srv w;
	wire_start(&w);
	int port = mws_server_port(w.srv);
	unsigned char secret[16], other[16], id[16], f[256];
	memset(secret, 7, sizeof secret);
	memset(other, 8, sizeof other);
	mws__env e;
	int fd = hello(port, NULL, secret, &e, f, sizeof f);
	cr_expect_eq(e.u.welcome.resumed, 0);
	cr_expect_eq(e.u.welcome.session_ttl_ms, 120000);
	memcpy(id, e.u.welcome.session_id, 16);
	close(fd); /* no close frame: the session is suspended */

	int fd2 = hello(port, id, other, &e, f, sizeof f);
	cr_expect_eq(e.u.welcome.resumed, 0, "a wrong secret resumed the session");
	cr_expect_neq(memcmp(e.u.welcome.session_id, id, 16), 0);
	close(fd2);

	int fd3 = hello(port, id, secret, &e, f, sizeof f);
	cr_expect_eq(e.u.welcome.resumed, 1);
	cr_expect_eq(memcmp(e.u.welcome.session_id, id, 16), 0);
	close(fd3);
	cr_expect_eq(atomic_load(&w.connects), 2, "two sessions, one resumed");
	wire_stop(&w);
}

/* Sends `bytes` (or a text frame when text) after an optional hello and
 * expects the close code. */
static void expect_close(int port, int say_hello, int opcode, const void *bytes, size_t n,
                         int code)
{
	unsigned char f[256], secret[16] = {1};
	mws__env e;
	int fd = say_hello ? hello(port, NULL, secret, &e, f, sizeof f) : v1_open(port);
	cr_assert_eq(raw_ws_send(fd, opcode, bytes, n, 1), 0);
	char reason[128] = "";
	int got = raw_ws_read_close(fd, reason, sizeof reason, 5000);
	cr_expect_eq(got, code, "expected %d, got %d (%s)", code, got, reason);
	cr_expect(strstr(reason, "mws.v1: ") == reason, "reason: %s", reason);
	close(fd);
}

Test(v1_wire, bad_input_closes_with_the_documented_codes)
{
	wire_srv w;
	wire_start(&w);
	int port = mws_server_port(w.srv);
	mws__env_out o;
	mws__env_out_growing(&o, 0);

	const unsigned char not_msgpack[] = {0xc1};
	expect_close(port, 0, 2, not_msgpack, 1, 4002);
	const unsigned char unknown[] = {0x91, 0x63}; /* [99] */
	expect_close(port, 0, 2, unknown, 2, 4003);
	expect_close(port, 0, 1, "hello", 5, 4003); /* a text frame */
	cr_assert_eq(mws__env_encode_ack(&o, 1), 0); /* anything before hello */
	expect_close(port, 0, 2, mws__env_out_bytes(&o), o.len, 4003);
	mws__env_out_reset(&o);

	cr_assert_eq(mws__env_encode_data(&o, 5, "x", 1, 0, 0), 0); /* gap: 1 expected */
	expect_close(port, 1, 2, mws__env_out_bytes(&o), o.len, 4004);
	mws__env_out_reset(&o);
	cr_assert_eq(mws__env_encode_data(&o, 1, "x", 1, 0, 9), 0); /* ack never written */
	expect_close(port, 1, 2, mws__env_out_bytes(&o), o.len, 4004);
	mws__env_out_reset(&o);
	static char big[1500];
	cr_assert_eq(mws__env_encode_data(&o, 1, big, sizeof big, 0, 0), 0); /* over 1000 */
	expect_close(port, 1, 2, mws__env_out_bytes(&o), o.len, 4009);
	mws__env_out_reset(&o);
	const unsigned char empty_batch[] = {0x94, 0x08, 0x01, 0x90, 0x00};
	expect_close(port, 1, 2, empty_batch, sizeof empty_batch, 4009);
	expect_close(port, 1, 1, "text", 4, 4003); /* text after the welcome */
	unsigned char secret[16] = {2};
	cr_assert_eq(mws__env_encode_hello(&o, NULL, secret, 0), 0); /* a second hello */
	expect_close(port, 1, 2, mws__env_out_bytes(&o), o.len, 4003);
	mws__env_out_release(&o);

	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(w.srv, &st);
	cr_expect_eq(st.protocol_errors, 10);
	wire_stop(&w);
}

Test(v1_wire, plain_and_managed_share_the_port)
{
	wire_srv w;
	wire_start(&w);
	int port = mws_server_port(w.srv);
	int status = 0;
	int plain = raw_ws_open(NULL, port, &status);
	cr_assert_geq(plain, 0, "plain upgrade refused: %d", status);
	unsigned char f[256], secret[16] = {3};
	mws__env e;
	int fd = hello(port, NULL, secret, &e, f, sizeof f);
	cr_expect_eq(e.u.welcome.resumed, 0);
	close(fd);
	close(plain);
	wire_stop(&w);
}

Test(v1_wire, no_hello_in_time_closes_with_4003, .timeout = 30)
{
	wire_srv w;
	memset(&w, 0, sizeof w);
	cr_assert_eq(mws_ctx_new(&w.ctx, NULL), 0);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.check_interval_ms = 200;
	cr_assert_eq(mws_server_new(&w.srv, w.ctx, &cfg), 0);
	cr_assert_eq(mws_server_start(w.srv), 0);
	int fd = v1_open(mws_server_port(w.srv));
	uint64_t t0 = mws_test_now_ms();
	char reason[128] = "";
	cr_expect_eq(raw_ws_read_close(fd, reason, sizeof reason, 15000), 4003, "%s", reason);
	cr_expect_geq(mws_test_now_ms() - t0, 9000, "closed before the hello timeout");
	close(fd);
	wire_stop(&w);
}

Test(v1_wire, metrics_show_sessions_and_limits)
{
	wire_srv w;
	wire_start(&w);
	int port = mws_server_port(w.srv);
	unsigned char f[256], secret[16] = {4};
	mws__env e;
	int fd = hello(port, NULL, secret, &e, f, sizeof f);
	int h = tcp_connect_from(NULL, port);
	cr_assert_geq(h, 0);
	const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	cr_assert_eq(write_all(h, req, sizeof req - 1), 0);
	static char body[65536];
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + 5000;
	while (got < sizeof body - 1 && mws_test_now_ms() < end &&
	       mws_test_wait_readable(h, 1000) > 0) {
		ssize_t n = read(h, body + got, sizeof body - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	body[got] = '\0';
	cr_expect(strstr(body, "\nmws_server_sessions_active 1\n"), "%s", body);
	cr_expect(strstr(body, "\nmws_server_sessions_created_total 1\n"));
	cr_expect(strstr(body, "\nmws_server_session_ttl_seconds 120\n"));
	cr_expect(strstr(body, "\nmws_server_protocol_errors_total 0\n"));
	close(h);
	close(fd);
	wire_stop(&w);
}
