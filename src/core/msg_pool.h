/* Written messages handed back to the threads that send, to be filled
 * again. Without it the I/O thread frees every block the sending thread
 * allocated: glibc then takes that thread's arena lock for each free, and
 * a sender busy in malloc() makes the I/O thread sleep on the lock (a
 * futex round per message, seen in a 4 KiB burst). With it, a steady
 * sender allocates nothing, and blocks are freed by the thread that made
 * them.
 *
 * Threads: mws__msg_pool_put() and mws__msg_pool_trim() on the one thread
 * that consumes (the I/O thread); mws__msg_pool_new() and
 * mws__msg_pool_drop_spare() by producers, serialised by their own lock.
 * The pool holds at most `limit` bytes; past that a block is freed. Sized
 * for a burst (what one drain of the queue hands back), it is cut back to
 * a few blocks once the queue is empty, on each side (shrink, shrink_spare),
 * so that a client that sent a burst does not keep it. */
#ifndef MWS_CORE_MSG_POOL_H
#define MWS_CORE_MSG_POOL_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/message.h"

typedef struct mws__msg_pool {
	_Atomic(mws__msg *) returned; /* pushed by the consumer, taken whole */
	atomic_size_t bytes;          /* held in returned and spare */
	size_t limit;
	mws__msg *spare;              /* producers' side, under their lock */
	size_t spare_bytes;           /* of those, under the same lock */
} mws__msg_pool;

void mws__msg_pool_init(mws__msg_pool *p, size_t limit);
/* A message holding a copy of `data`: a returned block when one fits,
 * else a new one. NULL when out of memory (or bad arguments). */
mws__msg *mws__msg_pool_new(mws__msg_pool *p, const void *data, size_t len, int type);
/* Consumer: `m` is done with; kept for reuse while the pool has room. */
void mws__msg_pool_put(mws__msg_pool *p, mws__msg *m);
/* Consumer: frees what was handed back and not yet taken (when the
 * senders have gone quiet). */
void mws__msg_pool_trim(mws__msg_pool *p);
/* Consumer: frees what was handed back past the first `keep` bytes. */
void mws__msg_pool_shrink(mws__msg_pool *p, size_t keep);
/* Producers (under their lock): frees spare blocks past `keep` bytes. */
void mws__msg_pool_shrink_spare(mws__msg_pool *p, size_t keep);
/* Producers (under their lock), or at teardown: frees the spare blocks. */
void mws__msg_pool_drop_spare(mws__msg_pool *p);
/* Teardown, no other thread left: frees everything. */
void mws__msg_pool_clear(mws__msg_pool *p);

#endif
