/* A hash map from 64-bit ids (never 0) to pointers: the server finds a
 * connection by its id on every call, so a stale id is simply absent.
 * Not thread-safe: the owner locks. */
#ifndef MWS_CORE_ID_MAP_H
#define MWS_CORE_ID_MAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct mws__id_slot {
	uint64_t key; /* 0: free */
	void *value;
} mws__id_slot;

typedef struct mws__id_map {
	mws__id_slot *slots;
	size_t mask;  /* slots - 1 */
	size_t count;
} mws__id_map;

/* 0 or MWS_ENOMEM. */
int mws__idm_init(mws__id_map *m, size_t min_capacity);
void mws__idm_destroy(mws__id_map *m);
/* Inserts or replaces. 0, MWS_EINVAL (key 0 or value NULL), MWS_ENOMEM. */
int mws__idm_put(mws__id_map *m, uint64_t key, void *value);
/* The value, or NULL. */
void *mws__idm_get(const mws__id_map *m, uint64_t key);
/* Removes and returns the value, or NULL if absent. */
void *mws__idm_remove(mws__id_map *m, uint64_t key);
static inline size_t mws__idm_count(const mws__id_map *m) { return m->count; }

#endif
