/* mws_client_wait_room(): a sender waits for the queue's low-water mark
 * (half of both bounds) instead of retrying a full queue on a timer. It
 * returns at once when there is room, times out while nothing drains, is
 * woken when a connection drains the queue, ends with the client, and
 * refuses to wait on the I/O thread. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "client_harness.h"

#define PY_PEER MWS_SOURCE_DIR "/tests/peers/py_ws_server.py"
#define QUEUE_MSGS 8

static mws_test_peer start_echo(void)
{
	const char *argv[] = {"python3", PY_PEER, NULL};
	mws_test_peer p;
	cr_assert_eq(mws_test_peer_start(&p, argv), 0, "python peer did not start");
	return p;
}

/* A client that has never connected (so nothing drains) with `queued`
 * messages of 16 B waiting, out of QUEUE_MSGS. */
static mws_client *offline_client(rec *r, int port, int queued)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_messages = QUEUE_MSGS;
	mws_client *c = rec_client_on(r, port, &cfg);
	for (int i = 0; i < queued; i++)
		cr_assert_eq(mws_client_send(c, "0123456789abcdef", 16, MWS_MSG_BINARY), 0, "send %d", i);
	return c;
}

typedef struct waiter {
	mws_client *c;
	int timeout_ms;
	int rc;
	int started;
	int done;
} waiter;

static void *wait_thread(void *arg)
{
	waiter *w = arg;
	__atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
	w->rc = mws_client_wait_room(w->c, 16, w->timeout_ms);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool waiter_done(void *arg)
{
	return __atomic_load_n(&((waiter *)arg)->done, __ATOMIC_SEQ_CST);
}

static bool waiter_started(void *arg)
{
	return __atomic_load_n(&((waiter *)arg)->started, __ATOMIC_SEQ_CST);
}

/* A thread in mws_client_wait_room() on c's full queue, checked asleep. */
static pthread_t start_waiter(waiter *w, mws_client *c, int timeout_ms)
{
	*w = (waiter){c, timeout_ms, 99, 0, 0};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, wait_thread, w), 0);
	cr_assert(mws_test_wait_until(waiter_started, w, 5000));
	cr_assert_not(mws_test_wait_until(waiter_done, w, 200), "returned with a full queue");
	return t;
}

Test(client_wait_room, bad_arguments)
{
	rec r;
	rec_init(&r);
	mws_client *c = offline_client(&r, 9, 0);
	cr_assert_eq(mws_client_wait_room(NULL, 1, 0), MWS_EINVAL);
	cr_assert_eq(mws_client_wait_room(c, 1, -2), MWS_EINVAL);
	cr_assert_eq(mws_client_wait_room(c, (4u << 20) + 1, 0), MWS_ETOOBIG, "over queue_max_bytes");
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_wait_room, room_at_half_and_none_above_it)
{
	rec r;
	rec_init(&r);
	mws_client *c = offline_client(&r, 9, QUEUE_MSGS / 2);
	cr_assert_eq(mws_client_wait_room(c, 16, 0), 0, "half full is the low-water mark");
	cr_assert_eq(mws_client_send(c, "x", 1, MWS_MSG_BINARY), 0);
	cr_assert_eq(mws_client_wait_room(c, 16, 0), MWS_ETIMEDOUT, "above half: no room yet");
	cr_assert_eq(mws_client_wait_room(c, 16, 50), MWS_ETIMEDOUT, "nothing drains offline");
	mws_client_free(c);
	rec_destroy(&r);
}

/* A sender asleep on a full queue wakes when a connection drains it. */
Test(client_wait_room, woken_when_the_connection_drains, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	rec r;
	rec_init(&r);
	mws_client *c = offline_client(&r, peer.port, QUEUE_MSGS);
	cr_assert_eq(mws_client_send(c, "x", 1, MWS_MSG_BINARY), MWS_EQUEUEFULL);
	waiter w;
	pthread_t t = start_waiter(&w, c, 20000);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(mws_test_wait_until(waiter_done, &w, 15000), "not woken by the drain");
	pthread_join(t, NULL);
	cr_assert_eq(w.rc, 0);
	cr_assert(rec_wait_msgs(&r, QUEUE_MSGS, 10000), "the queued messages were not echoed");
	cr_assert_eq(mws_client_send(c, "x", 1, MWS_MSG_BINARY), 0, "room after the wait");
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

/* Under mws.v1 the queue falls when the server acknowledges: that wakes it too. */
Test(client_wait_room, woken_by_mws_v1_acks, .timeout = 30)
{
	mws_server *srv;
	cr_assert_eq(mws_server_new(&srv, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_messages = QUEUE_MSGS;
	cfg.protocol_mode = MWS_PROTOCOL_REQUIRE;
	rec r;
	rec_init(&r);
	mws_client *c = rec_client_on(&r, mws_server_port(srv), &cfg);
	for (int i = 0; i < QUEUE_MSGS; i++)
		cr_assert_eq(mws_client_send(c, "0123456789abcdef", 16, MWS_MSG_BINARY), 0);
	waiter w;
	pthread_t t = start_waiter(&w, c, 20000);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(mws_test_wait_until(waiter_done, &w, 15000), "not woken by the acks");
	pthread_join(t, NULL);
	cr_assert_eq(w.rc, 0);
	mws_client_stats st = {sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_expect_eq(st.managed, 1, "the connection speaks mws.v1");
	cr_expect_geq(st.acked_number, QUEUE_MSGS / 2, "woken before half was acknowledged");
	mws_client_free(c);
	mws_server_free(srv);
	rec_destroy(&r);
}

/* A sender asleep on a queue that will never drain is told the client ended. */
Test(client_wait_room, ends_with_the_client, .timeout = 30)
{
	rec r;
	rec_init(&r);
	mws_client *c = offline_client(&r, 9, QUEUE_MSGS);
	waiter w;
	pthread_t t = start_waiter(&w, c, -1);
	cr_assert_eq(mws_client_close(c, 0, NULL), 0);
	cr_assert(mws_test_wait_until(waiter_done, &w, 10000), "no limit, and not woken by close");
	pthread_join(t, NULL);
	cr_assert_eq(w.rc, MWS_ECLOSED);
	cr_assert_eq(mws_client_wait_room(c, 16, 0), MWS_ECLOSED);
	mws_client_free(c);
	rec_destroy(&r);
}

/* On the I/O thread the queue cannot drain while the callback runs. */
static int io_thread_rc = 99;

static void wait_in_callback(mws_client *c, const mws_state_change *ch, void *ud)
{
	if (ch->to == MWS_STATE_CONNECTING && io_thread_rc == 99)
		io_thread_rc = mws_client_wait_room(c, 16, 1000);
	rec_on_state(c, ch, ud);
}

Test(client_wait_room, refused_on_the_io_thread, .timeout = 30)
{
	mws_test_peer peer = start_echo();
	rec r;
	rec_init(&r);
	mws_client *c = offline_client(&r, peer.port, QUEUE_MSGS);
	mws_client_callbacks cbs = {sizeof cbs, wait_in_callback, rec_on_message, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	cr_assert_eq(io_thread_rc, MWS_EDEADLK);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}
