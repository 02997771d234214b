/* A small seeded random generator (splitmix64), so every policy that draws
 * randomness can be replayed exactly in a test. */
#ifndef MWS_CORE_RNG_H
#define MWS_CORE_RNG_H
#include <stdint.h>

typedef struct mws__rng {
	uint64_t state;
} mws__rng;

void mws__rng_seed(mws__rng *rng, uint64_t seed);
uint64_t mws__rng_next(mws__rng *rng);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
uint64_t mws__rng_between(mws__rng *rng, uint64_t lo, uint64_t hi);
/* Uniform in [0, 1). */
double mws__rng_unit(mws__rng *rng);

#endif
