/* No peer can stall the server's I/O thread: a client that floods without
 * reading and then half-closes must not keep anyone else from being
 * served, nor the server from stopping. */
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "raw_ws.h"

#define FLOOD_MESSAGES 200
#define FLOOD_BYTES (64 * 1024)

typedef struct flood {
	int port;
	int fd;         /* left open, never read, until the test ends */
	int sent;       /* whole frames written */
	int half_closed;
	atomic_int done;
} flood;

/* Sends up to FLOOD_MESSAGES masked binary frames of FLOOD_BYTES without
 * reading a byte, then shutdown(SHUT_WR). A server that stops reading a
 * peer who does not read (back-pressure) makes a write time out after a
 * second: the flood ends there. */
static void *flood_main(void *arg)
{
	flood *f = arg;
	f->fd = raw_ws_open(NULL, f->port, NULL);
	if (f->fd < 0) {
		atomic_store(&f->done, 1);
		return NULL;
	}
	struct timeval tv = {.tv_sec = 1};
	setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	unsigned char *frame = malloc(FLOOD_BYTES + 14);
	unsigned char *payload = malloc(FLOOD_BYTES);
	for (size_t i = 0; i < FLOOD_BYTES; i++)
		payload[i] = (unsigned char)(i * 7);
	size_t n = raw_ws_frame(frame, 2, payload, FLOOD_BYTES, 1);
	for (int i = 0; i < FLOOD_MESSAGES; i++) {
		if (write_all(f->fd, frame, n))
			break;
		f->sent++;
	}
	free(frame);
	free(payload);
	f->half_closed = shutdown(f->fd, SHUT_WR) == 0;
	atomic_store(&f->done, 1);
	return NULL;
}

/* One round trip on a well-behaved raw connection: 1 if the echo came back
 * whole within timeout_ms. */
static int round_trip(int fd, int i, int timeout_ms)
{
	char msg[32], back[64];
	int n = snprintf(msg, sizeof msg, "round trip %d", i);
	if (raw_ws_send(fd, 1, msg, (size_t)n, 1))
		return 0;
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		uint64_t now = mws_test_now_ms();
		if (now >= end)
			return 0;
		size_t len = 0;
		int op = raw_ws_read_frame(fd, back, sizeof back, &len, NULL, (int)(end - now));
		if (op < 0)
			return 0;
		if (op == 1 && len == (size_t)n && !memcmp(back, msg, len))
			return 1;
	}
}

typedef struct freer {
	mws_server *srv;
	atomic_int done;
} freer;

static void *free_main(void *arg)
{
	freer *f = arg;
	mws_server_free(f->srv);
	atomic_store(&f->done, 1);
	return NULL;
}

static bool freed(void *arg) { return atomic_load(&((freer *)arg)->done); }

Test(server_stall, half_closing_flooder_does_not_stall_other_clients_or_the_stop,
     .timeout = 120)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	r.echo = 1;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.ping_interval_ms = -1;
	/* A peer that neither reads nor can be read is silent: reaped. */
	cfg.heartbeat_timeout_ms = 3000;
	cfg.check_interval_ms = 500;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);

	int good = raw_ws_open(NULL, port, NULL);
	cr_assert_geq(good, 0);
	cr_assert(round_trip(good, -1, 5000), "echo works before the flood");

	flood f = {.port = port, .fd = -1};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, flood_main, &f), 0);
	/* The good client keeps talking meanwhile (and so is not silent). */
	int trips = 0;
	uint64_t flood_end = mws_test_now_ms() + 60000;
	while (!atomic_load(&f.done) && mws_test_now_ms() < flood_end) {
		cr_assert(round_trip(good, trips, 5000), "round trip %d during the flood", trips);
		trips++;
	}
	pthread_join(t, NULL);
	cr_assert_geq(f.fd, 0, "the flooder connected");
	/* More than the socket buffers hold: the server's output backed up. */
	cr_assert_geq(f.sent, 20, "the server took %d messages", f.sent);
	cr_assert(f.half_closed);

	/* The server reads the flood and the FIN; from then on every round
	 * trip must still be answered, for longer than libwebsockets' own
	 * 5-second flush timeout. */
	uint64_t until = mws_test_now_ms() + 7000;
	int after = 0;
	while (mws_test_now_ms() < until) {
		cr_assert(round_trip(good, trips, 2000),
		          "round trip %d after the half-close was answered", after);
		trips++;
		after++;
	}
	cr_assert_gt(after, 10);

	/* The flooder is gone: reaped as silent (its FIN is stuck behind data
	 * the server no longer reads), or dropped as half-closed if its FIN
	 * got through. */
	cr_assert(wait_at_least(&r.disconnects, 1, 10000), "the flooder was disconnected");
	rec_event e = rec_disc(&r, 0);
	cr_assert(e.why == MWS_DISCONNECT_REAPED || e.why == MWS_DISCONNECT_ERROR,
	          "why=%d code=%d %s", e.why, e.code, e.reason);
	cr_assert_eq(atomic_load(&r.connects), 2);

	freer fr = {.srv = srv};
	pthread_t ft;
	cr_assert_eq(pthread_create(&ft, NULL, free_main, &fr), 0);
	cr_assert(mws_test_wait_until(freed, &fr, 10000), "the server stopped");
	pthread_join(ft, NULL);
	close(good);
	close(f.fd);
	mws_ctx_free(ctx);
}

/* Reads one whole message (fragments joined) into buf; its length, or -1. */
static long read_message(int fd, unsigned char *buf, size_t cap, int *frames, int timeout_ms)
{
	size_t got = 0;
	*frames = 0;
	for (;;) {
		size_t n = 0;
		int fin = 0;
		int op = raw_ws_read_frame(fd, buf + got, cap - got, &n, &fin, timeout_ms);
		if (op < 0 || n > cap - got)
			return -1;
		if (op >= 8)
			continue; /* a control frame between fragments */
		got += n;
		(*frames)++;
		if (fin)
			return (long)got;
	}
}

Test(server_stall, large_broadcast_goes_out_in_fragments_intact_to_every_client, .timeout = 60)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	int a = raw_ws_open(NULL, port, NULL), b = raw_ws_open(NULL, port, NULL);
	cr_assert(a >= 0 && b >= 0);
	cr_assert(wait_at_least(&r.connects, 2, 5000));

	size_t len = 300 * 1024 + 7;
	unsigned char *msg = malloc(len), *back = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		msg[i] = (unsigned char)(i * 31 + (i >> 10));
	cr_assert_eq(mws_server_broadcast(srv, msg, len, MWS_MSG_BINARY), 0);
	int fds[2] = {a, b};
	for (int k = 0; k < 2; k++) {
		int frames = 0;
		memset(back, 0, len);
		cr_assert_eq(read_message(fds[k], back, len + 1, &frames, 10000), (long)len);
		cr_assert(!memcmp(back, msg, len), "client %d got the bytes sent", k);
		cr_assert_gt(frames, 1, "sent as fragments (%d)", frames);
	}
	free(msg);
	free(back);
	close(a);
	close(b);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* A peer that asks for a large echo with a tiny receive window, then,
 * once the echo is on its way, half-closes without reading: the server's
 * output backs up and the FIN comes behind it. The connection must end within seconds (at once, or
 * after the half-close flush window), and the server go on serving. */
Test(server_stall, half_close_with_echo_pending_ends_the_connection_promptly, .timeout = 60)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	r.echo = 1;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.ping_interval_ms = -1;
	cfg.max_message_bytes = 4u << 20;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);
	int half_closed_seen = 0;
	for (int round = 0; round < 3; round++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int small = 4096;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
		cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
		char req[512];
		int n = ws_upgrade_request(req, sizeof req, "/h", port, NULL);
		cr_assert_eq(write_all(fd, req, (size_t)n), 0);
		size_t len = 3u << 20;
		unsigned char *msg = calloc(1, len);
		cr_assert_eq(raw_ws_send(fd, 2, msg, len, 1), 0);
		free(msg);
		cr_assert(wait_at_least(&r.messages, round + 1, 10000));
		/* The echo has begun to arrive: the server is writing it now. */
		cr_assert_eq(mws_test_wait_readable(fd, 10000), 1);
		cr_assert_eq(shutdown(fd, SHUT_WR), 0);
		cr_assert(wait_at_least(&r.disconnects, round + 1, 8000),
		          "round %d: the half-closed peer was dropped", round);
		rec_event e = rec_disc(&r, round);
		cr_assert_eq(e.why, MWS_DISCONNECT_ERROR, "why=%d %s", e.why, e.reason);
		half_closed_seen += !strcmp(e.reason, "peer half-closed");
		int good = raw_ws_open(NULL, port, NULL);
		cr_assert_geq(good, 0, "the server still answers");
		close(good);
		close(fd);
	}
	cr_log_info("dropped as half-closed (after the flush window): %d of 3", half_closed_seen);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
