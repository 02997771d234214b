/* Connection rate limiting: a token bucket, and a table of buckets keyed by
 * peer address. Time is passed in (milliseconds); nothing here sleeps. */
#ifndef MWS_CORE_TOKEN_BUCKET_H
#define MWS_CORE_TOKEN_BUCKET_H
#include <stddef.h>
#include <stdint.h>

/* `rate` tokens per second refill up to `burst`; each admission takes one. */
typedef struct mws__token_bucket {
	double tokens;
	uint64_t last_ms;
} mws__token_bucket;

/* Starts full. */
void mws__tb_init(mws__token_bucket *tb, double burst, uint64_t now_ms);
/* Refills for the time since the last call, then takes a token if there is
 * one. Returns 1 (admitted) or 0 (limited). */
int mws__tb_take(mws__token_bucket *tb, double rate, double burst, uint64_t now_ms);
/* The tokens it would hold at `now_ms`, without changing it. */
double mws__tb_peek(const mws__token_bucket *tb, double rate, double burst,
                    uint64_t now_ms);

#define MWS__IP_MAX 48 /* an IPv6 text address fits */

typedef struct mws__ip_entry {
	char ip[MWS__IP_MAX]; /* "" when the slot is free */
	mws__token_bucket tb;
} mws__ip_entry;

/* A bucket per address, open addressing. Buckets that have refilled are
 * forgotten when the table fills up; if every slot still holds a draining
 * bucket, the new address is admitted without a bucket (fail open) and
 * counted in `overflow`: refusing every new address would be worse. */
typedef struct mws__ip_limiter {
	double rate, burst;
	size_t max_entries;  /* addresses remembered at once */
	size_t mask;         /* slots - 1, slots = 2 * max_entries rounded up */
	size_t count;
	uint64_t overflow;
	mws__ip_entry *slots;
} mws__ip_limiter;

/* MWS_EINVAL (rate or burst not positive, max_entries 0), MWS_ENOMEM. */
int mws__ipl_init(mws__ip_limiter *l, double rate, double burst, size_t max_entries);
void mws__ipl_destroy(mws__ip_limiter *l);
/* Returns 1 if `ip` may connect now (a token was taken), 0 if limited. */
int mws__ipl_allow(mws__ip_limiter *l, const char *ip, uint64_t now_ms);

#endif
