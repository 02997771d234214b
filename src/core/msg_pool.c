/* A bounded stack of written messages, pushed by the consumer and taken
 * whole by the producers: taking all at once (an exchange) has no ABA. */
#include "core/msg_pool.h"

#include <stdlib.h>
#include <string.h>

/* What one block counts against the limit. */
static size_t mws__pool_size(const mws__msg *m)
{
	return sizeof *m + MWS__MSG_HEADROOM + m->cap;
}

/* A block serves a message that fills at least half of it (plus a little),
 * so that a burst of large messages does not pin memory under small ones. */
static int mws__pool_fits(const mws__msg *m, size_t len)
{
	return m->cap >= len && m->cap - len <= len + 256;
}

void mws__msg_pool_init(mws__msg_pool *p, size_t limit)
{
	atomic_init(&p->returned, NULL);
	atomic_init(&p->bytes, 0);
	p->limit = limit;
	p->spare = NULL;
	p->spare_bytes = 0;
}

mws__msg *mws__msg_pool_new(mws__msg_pool *p, const void *data, size_t len, int type)
{
	if (len && !data)
		return NULL;
	if (!p->spare && atomic_load_explicit(&p->returned, memory_order_relaxed)) {
		p->spare = atomic_exchange_explicit(&p->returned, NULL, memory_order_acquire);
		for (mws__msg *t = p->spare; t; t = t->next)
			p->spare_bytes += mws__pool_size(t);
	}
	mws__msg *m = p->spare;
	if (!m)
		return mws__msg_new(data, len, type);
	p->spare = m->next;
	p->spare_bytes -= mws__pool_size(m);
	atomic_fetch_sub_explicit(&p->bytes, mws__pool_size(m), memory_order_relaxed);
	if (!mws__pool_fits(m, len)) {
		free(m); /* freed here, on a producer: no lock taken against the I/O thread */
		return mws__msg_new(data, len, type);
	}
	m->next = NULL;
	m->len = len;
	m->type = (unsigned char)type;
	if (len)
		memcpy(mws__msg_payload(m), data, len);
	return m;
}

void mws__msg_pool_put(mws__msg_pool *p, mws__msg *m)
{
	size_t n = mws__pool_size(m);
	if (atomic_load_explicit(&p->bytes, memory_order_relaxed) + n > p->limit) {
		mws__msg_free(m);
		return;
	}
	atomic_fetch_add_explicit(&p->bytes, n, memory_order_relaxed);
	mws__msg *head = atomic_load_explicit(&p->returned, memory_order_relaxed);
	do
		m->next = head;
	while (!atomic_compare_exchange_weak_explicit(&p->returned, &head, m, memory_order_release,
	                                              memory_order_relaxed));
}

static void mws__pool_free_list(mws__msg_pool *p, mws__msg *m)
{
	while (m) {
		mws__msg *next = m->next;
		atomic_fetch_sub_explicit(&p->bytes, mws__pool_size(m), memory_order_relaxed);
		free(m);
		m = next;
	}
}

void mws__msg_pool_trim(mws__msg_pool *p)
{
	if (atomic_load_explicit(&p->returned, memory_order_relaxed))
		mws__pool_free_list(p, atomic_exchange_explicit(&p->returned, NULL,
		                                                memory_order_acquire));
}

/* The blocks of *list past its first `keep` bytes, cut off and returned;
 * *kept_bytes is what stays in *list. */
static mws__msg *mws__pool_cut(mws__msg **list, size_t keep, size_t *kept_bytes)
{
	size_t kept = 0;
	mws__msg **link = list;
	while (*link && kept + mws__pool_size(*link) <= keep) {
		kept += mws__pool_size(*link);
		link = &(*link)->next;
	}
	mws__msg *rest = *link;
	*link = NULL;
	*kept_bytes = kept;
	return rest;
}

void mws__msg_pool_shrink(mws__msg_pool *p, size_t keep)
{
	if (atomic_load_explicit(&p->bytes, memory_order_relaxed) <= keep ||
	    !atomic_load_explicit(&p->returned, memory_order_relaxed))
		return;
	mws__msg *head = atomic_exchange_explicit(&p->returned, NULL, memory_order_acquire);
	size_t kept;
	mws__pool_free_list(p, mws__pool_cut(&head, keep, &kept));
	if (!head)
		return;
	/* Back on the stack as one chain: the producers only ever take it
	 * whole, so a push of several blocks is as safe as a push of one. */
	mws__msg *tail = head;
	while (tail->next)
		tail = tail->next;
	mws__msg *top = atomic_load_explicit(&p->returned, memory_order_relaxed);
	do
		tail->next = top;
	while (!atomic_compare_exchange_weak_explicit(&p->returned, &top, head, memory_order_release,
	                                              memory_order_relaxed));
}

void mws__msg_pool_shrink_spare(mws__msg_pool *p, size_t keep)
{
	if (p->spare_bytes <= keep)
		return;
	mws__pool_free_list(p, mws__pool_cut(&p->spare, keep, &p->spare_bytes));
}

void mws__msg_pool_drop_spare(mws__msg_pool *p)
{
	mws__pool_free_list(p, p->spare);
	p->spare = NULL;
	p->spare_bytes = 0;
}

void mws__msg_pool_clear(mws__msg_pool *p)
{
	mws__msg_pool_trim(p);
	mws__msg_pool_drop_spare(p);
}
