/* Invalid UTF-8 in a text message closes the connection with 1007 at both
 * ends (RFC 6455 §8.1): our server against a raw-socket sender, our client
 * against a `websockets` server that sends bad text on purpose. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_harness.h"

#define BAD_TEXT_PEER MWS_SOURCE_DIR "/tests/peers/py_bad_text_server.py"

/* ---- our server, a raw sender ---- */

typedef struct srv_seen {
	atomic_int messages, disconnects, code;
	char reason[128];
} srv_seen;

static void srv_on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                           int type, void *ud)
{
	srv_seen *s = ud;
	atomic_fetch_add(&s->messages, 1);
	mws_server_send(srv, id, data, len, type);
}

static void srv_on_disconnect(mws_server *srv, mws_conn_id id, int code, const char *reason,
                              int why, void *ud)
{
	(void)srv, (void)id, (void)why;
	srv_seen *s = ud;
	snprintf(s->reason, sizeof s->reason, "%s", reason);
	atomic_store(&s->code, code);
	atomic_fetch_add(&s->disconnects, 1);
}

static mws_server *start_server(mws_ctx **ctx, srv_seen *seen)
{
	memset(seen, 0, sizeof *seen);
	cr_assert_eq(mws_ctx_new(ctx, NULL), 0);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, *ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, NULL, srv_on_message, srv_on_disconnect};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, seen, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	return srv;
}

static int read_some(int fd, unsigned char *buf, size_t cap, size_t *got, int timeout_ms)
{
	if (mws_test_wait_readable(fd, timeout_ms) <= 0)
		return -1;
	ssize_t n = read(fd, buf + *got, cap - *got);
	if (n <= 0)
		return -1;
	*got += (size_t)n;
	return 0;
}

/* An upgraded raw connection: the 101 and its headers read and dropped. */
static int raw_ws_connect(int port)
{
	int fd = mws_test_tcp_connect(port);
	cr_assert_geq(fd, 0, "connect: %s", strerror(-fd));
	char req[256];
	int n = snprintf(req, sizeof req,
	                 "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 port);
	cr_assert_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	unsigned char buf[2048];
	size_t got = 0;
	while (got < sizeof buf - 1) {
		cr_assert_eq(read_some(fd, buf, sizeof buf - 1, &got, 5000), 0, "no 101");
		buf[got] = '\0';
		char *end = strstr((char *)buf, "\r\n\r\n");
		if (end) {
			cr_assert(!strncmp((char *)buf, "HTTP/1.1 101", 12), "got: %s", buf);
			cr_assert_eq((size_t)(end + 4 - (char *)buf), got, "data after the 101");
			return fd;
		}
	}
	cr_assert_fail("handshake answer too long");
	return -1;
}

/* Sends one masked frame (payload < 126 bytes). */
static void raw_send_frame(int fd, int fin, int opcode, const void *data, size_t len)
{
	static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	unsigned char f[2 + 4 + 125];
	cr_assert_lt(len, 126);
	f[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, mask, 4);
	for (size_t i = 0; i < len; i++)
		f[6 + i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
	cr_assert_eq(send(fd, f, 6 + len, MSG_NOSIGNAL), (ssize_t)(6 + len));
}

/* Reads server frames until a close frame; returns its code (0 if the
 * socket ended without one). Data frames before it are counted. */
static int raw_read_close(int fd, int *data_frames)
{
	unsigned char buf[4096];
	size_t got = 0;
	*data_frames = 0;
	for (;;) {
		while (got >= 2 && (buf[1] & 0x7f) < 126 && got >= 2 + (size_t)(buf[1] & 0x7f)) {
			size_t len = buf[1] & 0x7f;
			int op = buf[0] & 0x0f;
			if (op == 0x8)
				return len >= 2 ? buf[2] << 8 | buf[3] : 1005;
			if (op < 0x8)
				(*data_frames)++;
			memmove(buf, buf + 2 + len, got - 2 - len);
			got -= 2 + len;
		}
		if (read_some(fd, buf, sizeof buf, &got, 5000))
			return 0;
	}
}

static bool disconnected(void *arg) { return atomic_load(&((srv_seen *)arg)->disconnects) > 0; }

static void server_closes_with_1007(const void *frag1, size_t n1, const void *frag2, size_t n2)
{
	mws_ctx *ctx;
	srv_seen seen;
	mws_server *srv = start_server(&ctx, &seen);
	int fd = raw_ws_connect(mws_server_port(srv));
	if (frag2) {
		raw_send_frame(fd, 0, 0x1, frag1, n1);
		raw_send_frame(fd, 1, 0x0, frag2, n2);
	} else {
		raw_send_frame(fd, 1, 0x1, frag1, n1);
	}
	int echoed;
	cr_expect_eq(raw_read_close(fd, &echoed), 1007);
	cr_expect_eq(echoed, 0, "invalid text was echoed");
	close(fd); /* no close answer: the server need not wait for one */
	cr_expect_eq(atomic_load(&seen.messages), 0, "invalid text reached on_message");
	cr_assert(mws_test_wait_until(disconnected, &seen, 5000), "no on_disconnect");
	cr_expect_eq(atomic_load(&seen.code), 1007, "on_disconnect code %d (%s)",
	             atomic_load(&seen.code), seen.reason);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(utf8, server_closes_invalid_text_with_1007, .timeout = 30)
{
	/* κόσμε, then an encoded surrogate (U+D800), which UTF-8 forbids */
	static const char bad[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80";
	server_closes_with_1007(bad, sizeof bad - 1, NULL, 0);
}

Test(utf8, server_closes_text_ending_inside_a_character_with_1007, .timeout = 30)
{
	/* the first two bytes of a three-byte character, across fragments */
	server_closes_with_1007("ok \xe2", 4, "\x82", 1);
}

Test(utf8, server_still_echoes_valid_text_split_inside_a_character, .timeout = 30)
{
	mws_ctx *ctx;
	srv_seen seen;
	mws_server *srv = start_server(&ctx, &seen);
	int fd = raw_ws_connect(mws_server_port(srv));
	raw_send_frame(fd, 0, 0x1, "\xe2\x82", 2); /* € split after two bytes */
	raw_send_frame(fd, 1, 0x0, "\xac", 1);
	unsigned char echo[8];
	size_t got = 0;
	while (got < 5)
		cr_assert_eq(read_some(fd, echo, sizeof echo, &got, 5000), 0, "no echo");
	cr_expect_eq(got, 5);
	cr_expect(!memcmp(echo, "\x81\x03\xe2\x82\xac", 5), "not the echo of the euro sign");
	raw_send_frame(fd, 1, 0x8, "\x03\xe8", 2);
	int echoed;
	cr_expect_eq(raw_read_close(fd, &echoed), 1000);
	cr_expect_eq(echoed, 0);
	cr_expect_eq(atomic_load(&seen.messages), 1);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* ---- our client, a peer server sending bad text ---- */

static bool peer_logged_close(void *arg)
{
	FILE *f = fopen(arg, "r");
	if (!f)
		return false;
	char line[256] = "";
	bool got = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	return got;
}

Test(utf8, client_fails_with_1007_on_invalid_text, .timeout = 30)
{
	char log[] = "/tmp/mws-utf8-peer-XXXXXX";
	int lfd = mkstemp(log);
	cr_assert_geq(lfd, 0);
	close(lfd);
	const char *argv[] = {"python3", BAD_TEXT_PEER, "--log", log, NULL};
	mws_test_peer peer;
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0, "python peer did not start");

	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 200;
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);

	/* 1007 is in the fail-without-retry row of the close-code policy. */
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 5000), "client did not fail");
	rec_state *s = rec_last_to(&r, MWS_STATE_FAILED);
	cr_expect_eq(s->code, 1007, "FAILED with code %d (%s)", s->code, s->reason);
	cr_expect_eq(r.nmsgs, 0, "invalid text reached on_message");
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 0);

	cr_assert(mws_test_wait_until(peer_logged_close, log, 5000), "peer saw no close");
	FILE *f = fopen(log, "r");
	char line[256] = "";
	cr_assert(fgets(line, sizeof line, f));
	fclose(f);
	cr_expect(!strncmp(line, "close 1007", 10), "peer saw: %s", line);

	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
	unlink(log);
}
