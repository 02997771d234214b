/* The Prometheus text exposition format (version 0.0.4): a growing buffer
 * with HELP/TYPE lines, samples, and cumulative histograms with fixed
 * bounds. Pure formatting: the caller supplies every number. */
#ifndef MWS_CORE_METRICS_TEXT_H
#define MWS_CORE_METRICS_TEXT_H
#include <stddef.h>
#include <stdint.h>

typedef struct mws__mt {
	char *buf;
	size_t len, cap;
	int oom; /* set once an append failed; the text is then incomplete */
} mws__mt;

void mws__mt_init(mws__mt *mt);
/* Hands the text to the caller (free() it); NULL after an allocation
 * failure. Leaves mt empty. */
char *mws__mt_take(mws__mt *mt, size_t *len);
void mws__mt_free(mws__mt *mt);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void mws__mt_family(mws__mt *mt, const char *name, const char *type, const char *help);
/* name{labels} value; `labels` is the inside of the braces (already
 * escaped, e.g. `reason="auth"`), or NULL. */
void mws__mt_u64(mws__mt *mt, const char *name, const char *labels, uint64_t value);
void mws__mt_double(mws__mt *mt, const char *name, const char *labels, double value);

#define MWS__PROM_HIST_MAX 24

/* Counts per upper bound (le); observations above the last bound only
 * count toward +Inf. */
typedef struct mws__prom_hist {
	double bounds[MWS__PROM_HIST_MAX];
	size_t nbounds;
	uint64_t counts[MWS__PROM_HIST_MAX]; /* not cumulative */
	uint64_t count;
	double sum;
} mws__prom_hist;

/* Bounds must be increasing; at most MWS__PROM_HIST_MAX (extra are cut). */
void mws__ph_init(mws__prom_hist *h, const double *bounds, size_t n);
void mws__ph_observe(mws__prom_hist *h, double value);
/* The family's HELP/TYPE, then name_bucket{le=...}, name_sum, name_count. */
void mws__mt_histogram(mws__mt *mt, const char *name, const char *help,
                       const mws__prom_hist *h);

#endif
