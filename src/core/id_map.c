/* Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so lookups stay short however many ids come and go). */
#include "id_map.h"
#include <stdlib.h>

#include "managedws.h"

static size_t mws__idm_home(const mws__id_map *m, uint64_t key)
{
	key ^= key >> 33; /* murmur3 finaliser: sequential ids spread out */
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & m->mask;
}

int mws__idm_init(mws__id_map *m, size_t min_capacity)
{
	size_t n = 16;
	while (n < 2 * min_capacity)
		n <<= 1;
	m->slots = calloc(n, sizeof *m->slots);
	m->mask = n - 1;
	m->count = 0;
	return m->slots ? 0 : MWS_ENOMEM;
}

void mws__idm_destroy(mws__id_map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->count = 0;
}

static mws__id_slot *mws__idm_find(const mws__id_map *m, uint64_t key)
{
	for (size_t i = mws__idm_home(m, key);; i = (i + 1) & m->mask) {
		mws__id_slot *s = &m->slots[i];
		if (s->key == key || s->key == 0)
			return s;
	}
}

static int mws__idm_grow(mws__id_map *m)
{
	mws__id_map bigger;
	bigger.slots = calloc(2 * (m->mask + 1), sizeof *bigger.slots);
	if (!bigger.slots)
		return MWS_ENOMEM;
	bigger.mask = 2 * (m->mask + 1) - 1;
	bigger.count = m->count;
	for (size_t i = 0; i <= m->mask; i++)
		if (m->slots[i].key)
			*mws__idm_find(&bigger, m->slots[i].key) = m->slots[i];
	free(m->slots);
	*m = bigger;
	return 0;
}

int mws__idm_put(mws__id_map *m, uint64_t key, void *value)
{
	if (!key || !value)
		return MWS_EINVAL;
	/* load factor at most 1/2 */
	if (2 * (m->count + 1) > m->mask + 1 && mws__idm_grow(m))
		return MWS_ENOMEM;
	mws__id_slot *s = mws__idm_find(m, key);
	if (!s->key)
		m->count++;
	s->key = key;
	s->value = value;
	return 0;
}

void *mws__idm_get(const mws__id_map *m, uint64_t key)
{
	if (!key || !m->slots)
		return NULL;
	mws__id_slot *s = mws__idm_find(m, key);
	return s->key ? s->value : NULL;
}

void *mws__idm_remove(mws__id_map *m, uint64_t key)
{
	if (!key || !m->slots)
		return NULL;
	mws__id_slot *s = mws__idm_find(m, key);
	if (!s->key)
		return NULL;
	void *value = s->value;
	size_t hole = (size_t)(s - m->slots);
	/* Shift back every following entry whose home is not between the hole
	 * and its own slot, so no probe chain is cut. */
	for (size_t i = (hole + 1) & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
		size_t home = mws__idm_home(m, m->slots[i].key);
		int stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
		if (!stays) {
			m->slots[hole] = m->slots[i];
			hole = i;
		}
	}
	m->slots[hole].key = 0;
	m->slots[hole].value = NULL;
	m->count--;
	return value;
}
