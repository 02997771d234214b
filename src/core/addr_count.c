/* Counts per address: a chained hash table of small nodes. */
#include "core/addr_count.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "managedws.h"

static size_t mws__ac_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

int mws__ac_init(mws__addr_count *ac, size_t buckets)
{
	size_t n = 16;
	while (n < buckets)
		n <<= 1;
	ac->buckets = calloc(n, sizeof *ac->buckets);
	if (!ac->buckets)
		return MWS_ENOMEM;
	ac->mask = n - 1;
	ac->entries = 0;
	return 0;
}

void mws__ac_destroy(mws__addr_count *ac)
{
	if (!ac->buckets)
		return;
	for (size_t i = 0; i <= ac->mask; i++)
		while (ac->buckets[i]) {
			mws__addr_node *n = ac->buckets[i];
			ac->buckets[i] = n->next;
			free(n);
		}
	free(ac->buckets);
	ac->buckets = NULL;
}

static mws__addr_node **mws__ac_find(const mws__addr_count *ac, const char *addr)
{
	mws__addr_node **pp = &ac->buckets[mws__ac_hash(addr) & ac->mask];
	while (*pp && strcmp((*pp)->addr, addr))
		pp = &(*pp)->next;
	return pp;
}

int mws__ac_take(mws__addr_count *ac, const char *addr, unsigned limit)
{
	mws__addr_node **pp = mws__ac_find(ac, addr);
	if (*pp) {
		if ((*pp)->count >= limit)
			return 0;
		(*pp)->count++;
		return 1;
	}
	if (!limit)
		return 0;
	mws__addr_node *n = calloc(1, sizeof *n);
	if (!n)
		return MWS_ENOMEM;
	snprintf(n->addr, sizeof n->addr, "%s", addr);
	n->count = 1;
	*pp = n;
	ac->entries++;
	return 1;
}

void mws__ac_give(mws__addr_count *ac, const char *addr)
{
	mws__addr_node **pp = mws__ac_find(ac, addr);
	mws__addr_node *n = *pp;
	if (!n)
		return;
	if (--n->count == 0) {
		*pp = n->next;
		free(n);
		ac->entries--;
	}
}

unsigned mws__ac_get(const mws__addr_count *ac, const char *addr)
{
	mws__addr_node *const *pp = mws__ac_find(ac, addr);
	return *pp ? (*pp)->count : 0;
}
