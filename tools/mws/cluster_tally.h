/* mws cluster-client's bookkeeping, one tally per client: which numbered
 * messages it sent and which came back (echoed by whichever node holds its
 * session), and how long each reconnection took. The main thread numbers
 * and sends; the I/O thread records what arrives and the state changes;
 * a mutex per tally joins the two. */
#ifndef MWS_CLI_CLUSTER_TALLY_H
#define MWS_CLI_CLUSTER_TALLY_H

#include <pthread.h>
#include <stdint.h>

#include "managedws.h"

/* What one client (or all of them) saw; the report prints these. */
typedef struct cluster_counts {
	uint64_t sent;          /* numbers accepted by mws_client_send() */
	uint64_t delivered;     /* numbers echoed back, once each */
	uint64_t lost;          /* sent, never echoed (after the drain) */
	uint64_t duplicated;    /* echoes received more than once */
	uint64_t reordered;     /* echoes received after a higher number */
	uint64_t foreign;       /* echoes of another client's numbers, or garbage */
	uint64_t resumes;       /* reconnections that resumed the session */
	uint64_t sessions_lost; /* reconnections where the node had no session */
	uint64_t send_errors;   /* sends refused for good (FAILED, CLOSED) */
	uint64_t replayed;      /* library: messages written again after a resume */
	uint64_t dups_dropped;  /* library: duplicates it dropped for us */
	int connected;          /* 1: connected at least once */
	/* The server's numbered stream (mws serve --tick): "tick=N". */
	uint64_t ticks;         /* distinct ticks received */
	uint64_t ticks_lost;    /* missing in the window every client must have */
	uint64_t ticks_between; /* of those, missed while the client was between
	                           connections (see cluster_report.h) */
	uint64_t ticks_duplicated, ticks_reordered;
} cluster_counts;

typedef struct cluster_tally {
	unsigned index;
	mws_client *client;
	/* Main thread only. */
	uint64_t next_number;   /* the last number sent; numbers start at 1 */
	uint64_t send_errors;
	/* I/O thread, under lock. */
	pthread_mutex_t lock;
	uint8_t *seen;          /* times number n was echoed, n < cap */
	uint64_t cap;
	uint64_t delivered, duplicated, reordered, foreign, max_seen;
	uint64_t resumes, sessions_lost;
	int connected;
	uint64_t down_at_ms;    /* when the last connection ended; 0 while up */
	uint64_t *away;         /* (ended, connected again) ms of each reconnection */
	uint32_t naway, away_cap;
	uint64_t *tick_at;      /* when each tick arrived (ms), by number; 0: not */
	uint64_t tick_cap, tick_max, ticks, tick_dup, tick_reordered;
	uint64_t watch_from_ms, stop_ms; /* see tally_watch_ticks() */
	uint64_t tick_watched;  /* the first tick received at or after watch_from_ms */
} cluster_tally;

/* Room for `cap` numbers. 0 or -1 (no memory). */
int tally_init(cluster_tally *t, unsigned index, uint64_t cap);
void tally_free(cluster_tally *t);

/* The message text of number n: "c=INDEX n=N", padded with '.' to `size`
 * bytes when size is larger. Returns its length. */
size_t tally_format(const cluster_tally *t, uint64_t n, size_t size, char *buf, size_t cap);

/* I/O thread: one message arrived at now_ms: an echo "c=I n=N" or a tick
 * "tick=N". */
void tally_received(cluster_tally *t, const void *data, size_t len, uint64_t now_ms);

/* Ticks: the first one received at or after from_ms opens the window every
 * client must have whole (all are connected by then); ticks arriving at or
 * after stop_ms are ignored, so that every client's count stops at the
 * same moment. 0: not set. Any thread. */
void tally_watch_ticks(cluster_tally *t, uint64_t from_ms, uint64_t stop_ms);

/* The window's ends as this client saw them: its first watched tick and its
 * highest tick (0 when none). Any thread. */
void tally_tick_ends(cluster_tally *t, uint64_t *watched, uint64_t *max);

/* I/O thread: a state change (the time a reconnection took, resumed or lost). */
void tally_state(cluster_tally *t, const mws_state_change *c, uint64_t now_ms);

/* Whether every number sent so far has come back. Main thread. */
int tally_settled(cluster_tally *t);

/* Copies the counts (lost = sent - delivered now; ticks_lost = ticks
 * missing in [tick_from, tick_to], none counted when tick_from is 0, and
 * ticks_between those of them whose gap overlaps one of this client's
 * reconnections) and the library's own figures. Main thread (it reads
 * what it sent). */
void tally_counts(cluster_tally *t, uint64_t tick_from, uint64_t tick_to, cluster_counts *out);

/* Appends this tally's reconnection times (ms) to *all (grown with realloc).
 * Returns 0, or -1 without memory. */
int tally_resume_times(cluster_tally *t, uint32_t **all, uint32_t *n);

#endif
