/* A count per peer address (handshakes in progress), for bounding what one
 * address may hold at once. Entries exist only while their count is above
 * zero. Not thread-safe: one owner. */
#ifndef MWS_CORE_ADDR_COUNT_H
#define MWS_CORE_ADDR_COUNT_H
#include <stddef.h>

typedef struct mws__addr_node {
	struct mws__addr_node *next;
	unsigned count;
	char addr[48];
} mws__addr_node;

typedef struct mws__addr_count {
	mws__addr_node **buckets;
	size_t mask;   /* buckets - 1 */
	size_t entries;
} mws__addr_count;

/* 0 or MWS_ENOMEM. */
int mws__ac_init(mws__addr_count *ac, size_t buckets);
void mws__ac_destroy(mws__addr_count *ac);
/* Adds one for `addr` if it holds fewer than `limit`: 1 if added, 0 if at
 * the limit, MWS_ENOMEM. */
int mws__ac_take(mws__addr_count *ac, const char *addr, unsigned limit);
/* Gives one back (no-op for an address holding none). */
void mws__ac_give(mws__addr_count *ac, const char *addr);
/* What `addr` holds now. */
unsigned mws__ac_get(const mws__addr_count *ac, const char *addr);

#endif
