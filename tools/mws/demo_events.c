/* The demo's event log, appended to by the I/O thread under a lock and
 * waited on by the script with a condition variable. */
#include "demo_events.h"

#include <time.h>

#include "util.h"

void events_init(demo_events *l)
{
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->n = 0;
}

void events_destroy(demo_events *l)
{
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}

void events_push(demo_events *l, const demo_event *e)
{
	pthread_mutex_lock(&l->lock);
	if (l->n < DEMO_MAX_EVENTS)
		l->ev[l->n++] = *e;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

int events_count(demo_events *l)
{
	pthread_mutex_lock(&l->lock);
	int n = l->n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

demo_event events_at(demo_events *l, int i)
{
	pthread_mutex_lock(&l->lock);
	demo_event e = l->ev[i];
	pthread_mutex_unlock(&l->lock);
	return e;
}

mws_conn_id events_last_server_conn(demo_events *l)
{
	mws_conn_id id = 0;

	pthread_mutex_lock(&l->lock);
	for (int i = l->n - 1; i >= 0 && !id; i--)
		if (l->ev[i].kind == EV_SRV_CONNECT)
			id = l->ev[i].id;
	pthread_mutex_unlock(&l->lock);
	return id;
}

/* Waits on the condition until `until_ms` (monotonic), at most. */
static void timed_wait(demo_events *l, uint64_t until_ms)
{
	uint64_t now = cli_now_ms();
	struct timespec ts;

	if (until_ms <= now)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (until_ms - now) * 1000000u;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	pthread_cond_timedwait(&l->cond, &l->lock, &ts);
}

int events_wait(demo_events *l, int from, ev_match match, const void *arg, int timeout_ms,
                events_tick tick, void *tick_arg)
{
	uint64_t deadline = cli_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	pthread_mutex_lock(&l->lock);
	for (;;) {
		for (int i = from; match && i < l->n; i++)
			if (match(&l->ev[i], arg)) {
				pthread_mutex_unlock(&l->lock);
				return i;
			}
		from = l->n;
		if (cli_now_ms() >= deadline)
			break;
		pthread_mutex_unlock(&l->lock);
		uint64_t until = tick ? tick(tick_arg) : deadline;
		pthread_mutex_lock(&l->lock);
		if (l->n > from)
			continue;
		timed_wait(l, until < deadline ? until : deadline);
	}
	pthread_mutex_unlock(&l->lock);
	return -1;
}

bool ev_client_to(const demo_event *e, const void *state)
{
	return e->kind == EV_CLIENT && e->to == *(const int *)state;
}

bool ev_client_left_connected(const demo_event *e, const void *unused)
{
	(void)unused;
	return e->kind == EV_CLIENT && e->from == MWS_STATE_CONNECTED;
}

bool ev_client_any(const demo_event *e, const void *unused)
{
	(void)unused;
	return e->kind == EV_CLIENT;
}

bool ev_srv_connect(const demo_event *e, const void *unused)
{
	(void)unused;
	return e->kind == EV_SRV_CONNECT;
}

bool ev_srv_disconnect(const demo_event *e, const void *why)
{
	return e->kind == EV_SRV_DISCONNECT && (!why || e->why == *(const int *)why);
}
