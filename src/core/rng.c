/* splitmix64: tiny, fast, and good enough for jitter; replayable by seed. */
#include "rng.h"

void mws__rng_seed(mws__rng *rng, uint64_t seed)
{
	rng->state = seed;
}

uint64_t mws__rng_next(mws__rng *rng)
{
	uint64_t z = (rng->state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t mws__rng_between(mws__rng *rng, uint64_t lo, uint64_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = hi - lo + 1; /* 0 means the whole 64-bit range */
	if (span == 0)
		return mws__rng_next(rng);
	/* Reject the short top slice so every value is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % span;
	uint64_t x;
	do {
		x = mws__rng_next(rng);
	} while (x >= limit);
	return lo + x % span;
}

double mws__rng_unit(mws__rng *rng)
{
	/* The top 53 bits fill a double's mantissa exactly. */
	return (double)(mws__rng_next(rng) >> 11) * 0x1.0p-53;
}
