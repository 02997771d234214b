/* Prometheus text format writer. */
#include "metrics_text.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mws__mt_init(mws__mt *mt) { memset(mt, 0, sizeof *mt); }

void mws__mt_free(mws__mt *mt)
{
	free(mt->buf);
	mws__mt_init(mt);
}

char *mws__mt_take(mws__mt *mt, size_t *len)
{
	char *text = mt->oom ? NULL : mt->buf;
	if (len)
		*len = text ? mt->len : 0;
	if (!text)
		free(mt->buf);
	mws__mt_init(mt);
	return text;
}

static void mws__mt_printf(mws__mt *mt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mws__mt_printf(mws__mt *mt, const char *fmt, ...)
{
	if (mt->oom)
		return;
	for (;;) {
		size_t room = mt->cap - mt->len;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(mt->buf ? mt->buf + mt->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			mt->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			mt->len += (size_t)n;
			return;
		}
		size_t cap = mt->cap ? mt->cap * 2 : 1024;
		while (cap < mt->len + (size_t)n + 1)
			cap *= 2;
		char *grown = realloc(mt->buf, cap);
		if (!grown) {
			mt->oom = 1;
			return;
		}
		mt->buf = grown;
		mt->cap = cap;
	}
}

void mws__mt_family(mws__mt *mt, const char *name, const char *type, const char *help)
{
	mws__mt_printf(mt, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void mws__mt_u64(mws__mt *mt, const char *name, const char *labels, uint64_t value)
{
	if (labels)
		mws__mt_printf(mt, "%s{%s} %" PRIu64 "\n", name, labels, value);
	else
		mws__mt_printf(mt, "%s %" PRIu64 "\n", name, value);
}

/* The shortest of %.15g and %.17g that reads back as the same double, so
 * 0.1 prints as "0.1". */
static void mws__mt_num(char *out, size_t cap, double v)
{
	snprintf(out, cap, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, cap, "%.17g", v);
}

void mws__mt_double(mws__mt *mt, const char *name, const char *labels, double value)
{
	char num[40];
	mws__mt_num(num, sizeof num, value);
	if (labels)
		mws__mt_printf(mt, "%s{%s} %s\n", name, labels, num);
	else
		mws__mt_printf(mt, "%s %s\n", name, num);
}

void mws__ph_init(mws__prom_hist *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof *h);
	if (n > MWS__PROM_HIST_MAX)
		n = MWS__PROM_HIST_MAX;
	memcpy(h->bounds, bounds, n * sizeof *bounds);
	h->nbounds = n;
}

void mws__ph_observe(mws__prom_hist *h, double value)
{
	for (size_t i = 0; i < h->nbounds; i++) {
		if (value <= h->bounds[i]) {
			h->counts[i]++;
			break;
		}
	}
	h->count++;
	h->sum += value;
}

void mws__mt_histogram(mws__mt *mt, const char *name, const char *help,
                       const mws__prom_hist *h)
{
	char series[160], labels[64], num[40];
	mws__mt_family(mt, name, "histogram", help);
	snprintf(series, sizeof series, "%s_bucket", name);
	uint64_t cumulative = 0;
	for (size_t i = 0; i < h->nbounds; i++) {
		cumulative += h->counts[i];
		mws__mt_num(num, sizeof num, h->bounds[i]);
		snprintf(labels, sizeof labels, "le=\"%s\"", num);
		mws__mt_u64(mt, series, labels, cumulative);
	}
	mws__mt_u64(mt, series, "le=\"+Inf\"", h->count);
	snprintf(series, sizeof series, "%s_sum", name);
	mws__mt_double(mt, series, NULL, h->sum);
	snprintf(series, sizeof series, "%s_count", name);
	mws__mt_u64(mt, series, NULL, h->count);
}
