/* How many connection attempts of one context are in flight at once.
 * Each socket that connects carries timeouts of libwebsockets 4.1.6 (kept
 * in one sorted list, inserted by walking it) and a place in every poll():
 * ten thousand clients whose retries fall due together opened ten thousand
 * sockets at once, the I/O thread fell behind, the attempts timed out
 * together and came back as a second wave. Here an attempt that is due
 * takes a slot, or waits in order of when it fell due; a slot that frees
 * goes to the longest waiting. The wait is bounded by the attempt's own
 * connect timeout (the caller's timer). One thread only; no clock. */
#ifndef MWS_CORE_ADMISSION_H
#define MWS_CORE_ADMISSION_H
#include <stdint.h>

typedef struct mws__admit_node {
	struct mws__admit_node *prev, *next;
	uint64_t due_us;   /* when the attempt fell due: the queue's order */
	int state;         /* MWS__ADMIT_IDLE, _WAITING or _IN */
} mws__admit_node;

enum { MWS__ADMIT_IDLE = 0, MWS__ADMIT_WAITING, MWS__ADMIT_IN };

typedef struct mws__admission {
	uint32_t limit;      /* slots; 0: no bound */
	uint32_t in_flight;  /* nodes holding a slot */
	uint32_t waiting;    /* nodes queued */
	uint32_t most_waiting; /* the longest the queue has been */
	mws__admit_node queue; /* list head, oldest due first */
} mws__admission;

void mws__admission_init(mws__admission *a, uint32_t limit);

/* An attempt due at due_us asks for a slot: 1 if it holds one now (go), 0
 * if it waits (queued in due order, after those due at the same time). */
int mws__admission_request(mws__admission *a, mws__admit_node *n, uint64_t due_us);

/* The attempt is over (connected, failed or abandoned): its slot frees, or
 * it leaves the queue. No-op for an idle node. */
void mws__admission_done(mws__admission *a, mws__admit_node *n);

/* The next waiting node that may go now (it holds a slot from here on), or
 * NULL when none waits or every slot is taken. */
mws__admit_node *mws__admission_next(mws__admission *a);

#endif
