/* The demo's ledger: which numbered message was sent in which act and
 * when, and what the server received, so each act can be counted:
 * delivered, reordered, lost before and after the fault was detected. */
#ifndef MWS_CLI_DEMO_LEDGER_H
#define MWS_CLI_DEMO_LEDGER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_ACTS 5

typedef struct demo_counts {
	uint32_t sent;        /* accepted by mws_client_send() */
	uint32_t delivered;   /* received by the server, once each */
	uint32_t reordered;   /* received after a higher number */
	uint32_t duplicates;  /* received more than once */
	uint32_t lost_window; /* not received, sent before detection */
	uint32_t lost_after;  /* not received, sent at or after detection */
} demo_counts;

typedef struct demo_ledger {
	uint32_t cap, next;   /* messages are numbered 0..next-1 */
	/* Sender side: the main thread only. */
	uint8_t *act_of;      /* 0: numbered but refused by send */
	uint64_t *sent_at;     /* microseconds */
	/* Receiver side: the server's I/O thread, under the lock. */
	pthread_mutex_t lock;
	uint8_t *received;    /* times received */
	int64_t max_seen;
	uint32_t reordered[DEMO_ACTS + 1], duplicates[DEMO_ACTS + 1];
} demo_ledger;

int ledger_init(demo_ledger *l, uint32_t cap);
void ledger_free(demo_ledger *l);

/* Numbers the next message of `act`, sent at `now_us`, and writes its text
 * ("seq=N act=A") into buf. Returns the number, or -1 when full. */
int64_t ledger_next(demo_ledger *l, int act, uint64_t now_us, char *buf, size_t cap, size_t *len);

/* The send of message seq was refused: it does not count as sent. */
void ledger_refused(demo_ledger *l, int64_t seq);

/* On the server's I/O thread: one message arrived. */
void ledger_received(demo_ledger *l, const void *data, size_t len);

/* Whether message seq has arrived. Any thread. */
bool ledger_has(demo_ledger *l, int64_t seq);

/* Counts act's messages; detect_at_us is when the fault was detected, in
 * microseconds (0: none, every loss then counts as "after"). A message
 * stamped at or after it cannot have been written into the dead
 * connection: the stamp precedes the send, and the send precedes the
 * I/O thread taking it. Main thread. */
void ledger_count(demo_ledger *l, int act, uint64_t detect_at_us, demo_counts *out);

#endif
