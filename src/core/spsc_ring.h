/* Lock-free single-producer/single-consumer ring of pointers (C11 atomics).
 * One thread pushes, one thread pops; capacity is a power of two. */
#ifndef MWS_CORE_SPSC_RING_H
#define MWS_CORE_SPSC_RING_H
#include <stdatomic.h>
#include <stddef.h>

typedef struct mws__spsc_ring {
	_Alignas(64) atomic_size_t head; /* next slot to pop, written by the consumer */
	_Alignas(64) atomic_size_t tail; /* next slot to push, written by the producer */
	_Alignas(64) size_t mask;
	void **slots;
} mws__spsc_ring;

/* Capacity is rounded up to a power of two >= min_capacity (>= 2).
 * Returns 0 or MWS_ENOMEM / MWS_EINVAL. */
int mws__spsc_init(mws__spsc_ring *r, size_t min_capacity);
void mws__spsc_destroy(mws__spsc_ring *r);
/* Producer side. 0, or MWS_EQUEUEFULL when full. */
int mws__spsc_push(mws__spsc_ring *r, void *item);
/* Consumer side. The oldest item, or NULL when empty. */
void *mws__spsc_pop(mws__spsc_ring *r);
/* Consumer side: pops up to `max` items into out[]; returns how many. */
size_t mws__spsc_pop_batch(mws__spsc_ring *r, void **out, size_t max);
size_t mws__spsc_capacity(const mws__spsc_ring *r);
/* Either side; a snapshot. */
size_t mws__spsc_size(const mws__spsc_ring *r);

#endif
