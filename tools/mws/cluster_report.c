/* The report of mws cluster-client. */
#include "cluster_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void add(cluster_counts *sum, const cluster_counts *c)
{
	sum->sent += c->sent;
	sum->delivered += c->delivered;
	sum->lost += c->lost;
	sum->duplicated += c->duplicated;
	sum->reordered += c->reordered;
	sum->foreign += c->foreign;
	sum->resumes += c->resumes;
	sum->sessions_lost += c->sessions_lost;
	sum->send_errors += c->send_errors;
	sum->replayed += c->replayed;
	sum->dups_dropped += c->dups_dropped;
	sum->connected += c->connected;
	sum->ticks += c->ticks;
	sum->ticks_lost += c->ticks_lost;
	sum->ticks_between += c->ticks_between;
	sum->ticks_duplicated += c->ticks_duplicated;
	sum->ticks_reordered += c->ticks_reordered;
}

/* p50 and max of the times (sorted in place); 0, 0 when there are none. */
static void times(uint32_t *v, uint32_t n, uint32_t *p50, uint32_t *max)
{
	*p50 = *max = 0;
	if (!n)
		return;
	qsort(v, n, sizeof *v, cmp_u32);
	*p50 = v[(n - 1) / 2];
	*max = v[n - 1];
}

/* One line; index < 0 is the total. */
static void line(FILE *out, int json, int index, const cluster_counts *c, uint32_t nres,
                 uint32_t p50, uint32_t max)
{
	char who[64];

	if (json) {
		if (index < 0)
			snprintf(who, sizeof who, "\"event\":\"total\"");
		else
			snprintf(who, sizeof who, "\"event\":\"client\",\"client\":%d", index);
		fprintf(out,
		        "{%s,\"sent\":%" PRIu64 ",\"delivered\":%" PRIu64
		        ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64
		        ",\"foreign\":%" PRIu64 ",\"resumes\":%" PRIu64 ",\"sessions_lost\":%" PRIu64
		        ",\"reconnections\":%u,\"reconnect_p50_ms\":%u,\"reconnect_max_ms\":%u"
		        ",\"send_errors\":%" PRIu64 ",\"replayed\":%" PRIu64
		        ",\"duplicates_dropped\":%" PRIu64 ",\"connected\":%d,\"ticks\":%" PRIu64
		        ",\"ticks_lost\":%" PRIu64 ",\"ticks_lost_between_connections\":%" PRIu64
		        ",\"ticks_duplicated\":%" PRIu64
		        ",\"ticks_reordered\":%" PRIu64 "}\n",
		        who, c->sent, c->delivered, c->lost, c->duplicated, c->reordered, c->foreign,
		        c->resumes, c->sessions_lost, nres, p50, max, c->send_errors, c->replayed,
		        c->dups_dropped, c->connected, c->ticks, c->ticks_lost, c->ticks_between,
		        c->ticks_duplicated,
		        c->ticks_reordered);
		return;
	}
	if (index < 0)
		snprintf(who, sizeof who, "TOTAL");
	else
		snprintf(who, sizeof who, "client %d", index);
	fprintf(out,
	        "%-9s sent=%-6" PRIu64 " delivered=%-6" PRIu64 " lost=%-4" PRIu64 " dup=%-4" PRIu64
	        " reordered=%-4" PRIu64 " resumes=%-3" PRIu64 " sessions_lost=%-3" PRIu64
	        " resume_ms p50=%-5u max=%-5u ticks=%" PRIu64 "/lost=%" PRIu64 "(between=%" PRIu64
	        ")/dup=%" PRIu64 "/reordered=%" PRIu64 "%s%s\n",
	        who, c->sent, c->delivered, c->lost, c->duplicated, c->reordered, c->resumes,
	        c->sessions_lost, p50, max, c->ticks, c->ticks_lost, c->ticks_between,
	        c->ticks_duplicated,
	        c->ticks_reordered, c->foreign ? " FOREIGN" : "", c->send_errors ? " SEND-ERRORS" : "");
}

/* The window of ticks every client must have; 0, 0 when there is none. */
static void tick_window(cluster_tally *tallies, unsigned n, uint64_t *from, uint64_t *to)
{
	uint64_t first = 0, last = 0, w, m;

	for (unsigned i = 0; i < n; i++) {
		tally_tick_ends(&tallies[i], &w, &m);
		if (w && (!first || w < first))
			first = w;
		if (m > last)
			last = m;
	}
	*from = *to = 0;
	if (first && last >= first + TICK_SLACK) {
		*from = first;
		*to = last - TICK_SLACK;
	}
}

int cluster_report(FILE *out, cluster_tally *tallies, unsigned n, int json, int expect_ticks)
{
	cluster_counts sum = {0}, c;
	uint32_t *all = NULL, nall = 0, p50, max;
	uint64_t tick_from, tick_to, no_ticks = 0;

	tick_window(tallies, n, &tick_from, &tick_to);

	for (unsigned i = 0; i < n; i++) {
		uint32_t *mine = NULL, nmine = 0;
		tally_counts(&tallies[i], tick_from, tick_to, &c);
		add(&sum, &c);
		no_ticks += c.ticks == 0;
		tally_resume_times(&tallies[i], &mine, &nmine);
		tally_resume_times(&tallies[i], &all, &nall);
		times(mine, nmine, &p50, &max);
		free(mine);
		line(out, json, (int)i, &c, nmine, p50, max);
	}
	times(all, nall, &p50, &max);
	line(out, json, -1, &sum, nall, p50, max);
	free(all);
	int pass = sum.connected == (int)n && sum.delivered > 0 && sum.lost == 0 &&
	           sum.duplicated == 0 && sum.reordered == 0 && sum.foreign == 0 &&
	           sum.send_errors == 0 && sum.sessions_lost == 0 &&
	           sum.ticks_lost == sum.ticks_between &&
	           sum.ticks_duplicated == 0 && sum.ticks_reordered == 0 &&
	           (!expect_ticks || (tick_from && !no_ticks));
	if (!json && expect_ticks)
		fprintf(out, "ticks every client must have: %" PRIu64 "..%" PRIu64 "%s; clients with "
		        "none: %" PRIu64 "\n", tick_from, tick_to, tick_from ? "" : " (none: FAIL)",
		        no_ticks);
	if (!json)
		fprintf(out,
		        "%s: %u clients, %" PRIu64 " sent, %" PRIu64 " lost, %" PRIu64
		        " duplicated, %" PRIu64 " reordered, %" PRIu64 " resumes, %" PRIu64
		        " sessions lost, %u reconnections (p50 %u ms, max %u ms); ticks: %" PRIu64
		        " received, %" PRIu64 " lost while connected, %" PRIu64
		        " missed between connections, %" PRIu64 " duplicated, %" PRIu64 " reordered\n",
		        pass ? "PASS" : "FAIL", n, sum.sent, sum.lost, sum.duplicated, sum.reordered,
		        sum.resumes, sum.sessions_lost, nall, p50, max, sum.ticks,
		        sum.ticks_lost - sum.ticks_between, sum.ticks_between, sum.ticks_duplicated,
		        sum.ticks_reordered);
	fflush(out);
	return pass;
}
