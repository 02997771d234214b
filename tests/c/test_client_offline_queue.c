/* The offline queue: what the CONNECTED callback sends goes before what
 * waited for the connection; mws_client_clear_queue() drops exactly what
 * was sent before it; no_offline_queue refuses sends while away. */
#include <criterion/criterion.h>

#include "client_harness.h"

#define PY_PEER MWS_SOURCE_DIR "/tests/peers/py_ws_server.py"

static mws_test_peer start_echo(void)
{
	const char *argv[] = {"python3", PY_PEER, NULL};
	mws_test_peer p;
	cr_assert_eq(mws_test_peer_start(&p, argv), 0, "python peer did not start");
	return p;
}

static void send_text(mws_client *c, const char *s)
{
	cr_assert_eq(mws_client_send(c, s, strlen(s), MWS_MSG_TEXT), 0, "send %s", s);
}

/* The echoes arrived in exactly this order. */
static void assert_msgs(rec *r, const char *const *want, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(r->msgs[i], want[i], "message %d", i);
}

/* A recorded client, not yet connected, with "q1" and "q2" waiting. */
static mws_client *client_with_waited(rec *r, const char *url, mws_state_cb on_state)
{
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, url, NULL), 0);
	mws_client_callbacks cbs = {sizeof cbs, on_state, rec_on_message, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, r, NULL), 0);
	send_text(c, "q1");
	send_text(c, "q2");
	return c;
}

/* Records, and on CONNECTED sends "sub" as an application resubscribing. */
static void resubscribe_on_open(mws_client *c, const mws_state_change *ch, void *ud)
{
	if (ch->to == MWS_STATE_CONNECTED)
		mws_client_send(c, "sub", 3, MWS_MSG_TEXT);
	rec_on_state(c, ch, ud);
}

Test(client_offline_queue, send_from_connected_callback_goes_first, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client *c = client_with_waited(&r, url, resubscribe_on_open);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 3, 10000), "echoes did not come");
	assert_msgs(&r, (const char *[]){"sub", "q1", "q2"}, 3);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

/* Another thread that sends while the CONNECTED callback runs: the
 * callback waits (bounded) until that send has returned, so the send lands
 * in the ring while the I/O thread is inside the callback. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go, done;
	int sub_after; /* the callback sends "sub" after the other thread's send */
	mws_client *c;
} side = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL};

static void *side_sender(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&side.lock);
	while (!side.go)
		pthread_cond_wait(&side.cond, &side.lock);
	pthread_mutex_unlock(&side.lock);
	mws_client_send(side.c, "late", 4, MWS_MSG_TEXT);
	pthread_mutex_lock(&side.lock);
	side.done = 1;
	pthread_cond_broadcast(&side.cond);
	pthread_mutex_unlock(&side.lock);
	return NULL;
}

static void other_thread_sends_on_open(mws_client *c, const mws_state_change *ch, void *ud)
{
	if (ch->to == MWS_STATE_CONNECTED && !side.go) {
		if (!side.sub_after)
			mws_client_send(c, "sub", 3, MWS_MSG_TEXT);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		pthread_mutex_lock(&side.lock);
		side.go = 1;
		pthread_cond_broadcast(&side.cond);
		while (!side.done && pthread_cond_timedwait(&side.cond, &side.lock, &until) == 0)
			;
		pthread_mutex_unlock(&side.lock);
		if (side.sub_after)
			mws_client_send(c, "sub", 3, MWS_MSG_TEXT);
	}
	rec_on_state(c, ch, ud);
}

/* The cause of mws demo's 7 reordered (issue 10): a send from another
 * thread made while the CONNECTED callback ran went ahead of the messages
 * that waited for the connection. */
static void check_other_thread_send_follows_waited(int sub_after)
{
	side.sub_after = sub_after;
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client *c = client_with_waited(&r, url, other_thread_sends_on_open);
	side.c = c;
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, side_sender, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 4, 10000), "echoes did not come");
	pthread_join(t, NULL);
	cr_assert(side.done, "the other thread's send did not return while the callback waited");
	assert_msgs(&r, (const char *[]){"sub", "q1", "q2", "late"}, 4);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client_offline_queue, other_thread_send_during_connected_callback_follows_waited, .timeout = 30)
{
	check_other_thread_send_follows_waited(0);
}

/* The callback's own send, made after the other thread's, must not pull
 * that send ahead of it. */
Test(client_offline_queue, callback_send_after_other_thread_send_still_goes_first, .timeout = 30)
{
	check_other_thread_send_follows_waited(1);
}

Test(client_offline_queue, clear_drops_what_was_sent_before_it, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client *c = rec_client(&r, NULL, url, NULL);
	cr_assert_not_null(c);
	send_text(c, "old1");
	send_text(c, "old2");
	cr_assert_eq(mws_client_clear_queue(c), 0);
	send_text(c, "new");
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 1, 10000), "no echo");
	cr_assert_str_eq(r.msgs[0], "new");
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_assert_eq(st.msgs_discarded, 2);
	cr_assert_eq(mws_client_clear_queue(NULL), MWS_EINVAL);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client_offline_queue, off_refuses_sends_while_away, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.no_offline_queue = 1;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_send(c, "x", 1, MWS_MSG_TEXT), MWS_ESTATE);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	send_text(c, "live");
	cr_assert(rec_wait_msgs(&r, 1, 10000), "no echo");
	cr_assert_str_eq(r.msgs[0], "live");
	cr_assert_eq(mws_client_disconnect(c, 1000, NULL), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_DISCONNECTED, 10000));
	cr_assert_eq(mws_client_send(c, "x", 1, MWS_MSG_TEXT), MWS_ESTATE);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client_offline_queue, hold_keeps_waited_messages_until_released, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.hold_queue_on_connect = 1;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_not_null(c);
	send_text(c, "waited1");
	send_text(c, "waited2");
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	send_text(c, "resubscribe");
	cr_assert(rec_wait_msgs(&r, 1, 10000), "no echo");
	cr_assert_str_eq(r.msgs[0], "resubscribe");
	cr_assert_eq(mws_client_release_queue(c), 0);
	send_text(c, "after");
	cr_assert(rec_wait_msgs(&r, 4, 10000), "held messages did not follow");
	assert_msgs(&r, (const char *[]){"resubscribe", "waited1", "waited2", "after"}, 4);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

/* Receive flow control lives here too: it is the other half of the
 * client's backpressure. */
Test(client_offline_queue, pause_rx_holds_messages_until_resumed, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client *c = rec_client(&r, NULL, url, NULL);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	cr_assert_eq(mws_client_pause_rx(c, 1), 0);
	send_text(c, "a");
	send_text(c, "b");
	/* A bounded look for what must not happen: nothing is read. */
	cr_assert_not(rec_wait_msgs(&r, 1, 500), "a message was read while paused");
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_assert_eq(st.msgs_out, 2);
	cr_assert_eq(st.state, MWS_STATE_CONNECTED);
	cr_assert_eq(mws_client_pause_rx(c, 0), 0);
	cr_assert(rec_wait_msgs(&r, 2, 10000), "echoes did not come after resume");
	cr_assert_str_eq(r.msgs[0], "a");
	cr_assert_str_eq(r.msgs[1], "b");
	cr_assert_eq(mws_client_pause_rx(NULL, 1), MWS_EINVAL);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

Test(client_offline_queue, paused_rx_is_not_a_heartbeat_timeout, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_interval_ms = 50;
	cfg.heartbeat_timeout_ms = 50;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	cr_assert_eq(mws_client_pause_rx(c, 1), 0);
	/* Several heartbeat periods with nothing read: still the same connection. */
	cr_assert_not(rec_wait_state(&r, MWS_STATE_RECONNECTING, 800), "paused reading was taken for a dead peer");
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_assert_geq(st.heartbeats_sent, 2);
	cr_assert_eq(st.heartbeat_timeouts, 0);
	cr_assert_eq(mws_client_pause_rx(c, 0), 0);
	send_text(c, "after");
	cr_assert(rec_wait_msgs(&r, 1, 10000));
	cr_assert_str_eq(r.msgs[0], "after");
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}
