/* A client whose peer stopped reading: once the socket is full, a send
 * from the application no longer wakes the I/O thread (the WRITEABLE that
 * libwebsockets owes takes the ring), and the messages wait, whole. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "client_harness.h"
#include "io/client_io.h"
#include "raw_peer.h"

static raw_peer peer;
static void fini(void) { raw_peer_stop(&peer); }

static bool drained(void *arg)
{
	return !atomic_load(&((struct mws_client *)arg)->ready.scheduled);
}

Test(client_choked, sends_to_a_full_socket_do_not_wake_the_io_thread, .fini = fini,
     .timeout = 60)
{
	int port = raw_peer_start(&peer, "no-read", NULL);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	cfg.queue_max_bytes = 64u << 20;
	cfg.queue_max_messages = 65536;
	rec r;
	rec_init(&r);
	char url[64];
	url_for_port(url, sizeof url, port);
	mws_client *c = rec_client(&r, ctx, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));

	/* 16 MiB: more than loopback's buffers hold for a peer that never
	 * reads (its receive buffer does not grow unread). */
	static unsigned char kb4[4096];
	enum { FILL = 4096, MORE = 100 };
	for (int i = 0; i < FILL; i++)
		cr_assert_eq(mws_client_send(c, kb4, sizeof kb4, MWS_MSG_BINARY), 0);
	cr_assert(mws_test_wait_until(drained, c, 10000), "the I/O thread took the sends");
	mws_client_stats s = {.size = sizeof s};
	mws_client_stats_get(c, &s);
	cr_assert_lt(s.msgs_out, FILL, "the socket took all %d messages: not full", FILL);

	/* Each send waits until the I/O thread would have drained it: before,
	 * every one woke the loop (an eventfd write and read, a poll) to find
	 * the socket still full. */
	uint64_t wakes0 = atomic_load(&ctx->wakes);
	for (int i = 0; i < MORE; i++) {
		cr_assert_eq(mws_client_send(c, kb4, sizeof kb4, MWS_MSG_BINARY), 0);
		cr_assert(mws_test_wait_until(drained, c, 5000));
	}
	uint64_t wakes = atomic_load(&ctx->wakes) - wakes0;
	cr_expect_leq(wakes, 2, "%llu wakes for %d sends to a full socket",
	              (unsigned long long)wakes, MORE);
	mws_client_stats_get(c, &s);
	cr_expect_eq(s.queue_messages + s.msgs_out, FILL + MORE, "queued %llu, written %llu",
	             (unsigned long long)s.queue_messages, (unsigned long long)s.msgs_out);
	mws_client_free(c);
	mws_ctx_free(ctx);
	rec_destroy(&r);
}
