/* A hashed timer wheel: 1 ms slots, a timer in the slot of its time (of any
 * later turn too: it waits there until due). */
#include "core/timer_wheel.h"

#include <string.h>

#define MASK (MWS__TW_SLOTS - 1u)

static void list_push(mws__tlist *l, mws__timer *t)
{
	t->list = l;
	t->next = NULL;
	t->prev = l->tail;
	if (l->tail)
		l->tail->next = t;
	else
		l->head = t;
	l->tail = t;
}

void mws__tw_cancel(mws__timer *t)
{
	mws__tlist *l = t->list;
	if (!l)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		l->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		l->tail = t->prev;
	t->prev = t->next = NULL;
	t->list = NULL;
}

void mws__tw_init(mws__twheel *w, uint64_t now_us)
{
	memset(w->slot, 0, sizeof w->slot);
	for (size_t i = 0; i < MWS__TW_SLOTS; i++)
		w->slot_min[i] = MWS__TW_NEVER;
	w->cursor = now_us / MWS__TW_SLOT_US;
}

/* Into its slot; a time before the cursor goes to the cursor's slot, which
 * the next run visits. */
static void slot_put(mws__twheel *w, mws__timer *t)
{
	uint64_t abs = t->at_us / MWS__TW_SLOT_US;
	if (abs < w->cursor)
		abs = w->cursor;
	size_t i = (size_t)(abs & MASK);
	if (!w->slot[i].head || t->at_us < w->slot_min[i])
		w->slot_min[i] = t->at_us;
	list_push(&w->slot[i], t);
}

void mws__tw_add(mws__twheel *w, mws__timer *t, uint64_t at_us, mws__timer_cb cb)
{
	mws__tw_cancel(t);
	t->at_us = at_us;
	t->cb = cb;
	slot_put(w, t);
}

uint64_t mws__tw_next(const mws__twheel *w)
{
	uint64_t best = MWS__TW_NEVER;
	for (uint64_t d = 0; d < MWS__TW_SLOTS; d++) {
		uint64_t abs = w->cursor + d;
		size_t i = (size_t)(abs & MASK);
		if (!w->slot[i].head)
			continue;
		if (w->slot_min[i] < best)
			best = w->slot_min[i];
		/* Due within this turn: no later slot holds anything earlier. */
		if (w->slot_min[i] < (abs + 1) * MWS__TW_SLOT_US)
			return best;
	}
	return best;
}

/* Moves the due timers of slot i to `due`, keeps the others (and learns
 * their earliest time). */
static void slot_collect(mws__twheel *w, size_t i, uint64_t now_us, mws__tlist *due)
{
	mws__timer *t = w->slot[i].head;
	w->slot[i].head = w->slot[i].tail = NULL;
	w->slot_min[i] = MWS__TW_NEVER;
	while (t) {
		mws__timer *next = t->next;
		if (t->at_us <= now_us) {
			list_push(due, t);
		} else {
			if (t->at_us < w->slot_min[i])
				w->slot_min[i] = t->at_us;
			list_push(&w->slot[i], t);
		}
		t = next;
	}
}

size_t mws__tw_run(mws__twheel *w, uint64_t now_us)
{
	uint64_t now_abs = now_us / MWS__TW_SLOT_US;
	mws__tlist due = {NULL, NULL};
	if (now_abs >= w->cursor) {
		uint64_t span = now_abs - w->cursor + 1;
		if (span > MWS__TW_SLOTS) /* asleep for more than a turn: each slot once */
			span = MWS__TW_SLOTS;
		for (uint64_t d = 0; d < span; d++) {
			size_t i = (size_t)((w->cursor + d) & MASK);
			if (w->slot[i].head)
				slot_collect(w, i, now_us, &due);
		}
		/* The slot of now stays the cursor: it may hold later timers. */
		w->cursor = now_abs;
	}
	size_t fired = 0;
	mws__timer *t;
	/* A callback may cancel or re-arm a timer still in `due`. */
	while ((t = due.head) != NULL) {
		mws__tw_cancel(t);
		fired++;
		t->cb(t);
	}
	return fired;
}
