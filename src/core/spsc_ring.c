/* SPSC ring. head and tail only grow (wrapping at SIZE_MAX, which the
 * power-of-two mask tolerates); each is written by one side and published
 * with release, read by the other with acquire, so a slot's contents are
 * visible before the index that hands it over. */
#include "spsc_ring.h"
#include "managedws.h"
#include <stdint.h>
#include <stdlib.h>

int mws__spsc_init(mws__spsc_ring *r, size_t min_capacity)
{
	if (!r)
		return MWS_EINVAL;
	r->slots = NULL; /* so destroy() after a failed init is harmless */
	r->mask = 0;
	size_t capacity = 2;
	while (capacity < min_capacity) {
		if (capacity > SIZE_MAX / 2 / sizeof(void *))
			return MWS_EINVAL;
		capacity *= 2;
	}
	r->slots = calloc(capacity, sizeof(void *));
	if (!r->slots)
		return MWS_ENOMEM;
	r->mask = capacity - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

void mws__spsc_destroy(mws__spsc_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

int mws__spsc_push(mws__spsc_ring *r, void *item)
{
	/* NULL is what pop returns for "empty": it cannot be an item. */
	if (!item)
		return MWS_EINVAL;
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	if (tail - head > r->mask)
		return MWS_EQUEUEFULL;
	r->slots[tail & r->mask] = item;
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	return 0;
}

void *mws__spsc_pop(mws__spsc_ring *r)
{
	void *item;
	return mws__spsc_pop_batch(r, &item, 1) ? item : NULL;
}

size_t mws__spsc_pop_batch(mws__spsc_ring *r, void **out, size_t max)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t n = tail - head;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		out[i] = r->slots[(head + i) & r->mask];
	if (n)
		atomic_store_explicit(&r->head, head + n, memory_order_release);
	return n;
}

size_t mws__spsc_capacity(const mws__spsc_ring *r)
{
	return r->mask + 1;
}

size_t mws__spsc_size(const mws__spsc_ring *r)
{
	/* head first: it can only grow, so tail - head never goes negative. */
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t n = tail - head;
	return n > r->mask + 1 ? r->mask + 1 : n;
}
