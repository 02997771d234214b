/* Circuit breaker: N failures within a window open the circuit. */
#ifndef MWS_CORE_BREAKER_H
#define MWS_CORE_BREAKER_H
#include <stdint.h>

#define MWS__BREAKER_MAX 64

typedef struct mws__breaker {
	uint32_t threshold;               /* 0: never opens */
	uint64_t window_ms;
	uint64_t stamps[MWS__BREAKER_MAX]; /* ring of failure times */
	uint32_t head, count;
} mws__breaker;

/* threshold is clamped to MWS__BREAKER_MAX. */
void mws__breaker_init(mws__breaker *b, uint32_t threshold, uint64_t window_ms);
/* Records a failure at `now_ms`; returns 1 if the circuit is now open. */
int mws__breaker_fail(mws__breaker *b, uint64_t now_ms);
/* Forgets every failure (after a stable connection, or connect()). */
void mws__breaker_reset(mws__breaker *b);

#endif
