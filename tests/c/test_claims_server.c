/* README claims about the server, tested as stated: the per-connection send
 * bound (send_queue_max_bytes -> MWS_EQUEUEFULL) and send_dropped, against a
 * peer that completes the handshake and then never reads. */
#include "server_common.h"
#include "test_timing.h"

#include <time.h>

/* A WebSocket client that upgrades and then reads nothing: a small receive
 * buffer so that the server's writes back up soon. */
static int deaf_client(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	const char *req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	                  "Connection: Upgrade\r\n"
	                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                  "Sec-WebSocket-Version: 13\r\n\r\n";
	cr_assert_eq(write_all(fd, req, strlen(req)), 0);
	return fd;
}

typedef struct dropped_at_least {
	mws_server *srv;
	uint64_t n;
} dropped_at_least;

static bool dropped_reached(void *arg)
{
	dropped_at_least *w = arg;
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(w->srv, &st);
	return st.send_dropped >= w->n;
}

Test(claims_server, a_peer_that_does_not_read_hits_the_send_bound_and_drops_are_counted,
     .timeout = 90)
{
	enum { MSG = 16 * 1024, BOUND = 256 * 1024, MAX_SENDS = 4000 };
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	rec r;
	rec_init(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.send_queue_max_bytes = BOUND;
	cfg.ping_interval_ms = -1;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int fd = deaf_client(mws_server_port(srv));
	cr_assert(wait_at_least(&r.connects, 1, 5000), "the handshake did not complete");
	mws_conn_id id = rec_last_id(&r);

	static char msg[MSG];
	int accepted = 0, rc = 0;
	uint64_t until = mws_test_now_ms() + 30000;
	/* Fill until refused, then pause: the queue is at the bound for good
	 * only once the I/O thread has stopped moving bytes to the socket (the
	 * kernel's buffers are full; a deaf peer drains nothing). A refusal
	 * alone can mean the I/O thread has not caught up yet (sanitizers). */
	for (;;) {
		for (int i = 0; accepted < MAX_SENDS; i++) {
			rc = mws_server_send(srv, id, msg, sizeof msg, MWS_MSG_BINARY);
			if (rc != 0)
				break;
			accepted++;
			if (i % 16 == 15) /* let the I/O thread fill the socket */
				nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
		}
		cr_assert_eq(rc, MWS_EQUEUEFULL, "after %d sends: %s", accepted, mws_err_name(rc));
		uint64_t out_before = server_stats(srv).bytes_out;
		uint64_t pause_ms = MWS_TEST_SLACK_MS(300);
		nanosleep(&(struct timespec){(time_t)(pause_ms / 1000),
		                             (long)(pause_ms % 1000) * 1000000L}, NULL);
		if (server_stats(srv).bytes_out == out_before)
			break;
		cr_assert_lt(mws_test_now_ms(), until, "the socket never stopped taking bytes");
	}
	/* the bound holds exactly: no more than BOUND waits beyond the socket */
	cr_expect_geq(accepted, BOUND / MSG, "refused before the bound");
	cr_expect_eq(mws_server_send(srv, id, msg, sizeof msg, MWS_MSG_BINARY), MWS_EQUEUEFULL);
	mws_server_stats st = server_stats(srv);
	cr_expect_eq(st.send_dropped, 0, "a refused send is an error, not a drop");
	cr_expect_eq(st.connections, 1);

	/* a broadcast skips the full connection and counts it */
	cr_assert_eq(mws_server_broadcast(srv, msg, sizeof msg, MWS_MSG_BINARY), 0);
	dropped_at_least w1 = {srv, 1};
	cr_assert(mws_test_wait_until(dropped_reached, &w1, 5000),
	          "the skipped broadcast was not counted");
	cr_expect_eq(server_stats(srv).send_dropped, 1);

	/* the peer goes away with messages still queued: each one is counted */
	close(fd);
	cr_assert(wait_at_least(&r.disconnects, 1, 10000), "the server missed the peer leaving");
	dropped_at_least w2 = {srv, 2};
	cr_assert(mws_test_wait_until(dropped_reached, &w2, 5000),
	          "queued messages dropped silently");
	st = server_stats(srv);
	cr_expect_leq(st.send_dropped, 1 + (uint64_t)BOUND / MSG,
	              "more dropped than could wait");
	cr_expect_eq(mws_server_send(srv, id, "x", 1, MWS_MSG_TEXT), MWS_ECLOSED);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
