/* Slots for connection attempts, and the queue of those waiting for one. */
#include "core/admission.h"

#include <stddef.h>

void mws__admission_init(mws__admission *a, uint32_t limit)
{
	a->limit = limit;
	a->in_flight = a->waiting = a->most_waiting = 0;
	a->queue.prev = a->queue.next = &a->queue;
}

int mws__admission_request(mws__admission *a, mws__admit_node *n, uint64_t due_us)
{
	mws__admission_done(a, n); /* a node asks again: its old place goes */
	n->due_us = due_us;
	if (!a->limit || (a->in_flight < a->limit && !a->waiting)) {
		n->state = MWS__ADMIT_IN;
		a->in_flight++;
		return 1;
	}
	/* From the tail: attempts mostly fall due in order, so this is O(1). */
	mws__admit_node *after = a->queue.prev;
	while (after != &a->queue && after->due_us > due_us)
		after = after->prev;
	n->prev = after;
	n->next = after->next;
	after->next->prev = n;
	after->next = n;
	n->state = MWS__ADMIT_WAITING;
	if (++a->waiting > a->most_waiting)
		a->most_waiting = a->waiting;
	return 0;
}

void mws__admission_done(mws__admission *a, mws__admit_node *n)
{
	if (n->state == MWS__ADMIT_IN) {
		a->in_flight--;
	} else if (n->state == MWS__ADMIT_WAITING) {
		n->prev->next = n->next;
		n->next->prev = n->prev;
		n->prev = n->next = NULL;
		a->waiting--;
	}
	n->state = MWS__ADMIT_IDLE;
}

mws__admit_node *mws__admission_next(mws__admission *a)
{
	if (!a->waiting || (a->limit && a->in_flight >= a->limit))
		return NULL;
	mws__admit_node *n = a->queue.next;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
	a->waiting--;
	n->state = MWS__ADMIT_IN;
	a->in_flight++;
	return n;
}
