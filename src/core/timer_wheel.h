/* The timers of one context, in a hashed wheel: adding, moving and
 * cancelling a timer cost O(1) however many are pending.
 *
 * Why not libwebsockets' own timers: 4.1.6 keeps every timer of a context
 * in one sorted list and inserts by walking it from the head
 * (lws_dll2_add_sorted), so a new timer costs a step per earlier one. Ten
 * thousand clients told by a restarting server to come back within 5 s
 * arm ten thousand retry timers, and every one of them, and every
 * libwebsockets timeout set while the closes are handled, walks the
 * others: the I/O thread needed 49 s to handle the closes. The wheel
 * leaves libwebsockets a single timer of ours: the next deadline.
 *
 * Time is passed in (microseconds, any monotonic origin); nothing here
 * sleeps or reads a clock. One thread only. */
#ifndef MWS_CORE_TIMER_WHEEL_H
#define MWS_CORE_TIMER_WHEEL_H
#include <stddef.h>
#include <stdint.h>

#define MWS__TW_SLOTS 4096u    /* a power of two */
#define MWS__TW_SLOT_US 1000u  /* 1 ms per slot: a turn is 4.096 s */
#define MWS__TW_NEVER UINT64_MAX

typedef struct mws__timer mws__timer;
typedef void (*mws__timer_cb)(mws__timer *t);

typedef struct mws__tlist {
	mws__timer *head, *tail;
} mws__tlist;

/* Embedded in its owner; all zero is "not pending". */
struct mws__timer {
	mws__timer *prev, *next;
	mws__tlist *list; /* where it is pending, NULL if it is not */
	uint64_t at_us;
	mws__timer_cb cb;
};

typedef struct mws__twheel {
	mws__tlist slot[MWS__TW_SLOTS];
	uint64_t slot_min[MWS__TW_SLOTS]; /* no timer of the slot is earlier */
	uint64_t cursor;                  /* absolute slot (at_us / SLOT_US) run up to */
} mws__twheel;

void mws__tw_init(mws__twheel *w, uint64_t now_us);

/* Arms t to call cb at at_us (moved if it was pending). A time already
 * past fires at the next mws__tw_run. */
void mws__tw_add(mws__twheel *w, mws__timer *t, uint64_t at_us, mws__timer_cb cb);

/* Disarms t; nothing if it is not pending. */
void mws__tw_cancel(mws__timer *t);

/* No timer is due before this (MWS__TW_NEVER when none is pending). It may
 * be early after cancels, never late. */
uint64_t mws__tw_next(const mws__twheel *w);

/* Calls every timer due at now_us, each removed before its callback,
 * which may add and cancel timers freely. Timers added by a callback wait
 * for the next run, so a timer re-armed at "now" cannot loop here.
 * Returns how many fired. */
size_t mws__tw_run(mws__twheel *w, uint64_t now_us);

#endif
