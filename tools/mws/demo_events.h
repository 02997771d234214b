/* The demo's event log: what the client and the server reported on the
 * I/O thread, in order, for the script on the main thread to wait on. */
#ifndef MWS_CLI_DEMO_EVENTS_H
#define MWS_CLI_DEMO_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "managedws.h"

enum { EV_CLIENT, EV_SRV_CONNECT, EV_SRV_DISCONNECT };
#define DEMO_MAX_EVENTS 2048

typedef struct demo_event {
	int kind;
	uint64_t at;    /* ms */
	uint64_t at_us; /* the same instant in microseconds */
	int from, to, code, delay_ms, why; /* client: from/to/code/delay; server: code/why */
	uint32_t attempt;
	mws_conn_id id;
	char reason[128];
} demo_event;

typedef struct demo_events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	demo_event ev[DEMO_MAX_EVENTS];
	int n;
} demo_events;

void events_init(demo_events *l);
void events_destroy(demo_events *l);

/* Appends a copy (dropped once the log is full) and wakes the waiter.
 * Any thread. */
void events_push(demo_events *l, const demo_event *e);

/* How many events so far, and a copy of the i-th. Any thread. */
int events_count(demo_events *l);
demo_event events_at(demo_events *l, int i);

/* The id of the server connection that opened last, 0 if none. */
mws_conn_id events_last_server_conn(demo_events *l);

typedef bool (*ev_match)(const demo_event *e, const void *arg);

/* Called by events_wait() while it waits: does what is due and returns
 * when (cli_now_ms()) it is next due. */
typedef uint64_t (*events_tick)(void *arg);

/* Waits for an event at index >= from that matches (match NULL: none
 * does), calling tick (if not NULL) meanwhile. Returns its index, or -1
 * after timeout_ms. Main thread. */
int events_wait(demo_events *l, int from, ev_match match, const void *arg, int timeout_ms,
                events_tick tick, void *tick_arg);

/* Matchers. */
bool ev_client_to(const demo_event *e, const void *state);        /* const int * */
bool ev_client_left_connected(const demo_event *e, const void *unused);
bool ev_client_any(const demo_event *e, const void *unused);
bool ev_srv_connect(const demo_event *e, const void *unused);
bool ev_srv_disconnect(const demo_event *e, const void *why);     /* const int *, or NULL */

#endif
