/* A peer that reads nothing, floods, then half-closes must not stall the
 * client's I/O thread: another client on the same context keeps its round
 * trips while it happens, and the flooded client notices the end at once
 * instead of sitting in libwebsockets' flushing-before-close (5 s, spinning)
 * with a large message half written. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "client_harness.h"
#include "py_peer.h"

#define RAW_PEER MWS_SOURCE_DIR "/tests/peers/raw_ws_peer.py"
/* lws 4.1.6 holds a closing socket with unsent bytes for 5 s; a client that
 * leaves those bytes behind is seen well within this. */
#define NOTICE_BOUND_MS 3000

static mws_test_peer flood_peer, echo_peer;
static char log_path[64];

static void fini(void)
{
	mws_test_peer_stop(&flood_peer);
	mws_test_peer_stop(&echo_peer);
	unlink(log_path);
}

static bool fin_logged(void)
{
	FILE *f = fopen(log_path, "r");
	if (!f)
		return false;
	char line[32];
	bool fin = false;
	while (fgets(line, sizeof line, f))
		fin |= strncmp(line, "fin", 3) == 0;
	fclose(f);
	return fin;
}

Test(client_flood, a_half_closing_flooder_does_not_stall_the_io_thread, .fini = fini,
     .timeout = 120)
{
	snprintf(log_path, sizeof log_path, "/tmp/mws-flood-%d.log", (int)getpid());
	unlink(log_path);
	const char *const flood_argv[] = {"python3", RAW_PEER, "--mode", "flood-halfclose",
	                                  "--flood-frames", "200", "--hold", "60",
	                                  "--log", log_path, NULL};
	const char *const echo_argv[] = {"python3", RAW_PEER, "--mode", "echo", NULL};
	cr_assert_eq(mws_test_peer_start(&flood_peer, flood_argv), 0);
	cr_assert_eq(mws_test_peer_start(&echo_peer, echo_argv), 0);

	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	cfg.queue_max_bytes = 64u << 20;
	cfg.no_reconnect = 1;

	rec rb;
	rec_init(&rb);
	char url[64];
	url_for_port(url, sizeof url, echo_peer.port);
	mws_client *b = rec_client(&rb, ctx, url, &cfg);
	cr_assert_eq(mws_client_connect(b), 0);
	cr_assert(rec_wait_state(&rb, MWS_STATE_CONNECTED, 10000));

	/* The flooded client has a large message of its own to write. */
	rec ra;
	rec_init(&ra);
	url_for_port(url, sizeof url, flood_peer.port);
	mws_client *a = rec_client(&ra, ctx, url, &cfg);
	size_t big = 32u << 20;
	char *payload = calloc(1, big);
	cr_assert_eq(mws_client_send(a, payload, big, MWS_MSG_BINARY), 0);
	free(payload);
	cr_assert_eq(mws_client_connect(a), 0);
	cr_assert(rec_wait_state(&ra, MWS_STATE_CONNECTED, 10000));

	/* Round trips on the other client, each bounded, until the flooded
	 * one has left CONNECTED, and a few more after that. */
	uint64_t fin_at = 0, left_at = 0, end = mws_test_now_ms() + 60000;
	int after = 0;
	for (int i = 0; after < 5 && mws_test_now_ms() < end; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof msg, "rt-%d", i);
		cr_assert_eq(mws_client_send(b, msg, (size_t)n, MWS_MSG_TEXT), 0);
		cr_assert(rec_wait_msgs(&rb, i + 1, 3000),
		          "round trip %d stalled: the I/O thread is busy elsewhere", i);
		cr_expect_str_eq(rb.msgs[i], msg);
		if (!fin_at && fin_logged())
			fin_at = mws_test_now_ms();
		if (mws_client_state(a) != MWS_STATE_CONNECTED) {
			if (!left_at)
				left_at = mws_test_now_ms();
			after++;
		}
		usleep(20000);
	}
	cr_assert_neq(left_at, 0, "the flooded client never left CONNECTED");
	cr_assert_neq(fin_at, 0, "the peer never half-closed");
	cr_expect_leq(left_at - fin_at, NOTICE_BOUND_MS,
	              "the end was noticed %llu ms after the peer's FIN",
	              (unsigned long long)(left_at - fin_at));
	mws_client_free(a);
	mws_client_free(b);
	mws_ctx_free(ctx);
	rec_destroy(&ra);
	rec_destroy(&rb);
}

Test(client_flood, a_large_message_arrives_whole_through_fragments, .fini = fini,
     .timeout = 60)
{
	echo_peer = start_py("--no-compression", NULL, NULL);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	cfg.queue_max_bytes = 16u << 20;
	rec r;
	rec_init(&r);
	char url[64];
	url_for_port(url, sizeof url, echo_peer.port);
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	size_t big = (3u << 20) + 12345;
	unsigned char *payload = malloc(big);
	for (size_t i = 0; i < big; i++)
		payload[i] = (unsigned char)(i * 131 + (i >> 13));
	cr_assert_eq(mws_client_send(c, payload, big, MWS_MSG_BINARY), 0);
	cr_assert_eq(mws_client_send(c, "after", 5, MWS_MSG_TEXT), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 2, 30000), "echoes: %d", r.nmsgs);
	cr_expect_eq(r.msg_lens[0], big);
	cr_expect_eq(r.msg_types[0], MWS_MSG_BINARY);
	cr_expect_eq(memcmp(r.msgs[0], payload, big), 0, "the echo differs");
	cr_expect_str_eq(r.msgs[1], "after");
	mws_client_stats s = {.size = sizeof s};
	mws_client_stats_get(c, &s);
	cr_expect_eq(s.msgs_out, 2);
	cr_expect_eq(s.bytes_out, big + 5);
	free(payload);
	mws_client_free(c);
	rec_destroy(&r);
}
