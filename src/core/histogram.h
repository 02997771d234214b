/* A fixed-size log-linear histogram for round trips and durations:
 * constant memory, percentiles within about 6 % of the true value. */
#ifndef MWS_CORE_HISTOGRAM_H
#define MWS_CORE_HISTOGRAM_H
#include <stdint.h>

#define MWS__HIST_BUCKETS 512

typedef struct mws__histogram {
	uint64_t counts[MWS__HIST_BUCKETS];
	uint64_t total;
	uint64_t sum;
	uint64_t max;
} mws__histogram;

void mws__hist_init(mws__histogram *h);
void mws__hist_add(mws__histogram *h, uint64_t value);
/* The value at quantile q in [0, 1] (0 when empty): an upper bound of the
 * bucket holding it, never above the largest value recorded. */
uint64_t mws__hist_quantile(const mws__histogram *h, double q);

#endif
