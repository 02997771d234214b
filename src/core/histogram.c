/* Log-linear histogram: values below 16 have a bucket each; above, every
 * power of two is split into 16 equal sub-buckets, so a bucket's width is
 * at most 1/16 (6.25 %) of its lower bound. 512 buckets reach about 2^35;
 * larger values share the last bucket, whose answer is capped by max. */
#include "histogram.h"
#include <string.h>

#define SUB_BITS 4
#define SUB_COUNT (1u << SUB_BITS)

void mws__hist_init(mws__histogram *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned bucket_of(uint64_t v)
{
	if (v < SUB_COUNT)
		return (unsigned)v;
	unsigned exp = 63 - (unsigned)__builtin_clzll(v); /* v >= 16, so exp >= 4 */
	unsigned sub = (unsigned)(v >> (exp - SUB_BITS)) & (SUB_COUNT - 1);
	unsigned b = SUB_COUNT + (exp - SUB_BITS) * SUB_COUNT + sub;
	return b < MWS__HIST_BUCKETS ? b : MWS__HIST_BUCKETS - 1;
}

/* The largest value that lands in bucket b. */
static uint64_t bucket_upper(unsigned b)
{
	if (b < SUB_COUNT)
		return b;
	if (b == MWS__HIST_BUCKETS - 1)
		return UINT64_MAX; /* the catch-all */
	unsigned exp = (b - SUB_COUNT) / SUB_COUNT + SUB_BITS;
	uint64_t sub = (b - SUB_COUNT) % SUB_COUNT;
	uint64_t width = UINT64_C(1) << (exp - SUB_BITS);
	return (UINT64_C(1) << exp) + (sub + 1) * width - 1;
}

void mws__hist_add(mws__histogram *h, uint64_t value)
{
	h->counts[bucket_of(value)]++;
	h->total++;
	h->sum = value > UINT64_MAX - h->sum ? UINT64_MAX : h->sum + value;
	if (value > h->max)
		h->max = value;
}

uint64_t mws__hist_quantile(const mws__histogram *h, double q)
{
	if (h->total == 0)
		return 0;
	if (!(q > 0)) /* also NaN */
		q = 0;
	if (q > 1)
		q = 1;
	/* The rank-th smallest value, counting from 1: ceil(q * total), >= 1. */
	double exact = q * (double)h->total;
	uint64_t rank = (uint64_t)exact;
	if ((double)rank < exact)
		rank++;
	if (rank == 0)
		rank = 1;
	if (rank > h->total)
		rank = h->total;
	uint64_t seen = 0;
	for (unsigned b = 0; b < MWS__HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			uint64_t upper = bucket_upper(b);
			return upper < h->max ? upper : h->max;
		}
	}
	return h->max;
}
