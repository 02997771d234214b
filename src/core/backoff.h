/* Reconnect delays: min(max, base * 2^n) shaped by a jitter kind. */
#ifndef MWS_CORE_BACKOFF_H
#define MWS_CORE_BACKOFF_H
#include <stdint.h>
#include "rng.h"

typedef struct mws__backoff {
	uint64_t base_ms;
	uint64_t max_ms;
	int jitter;          /* mws_jitter, never MWS_JITTER_DEFAULT here */
	double proportion;   /* for MWS_JITTER_PROPORTIONAL */
	uint64_t prev_ms;    /* decorrelated jitter's memory; 0 = base */
	double factor;       /* growth per attempt; 2 unless set */
} mws__backoff;

void mws__backoff_init(mws__backoff *b, uint64_t base_ms, uint64_t max_ms,
                       int jitter, double proportion);
/* The growth per attempt, >= 1 (reconnecting-websocket's
 * reconnectionDelayGrowFactor); init sets 2. Smaller values are taken as 1. */
void mws__backoff_set_factor(mws__backoff *b, double factor);
/* min(max, base * factor^attempt) without jitter, rounded to the nearest
 * millisecond; saturates, never overflows. */
uint64_t mws__backoff_ceiling(const mws__backoff *b, uint32_t attempt);
/* The delay before attempt number `attempt` (0-based), jitter applied. */
uint64_t mws__backoff_next(mws__backoff *b, uint32_t attempt, mws__rng *rng);
/* Forget the decorrelated memory (after a stable connection). */
void mws__backoff_reset(mws__backoff *b);

#endif
