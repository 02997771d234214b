/* Shared by the client integration tests: a client whose state changes and
 * messages are recorded, with condition waits bounded in time. */
#ifndef MWS_TEST_CLIENT_HARNESS_H
#define MWS_TEST_CLIENT_HARNESS_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"
#include "peer.h"

#define REC_MAX_STATES 256
#define REC_MAX_MSGS 8192

typedef struct rec_state {
	int from, to, code, delay_ms;
	uint32_t attempt;
	uint64_t at_ms;
	char reason[96];
} rec_state;

typedef struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	rec_state states[REC_MAX_STATES];
	int nstates;
	char *msgs[REC_MAX_MSGS];
	int msg_types[REC_MAX_MSGS];
	size_t msg_lens[REC_MAX_MSGS];
	int nmsgs;
	int creds_calls;
	int last_http_status_seen;
	int state_now;
} rec;

static inline void rec_init(rec *r)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
}

static inline void rec_destroy(rec *r)
{
	for (int i = 0; i < r->nmsgs; i++)
		free(r->msgs[i]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
}

static inline void rec_on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	rec *r = ud;
	pthread_mutex_lock(&r->lock);
	if (r->nstates < REC_MAX_STATES) {
		rec_state *s = &r->states[r->nstates++];
		s->from = ch->from;
		s->to = ch->to;
		s->code = ch->close_code;
		s->delay_ms = ch->retry_delay_ms;
		s->attempt = ch->attempt;
		s->at_ms = mws_test_now_ms();
		snprintf(s->reason, sizeof s->reason, "%s", ch->reason);
	}
	r->state_now = ch->to;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static inline void rec_on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	rec *r = ud;
	pthread_mutex_lock(&r->lock);
	if (r->nmsgs < REC_MAX_MSGS) {
		char *copy = malloc(len + 1);
		memcpy(copy, data, len);
		copy[len] = '\0';
		r->msg_types[r->nmsgs] = type;
		r->msg_lens[r->nmsgs] = len;
		r->msgs[r->nmsgs++] = copy;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Waits on the recorder's condition variable until pred holds. */
static inline bool rec_wait(rec *r, bool (*pred)(rec *, void *), void *arg, int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	bool ok;
	while (!(ok = pred(r, arg)))
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until))
			break;
	if (!ok)
		ok = pred(r, arg);
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static inline bool rec_pred_state(rec *r, void *arg) { return r->state_now == *(int *)arg; }

static inline bool rec_wait_state(rec *r, int state, int timeout_ms)
{
	return rec_wait(r, rec_pred_state, &state, timeout_ms);
}

/* Waits until the n-th state change (counting from 0) has happened. */
static inline bool rec_pred_nstates(rec *r, void *arg) { return r->nstates >= *(int *)arg; }

static inline bool rec_wait_nstates(rec *r, int n, int timeout_ms)
{
	return rec_wait(r, rec_pred_nstates, &n, timeout_ms);
}

static inline bool rec_pred_nmsgs(rec *r, void *arg) { return r->nmsgs >= *(int *)arg; }

static inline bool rec_wait_msgs(rec *r, int n, int timeout_ms)
{
	return rec_wait(r, rec_pred_nmsgs, &n, timeout_ms);
}

/* Counts recorded transitions into `to`. */
static inline int rec_count_to(rec *r, int to)
{
	pthread_mutex_lock(&r->lock);
	int n = 0;
	for (int i = 0; i < r->nstates; i++)
		n += r->states[i].to == to;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* The last recorded transition into `to`, or NULL. */
static inline rec_state *rec_last_to(rec *r, int to)
{
	rec_state *found = NULL;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->nstates; i++)
		if (r->states[i].to == to)
			found = &r->states[i];
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* A client on the default context wired to a recorder. */
static inline mws_client *rec_client(rec *r, mws_ctx *ctx, const char *url,
                                     const mws_client_config *cfg)
{
	mws_client *c = NULL;
	if (mws_client_new(&c, ctx, url, cfg))
		return NULL;
	mws_client_callbacks cbs = {sizeof cbs, rec_on_state, rec_on_message, NULL};
	mws_client_set_callbacks(c, &cbs, r, NULL);
	return c;
}

static inline void url_for_port(char *buf, size_t cap, int port)
{
	snprintf(buf, cap, "ws://127.0.0.1:%d/", port);
}

/* rec_client() on the default context for ws://127.0.0.1:port/; never NULL. */
static inline mws_client *rec_client_on(rec *r, int port, const mws_client_config *cfg)
{
	char url[64];
	url_for_port(url, sizeof url, port);
	mws_client *c = rec_client(r, NULL, url, cfg);
	cr_assert_not_null(c);
	return c;
}

#endif
