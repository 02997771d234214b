/* Token buckets, one per peer address, in an open-addressing table. */
#include "token_bucket.h"
#include <stdlib.h>
#include <string.h>

#include "managedws.h"

void mws__tb_init(mws__token_bucket *tb, double burst, uint64_t now_ms)
{
	tb->tokens = burst;
	tb->last_ms = now_ms;
}

double mws__tb_peek(const mws__token_bucket *tb, double rate, double burst,
                    uint64_t now_ms)
{
	double t = tb->tokens;
	if (now_ms > tb->last_ms)
		t += (double)(now_ms - tb->last_ms) * rate / 1000.0;
	return t > burst ? burst : t;
}

int mws__tb_take(mws__token_bucket *tb, double rate, double burst, uint64_t now_ms)
{
	tb->tokens = mws__tb_peek(tb, rate, burst, now_ms);
	if (now_ms > tb->last_ms)
		tb->last_ms = now_ms; /* a clock that steps back refills nothing */
	if (tb->tokens < 1.0)
		return 0;
	tb->tokens -= 1.0;
	return 1;
}

static uint64_t mws__ip_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

int mws__ipl_init(mws__ip_limiter *l, double rate, double burst, size_t max_entries)
{
	memset(l, 0, sizeof *l);
	if (!(rate > 0) || !(burst >= 1) || max_entries == 0 || max_entries > (1u << 24))
		return MWS_EINVAL;
	size_t slots = 2;
	while (slots < 2 * max_entries)
		slots <<= 1;
	l->slots = calloc(slots, sizeof *l->slots);
	if (!l->slots)
		return MWS_ENOMEM;
	l->rate = rate;
	l->burst = burst;
	l->max_entries = max_entries;
	l->mask = slots - 1;
	return 0;
}

void mws__ipl_destroy(mws__ip_limiter *l)
{
	free(l->slots);
	l->slots = NULL;
}

static mws__ip_entry *mws__ipl_slot(mws__ip_limiter *l, const char *ip)
{
	for (size_t i = mws__ip_hash(ip) & l->mask;; i = (i + 1) & l->mask) {
		mws__ip_entry *e = &l->slots[i];
		if (!e->ip[0] || !strcmp(e->ip, ip))
			return e;
	}
}

/* Forgets every bucket that is full again: it behaves exactly like a new
 * one. Rebuilds the table, so probe chains stay intact. */
static void mws__ipl_purge(mws__ip_limiter *l, uint64_t now_ms)
{
	size_t slots = l->mask + 1;
	mws__ip_entry *old = l->slots;
	mws__ip_entry *fresh = calloc(slots, sizeof *fresh);
	if (!fresh)
		return;
	l->slots = fresh;
	l->count = 0;
	for (size_t i = 0; i < slots; i++) {
		if (!old[i].ip[0] ||
		    mws__tb_peek(&old[i].tb, l->rate, l->burst, now_ms) >= l->burst)
			continue;
		*mws__ipl_slot(l, old[i].ip) = old[i];
		l->count++;
	}
	free(old);
}

int mws__ipl_allow(mws__ip_limiter *l, const char *ip, uint64_t now_ms)
{
	if (!ip || strlen(ip) >= MWS__IP_MAX)
		ip = "?";
	mws__ip_entry *e = mws__ipl_slot(l, ip);
	if (!e->ip[0]) {
		if (l->count >= l->max_entries) {
			mws__ipl_purge(l, now_ms);
			if (l->count >= l->max_entries) {
				l->overflow++;
				return 1;
			}
			e = mws__ipl_slot(l, ip);
		}
		strcpy(e->ip, ip);
		mws__tb_init(&e->tb, l->burst, now_ms);
		l->count++;
	}
	return mws__tb_take(&e->tb, l->rate, l->burst, now_ms);
}
