/* Batches for bindings: on_messages hands over everything one loop pass
 * read, in order and before the state change that follows; on_sent tells
 * send progress as an event; mws_client_send_many applies send's rules to
 * each message with one lock. Against our own server on a second context. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "client_harness.h"

/* ---- the server: echoes; on "burst N" sends N messages and one too big ---- */

static void srv_on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                           int type, void *ud)
{
	(void)ud;
	unsigned n = 0;
	char text[16] = {0}; /* the payload has no NUL */
	if (type == MWS_MSG_TEXT && len > 6 && len < sizeof text)
		memcpy(text, data, len);
	if (!memcmp(text, "burst ", 6) && sscanf(text + 6, "%u", &n) == 1) {
		for (unsigned i = 0; i < n; i++) {
			char m[32];
			int k = snprintf(m, sizeof m, "b%u", i);
			mws_server_send(srv, id, m, (size_t)k, MWS_MSG_TEXT);
		}
		static char big[2000]; /* over the client's max_message_bytes: 1009 */
		mws_server_send(srv, id, big, sizeof big, MWS_MSG_BINARY);
		return;
	}
	mws_server_send(srv, id, data, len, type);
}

typedef struct echo_server {
	mws_ctx *ctx;
	mws_server *srv;
	char url[64];
} echo_server;

static void echo_start(echo_server *e)
{
	cr_assert_eq(mws_ctx_new(&e->ctx, NULL), 0);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	cfg.send_queue_max_bytes = 64u << 20;
	cr_assert_eq(mws_server_new(&e->srv, e->ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, NULL, srv_on_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(e->srv, &cbs, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(e->srv), 0);
	url_for_port(e->url, sizeof e->url, mws_server_port(e->srv));
}

static void echo_stop(echo_server *e)
{
	mws_server_free(e->srv);
	mws_ctx_free(e->ctx);
}

/* ---- the client's recorder: one log of messages and states, in order ---- */

#define LOG_MAX 8192

typedef struct blog {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char what[LOG_MAX];      /* 'm' message, 's' state change */
	int state_to[LOG_MAX];
	char *text[LOG_MAX];
	int type[LOG_MAX];
	int n, msgs, batches, max_batch, single_calls, state_now;
	uint64_t sent_calls, written, discarded;
	uint32_t queue_messages;
} blog;

static void blog_init(blog *b)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
}

static void blog_destroy(blog *b)
{
	for (int i = 0; i < b->n; i++)
		free(b->text[i]);
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->cond);
}

static void on_messages(mws_client *c, const mws_message *msgs, size_t count, void *ud)
{
	(void)c;
	blog *b = ud;
	pthread_mutex_lock(&b->lock);
	b->batches++;
	if ((int)count > b->max_batch)
		b->max_batch = (int)count;
	for (size_t i = 0; i < count && b->n < LOG_MAX; i++) {
		char *t = malloc(msgs[i].len + 1);
		memcpy(t, msgs[i].data, msgs[i].len);
		t[msgs[i].len] = 0;
		b->what[b->n] = 'm';
		b->text[b->n] = t;
		b->type[b->n++] = msgs[i].type;
		b->msgs++;
	}
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void on_single(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	(void)c, (void)d, (void)n, (void)t;
	blog *b = ud;
	pthread_mutex_lock(&b->lock);
	b->single_calls++;
	pthread_mutex_unlock(&b->lock);
}

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	blog *b = ud;
	pthread_mutex_lock(&b->lock);
	if (b->n < LOG_MAX) {
		b->what[b->n] = 's';
		b->state_to[b->n++] = ch->to;
	}
	b->state_now = ch->to;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void on_sent(mws_client *c, const mws_send_progress *p, void *ud)
{
	(void)c;
	blog *b = ud;
	pthread_mutex_lock(&b->lock);
	b->sent_calls++;
	b->written = p->written;
	b->discarded = p->discarded;
	b->queue_messages = p->queue_messages;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

typedef bool (*blog_pred)(blog *, int);
static bool pred_msgs(blog *b, int n) { return b->msgs >= n; }
static bool pred_state(blog *b, int s) { return b->state_now == s; }
static bool pred_written(blog *b, int n) { return b->written >= (uint64_t)n && b->queue_messages == 0; }

static bool blog_wait(blog *b, blog_pred pred, int arg, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->lock);
	bool ok;
	while (!(ok = pred(b, arg)))
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until))
			break;
	ok = ok || pred(b, arg);
	pthread_mutex_unlock(&b->lock);
	return ok;
}

static mws_client *batch_client(blog *b, const char *url, mws_client_config *cfg)
{
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, NULL, url, cfg), 0);
	mws_client_callbacks cbs = {.size = sizeof cbs, .on_state = on_state,
	                            .on_message = on_single, .on_messages = on_messages,
	                            .on_sent = on_sent};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, b, NULL), 0);
	return c;
}

static mws_client_config plain_config(void)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	cfg.queue_max_messages = 1 << 16;
	cfg.queue_max_bytes = 64u << 20;
	return cfg;
}

#define ECHOES 2000

Test(client_batch, on_messages_delivers_everything_in_order_in_batches, .timeout = 60)
{
	echo_server e;
	echo_start(&e);
	blog b;
	blog_init(&b);
	mws_client_config cfg = plain_config();
	mws_client *c = batch_client(&b, e.url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(blog_wait(&b, pred_state, MWS_STATE_CONNECTED, 10000));

	static char bufs[ECHOES][16];
	static mws_message msgs[ECHOES];
	for (int i = 0; i < ECHOES; i++) {
		int k = snprintf(bufs[i], sizeof bufs[i], "m%d", i);
		msgs[i] = (mws_message){bufs[i], (size_t)k, i % 2 ? MWS_MSG_BINARY : MWS_MSG_TEXT};
	}
	size_t accepted = 0;
	uint64_t first = 0;
	cr_assert_eq(mws_client_send_many(c, msgs, ECHOES, &accepted, &first), 0);
	cr_assert_eq(accepted, ECHOES);
	cr_assert_eq(first, 1);
	cr_assert(blog_wait(&b, pred_msgs, ECHOES, 30000), "echoes missing: %d", b.msgs);

	pthread_mutex_lock(&b.lock);
	int k = 0;
	for (int i = 0; i < b.n; i++) {
		if (b.what[i] != 'm')
			continue;
		cr_assert_str_eq(b.text[i], bufs[k], "message %d out of order", k);
		cr_assert_eq(b.type[i], msgs[k].type);
		k++;
	}
	cr_assert_eq(k, ECHOES);
	cr_assert_eq(b.single_calls, 0, "on_message is not called when on_messages is set");
	cr_assert_gt(b.max_batch, 1, "one call per message: no batch of more than one");
	cr_assert_lt(b.batches, ECHOES);
	pthread_mutex_unlock(&b.lock);

	mws_client_free(c);
	echo_stop(&e);
	blog_destroy(&b);
}

/* The server sends a burst and a message over the client's limit: the
 * burst's tail and the message that ends the connection (1009, at once in
 * the read) arrive in one read, in the same loop pass. */
Test(client_batch, messages_come_before_the_state_change_that_ends_the_connection, .timeout = 60)
{
	echo_server e;
	echo_start(&e);
	for (int round = 0; round < 5; round++) {
		blog b;
		blog_init(&b);
		mws_client_config cfg = plain_config();
		cfg.no_reconnect = 1;
		cfg.max_message_bytes = 1000;
		mws_client *c = batch_client(&b, e.url, &cfg);
		cr_assert_eq(mws_client_connect(c), 0);
		cr_assert(blog_wait(&b, pred_state, MWS_STATE_CONNECTED, 10000));
		cr_assert_eq(mws_client_send(c, "burst 300", 9, MWS_MSG_TEXT), 0);
		cr_assert(blog_wait(&b, pred_state, MWS_STATE_FAILED, 10000), "the close did not end it");
		pthread_mutex_lock(&b.lock);
		cr_assert_eq(b.msgs, 300, "round %d: %d of the burst before the state change", round,
		             b.msgs);
		int seen_end = 0, k = 0;
		for (int i = 0; i < b.n; i++) {
			if (b.what[i] == 's' && b.state_to[i] != MWS_STATE_CONNECTED &&
			    b.state_to[i] != MWS_STATE_CONNECTING)
				seen_end = 1;
			if (b.what[i] == 'm') {
				cr_assert_not(seen_end, "round %d: message %d after the end", round, k);
				k++;
			}
		}
		pthread_mutex_unlock(&b.lock);
		mws_client_free(c);
		blog_destroy(&b);
	}
	echo_stop(&e);
}

Test(client_batch, on_sent_reports_progress_as_messages_are_written, .timeout = 60)
{
	echo_server e;
	echo_start(&e);
	blog b;
	blog_init(&b);
	mws_client_config cfg = plain_config();
	mws_client *c = batch_client(&b, e.url, &cfg);
	/* Sent while away: written once connected, told by on_sent. */
	mws_message m[100];
	for (int i = 0; i < 100; i++)
		m[i] = (mws_message){"x", 1, MWS_MSG_BINARY};
	cr_assert_eq(mws_client_send_many(c, m, 100, NULL, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(blog_wait(&b, pred_written, 100, 10000), "on_sent did not report 100 written");
	pthread_mutex_lock(&b.lock);
	cr_assert_eq(b.written, 100);
	cr_assert_eq(b.discarded, 0);
	cr_assert_leq(b.sent_calls, 100);
	pthread_mutex_unlock(&b.lock);
	mws_client_free(c);
	echo_stop(&e);
	blog_destroy(&b);
}

Test(client_batch, send_many_applies_the_rules_of_send_to_each_message)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_messages = 5;
	cfg.queue_max_bytes = 100;
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:9/", &cfg), 0);
	mws_message m[8];
	for (int i = 0; i < 8; i++)
		m[i] = (mws_message){"abc", 3, MWS_MSG_TEXT};
	size_t acc = 99;
	uint64_t first = 0;
	cr_assert_eq(mws_client_send_many(c, m, 0, &acc, &first), 0);
	cr_assert_eq(acc, 0);
	cr_assert_eq(mws_client_send_many(NULL, m, 1, &acc, NULL), MWS_EINVAL);
	cr_assert_eq(mws_client_send_many(c, NULL, 1, &acc, NULL), MWS_EINVAL);

	/* A bad message: the ones before it go, none after it. */
	m[1].type = 7;
	cr_assert_eq(mws_client_send_many(c, m, 3, &acc, &first), MWS_EINVAL);
	cr_assert_eq(acc, 1);
	cr_assert_eq(first, 1);
	m[1].type = MWS_MSG_TEXT;
	m[1].data = NULL;
	cr_assert_eq(mws_client_send_many(c, m, 3, &acc, NULL), MWS_EINVAL);
	cr_assert_eq(acc, 1);
	m[1].data = "abc";
	static char big[101];
	m[2] = (mws_message){big, sizeof big, MWS_MSG_BINARY};
	cr_assert_eq(mws_client_send_many(c, m, 3, &acc, &first), MWS_ETOOBIG);
	cr_assert_eq(acc, 2);
	cr_assert_eq(first, 3);
	m[2] = m[0];

	/* 4 queued now; the queue holds 5 messages. */
	cr_assert_eq(mws_client_send_many(c, m, 8, &acc, &first), MWS_EQUEUEFULL);
	cr_assert_eq(acc, 1);
	cr_assert_eq(first, 5);
	cr_assert_eq(mws_client_send_many(c, m, 1, &acc, &first), MWS_EQUEUEFULL);
	cr_assert_eq(acc, 0);
	uint64_t n = 0;
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_assert_eq(st.queue_messages, 5);
	cr_assert_eq(st.queue_bytes, 15);
	cr_assert_eq(st.queue_full, 2);
	cr_assert_eq(st.send_number, 5);
	cr_assert_eq(mws_client_clear_queue(c), 0);
	cr_assert_eq(mws_client_close(c, 0, NULL), 0);
	cr_assert_eq(mws_client_send_many(c, m, 1, &acc, NULL), MWS_ECLOSED);
	cr_assert_eq(mws_client_send_seq(c, "a", 1, MWS_MSG_TEXT, &n), MWS_ECLOSED);
	mws_client_free(c);
}

static bool pred_out(blog *b, int n) { return b->written >= (uint64_t)n; }

/* Corked, sends wait for the uncork (nothing else wakes this idle client),
 * or for the 64th send; the order and numbers are those of plain sends. */
Test(client_batch, cork_defers_the_wake_until_uncork_or_the_64th_send, .timeout = 60)
{
	echo_server e;
	echo_start(&e);
	blog b;
	blog_init(&b);
	mws_client_config cfg = plain_config();
	mws_client *c = batch_client(&b, e.url, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(blog_wait(&b, pred_state, MWS_STATE_CONNECTED, 10000));
	cr_assert_eq(mws_client_cork(NULL, 1), MWS_EINVAL);
	/* Nothing sent or received yet: nothing is pending for this client (a
	 * message read asks for a WRITEABLE, which takes corked sends too). */
	cr_assert_eq(mws_client_cork(c, 1), 0);
	for (int i = 0; i < 10; i++) {
		uint64_t n = 0;
		cr_assert_eq(mws_client_send_seq(c, "c", 1, MWS_MSG_TEXT, &n), 0);
		cr_assert_eq(n, (uint64_t)i + 1);
	}
	/* Bounded look for a write that must not happen: nothing woke it. */
	cr_assert_not(blog_wait(&b, pred_out, 1, 300), "a corked send woke the I/O thread");
	mws_client_stats st = {.size = sizeof st};
	cr_assert_eq(mws_client_stats_get(c, &st), 0);
	cr_assert_eq(st.msgs_out, 0);
	cr_assert_eq(st.queue_messages, 10);
	cr_assert_eq(mws_client_cork(c, 0), 0);
	cr_assert(blog_wait(&b, pred_msgs, 10, 10000), "uncork did not send them");

	/* Still corked at the 64th send: that one wakes the I/O thread. */
	cr_assert_eq(mws_client_cork(c, 1), 0);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(mws_client_send(c, "d", 1, MWS_MSG_BINARY), 0);
	cr_assert(blog_wait(&b, pred_msgs, 74, 10000), "the 64th corked send did not wake it");
	cr_assert_eq(mws_client_cork(c, 0), 0);

	pthread_mutex_lock(&b.lock);
	for (int i = 0, k = 0; i < b.n; i++)
		if (b.what[i] == 'm') {
			cr_assert_str_eq(b.text[i], k < 10 ? "c" : "d");
			k++;
		}
	pthread_mutex_unlock(&b.lock);
	mws_client_free(c);
	echo_stop(&e);
	blog_destroy(&b);
}
