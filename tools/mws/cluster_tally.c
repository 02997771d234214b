/* The per-client tally of mws cluster-client. */
#include "cluster_tally.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tally_init(cluster_tally *t, unsigned index, uint64_t cap)
{
	memset(t, 0, sizeof *t);
	t->index = index;
	t->cap = cap;
	t->seen = calloc(cap, 1);
	pthread_mutex_init(&t->lock, NULL);
	return t->seen ? 0 : -1;
}

void tally_free(cluster_tally *t)
{
	free(t->seen);
	free(t->away);
	free(t->tick_at);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof *t);
}

size_t tally_format(const cluster_tally *t, uint64_t n, size_t size, char *buf, size_t cap)
{
	int len = snprintf(buf, cap, "c=%u n=%" PRIu64, t->index, n);
	size_t l = len < 0 ? 0 : (size_t)len >= cap ? cap - 1 : (size_t)len;

	/* Padding makes the messages the size asked for, without changing
	 * what the parser reads (it stops at the number). */
	if (size > l && size < cap) {
		memset(buf + l, '.', size - l);
		l = size;
		buf[l] = '\0';
	}
	return l;
}

/* Ticks number a stream the server started before the clients came; the
 * report decides which window of it every client must have. Numbers are
 * bounded so that a bad one cannot grow the map far. */
#define TICK_MAX (1u << 20)

static int tick_room(cluster_tally *t, uint64_t n)
{
	if (n < t->tick_cap)
		return 1;
	uint64_t cap = t->tick_cap ? t->tick_cap : 1024;
	while (cap <= n)
		cap *= 2;
	uint64_t *p = realloc(t->tick_at, cap * sizeof *p);
	if (!p)
		return 0;
	memset(p + t->tick_cap, 0, (cap - t->tick_cap) * sizeof *p);
	t->tick_at = p;
	t->tick_cap = cap;
	return 1;
}

static void tick_received(cluster_tally *t, uint64_t n, uint64_t now_ms)
{
	if (t->stop_ms && now_ms >= t->stop_ms)
		return;
	if (n < 1 || n >= TICK_MAX || !tick_room(t, n)) {
		t->foreign++;
		return;
	}
	if (t->tick_at[n]) {
		t->tick_dup++;
		return;
	}
	t->tick_at[n] = now_ms ? now_ms : 1;
	t->ticks++;
	if (t->watch_from_ms && now_ms >= t->watch_from_ms && !t->tick_watched)
		t->tick_watched = n;
	if (n < t->tick_max)
		t->tick_reordered++;
	else
		t->tick_max = n;
}

void tally_watch_ticks(cluster_tally *t, uint64_t from_ms, uint64_t stop_ms)
{
	pthread_mutex_lock(&t->lock);
	if (from_ms)
		t->watch_from_ms = from_ms;
	if (stop_ms)
		t->stop_ms = stop_ms;
	pthread_mutex_unlock(&t->lock);
}

void tally_tick_ends(cluster_tally *t, uint64_t *watched, uint64_t *max)
{
	pthread_mutex_lock(&t->lock);
	*watched = t->tick_watched;
	*max = t->tick_max;
	pthread_mutex_unlock(&t->lock);
}

void tally_received(cluster_tally *t, const void *data, size_t len, uint64_t now_ms)
{
	char text[48];
	unsigned index;
	unsigned long long n;
	size_t take = len < sizeof text - 1 ? len : sizeof text - 1;

	memcpy(text, data, take);
	text[take] = '\0';
	if (sscanf(text, "tick=%llu", &n) == 1) {
		pthread_mutex_lock(&t->lock);
		tick_received(t, n, now_ms);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	int ok = sscanf(text, "c=%u n=%llu", &index, &n) == 2 && index == t->index && n >= 1 &&
	         n < t->cap;
	pthread_mutex_lock(&t->lock);
	if (!ok)
		t->foreign++;
	else if (t->seen[n]) {
		t->duplicated++;
		if (t->seen[n] < 255)
			t->seen[n]++;
	} else {
		t->seen[n] = 1;
		t->delivered++;
		if (n < t->max_seen)
			t->reordered++;
		else
			t->max_seen = n;
	}
	pthread_mutex_unlock(&t->lock);
}

void tally_state(cluster_tally *t, const mws_state_change *c, uint64_t now_ms)
{
	pthread_mutex_lock(&t->lock);
	if (c->from == MWS_STATE_CONNECTED && c->to != MWS_STATE_CONNECTED)
		t->down_at_ms = now_ms ? now_ms : 1;
	if (c->to == MWS_STATE_CONNECTED) {
		t->connected = 1;
		if (c->session == MWS_SESSION_RESUMED)
			t->resumes++;
		else if (c->session == MWS_SESSION_LOST)
			t->sessions_lost++;
		if (t->down_at_ms) {
			if (t->naway == t->away_cap) {
				uint32_t ncap = t->away_cap ? t->away_cap * 2 : 16;
				uint64_t *p = realloc(t->away, ncap * 2 * sizeof *p);
				if (p) {
					t->away = p;
					t->away_cap = ncap;
				}
			}
			if (t->naway < t->away_cap) {
				t->away[2 * t->naway] = t->down_at_ms;
				t->away[2 * t->naway + 1] = now_ms;
				t->naway++;
			}
			t->down_at_ms = 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int tally_settled(cluster_tally *t)
{
	pthread_mutex_lock(&t->lock);
	int settled = t->delivered >= t->next_number;
	pthread_mutex_unlock(&t->lock);
	return settled;
}

static uint64_t tick_time(const cluster_tally *t, uint64_t k)
{
	return k < t->tick_cap ? t->tick_at[k] : 0;
}

/* The client's own tick period: from the first and last tick it received,
 * 0 when it cannot tell. */
static uint64_t tick_period(const cluster_tally *t)
{
	uint64_t first = 0, last = 0;
	for (uint64_t k = 1; k < t->tick_cap && k <= t->tick_max; k++)
		if (t->tick_at[k]) {
			if (!first)
				first = k;
			last = k;
		}
	if (last <= first || t->tick_at[last] <= t->tick_at[first])
		return 0;
	return (t->tick_at[last] - t->tick_at[first]) / (last - first);
}

/* How many of the ticks a..b went missing while the client was between
 * connections: the time its reconnections overlap, from the tick received
 * before them (or from_ms) to the one received after (or now), in tick
 * periods, plus 2 (one in flight when the connection ended, one sent while
 * the next handshake was under way). The rest went missing while it was
 * connected. */
static uint64_t missed_while_away(const cluster_tally *t, uint64_t a, uint64_t b,
                                  uint64_t period)
{
	uint64_t before = t->watch_from_ms, after = UINT64_MAX, away = 0;
	for (uint64_t k = a; k-- > 1;)
		if (tick_time(t, k)) {
			before = tick_time(t, k);
			break;
		}
	for (uint64_t k = b + 1; k < t->tick_cap; k++)
		if (t->tick_at[k]) {
			after = t->tick_at[k];
			break;
		}
	for (uint32_t i = 0; i <= t->naway; i++) {
		uint64_t from = i < t->naway ? t->away[2 * i] : t->down_at_ms;
		uint64_t to = i < t->naway ? t->away[2 * i + 1] : UINT64_MAX;
		if (i == t->naway && !t->down_at_ms)
			break;
		from = from > before ? from : before;
		to = to < after ? to : after;
		if (to > from && to != UINT64_MAX)
			away += to - from;
	}
	if (!period || (!away && !(t->down_at_ms && t->down_at_ms < after)))
		return 0;
	uint64_t n = (away + period - 1) / period + 2;
	return n < b - a + 1 ? n : b - a + 1;
}

/* A gap that counts as lost, on stderr with what it was judged by, so that
 * a failed run says which ticks and when. */
static void report_gap(const cluster_tally *t, uint64_t a, uint64_t b, uint64_t between,
                       uint64_t period)
{
	uint64_t before = 0, after = 0;
	for (uint64_t k = a; k-- > 1 && !before;)
		before = tick_time(t, k);
	for (uint64_t k = b + 1; k < t->tick_cap && !after; k++)
		after = t->tick_at[k];
	fprintf(stderr, "client %u: ticks %" PRIu64 "..%" PRIu64 " missing (%" PRIu64
	        " put down to reconnections): the one before arrived at %" PRIu64
	        " ms, the one after at %" PRIu64 " ms, period %" PRIu64 " ms; reconnections:",
	        t->index, a, b, between, before, after, period);
	for (uint32_t i = 0; i < t->naway; i++)
		fprintf(stderr, " %" PRIu64 "..%" PRIu64, t->away[2 * i], t->away[2 * i + 1]);
	fprintf(stderr, "%s\n", t->naway ? "" : " none");
}

void tally_counts(cluster_tally *t, uint64_t tick_from, uint64_t tick_to, cluster_counts *out)
{
	mws_client_stats st = {.size = sizeof st};

	memset(out, 0, sizeof *out);
	if (t->client && mws_client_stats_get(t->client, &st) == 0) {
		out->replayed = st.replayed;
		out->dups_dropped = st.duplicates_dropped;
	}
	pthread_mutex_lock(&t->lock);
	out->sent = t->next_number;
	out->delivered = t->delivered;
	out->lost = t->next_number > t->delivered ? t->next_number - t->delivered : 0;
	out->duplicated = t->duplicated;
	out->reordered = t->reordered;
	out->foreign = t->foreign;
	out->resumes = t->resumes;
	out->sessions_lost = t->sessions_lost;
	out->connected = t->connected;
	out->ticks = t->ticks;
	uint64_t period = tick_period(t);
	for (uint64_t k = tick_from; tick_from && k <= tick_to;) {
		if (k < t->tick_cap && t->tick_at[k]) {
			k++;
			continue;
		}
		uint64_t a = k;
		while (k <= tick_to && (k >= t->tick_cap || !t->tick_at[k]))
			k++;
		uint64_t between = missed_while_away(t, a, k - 1, period);
		out->ticks_lost += k - a;
		out->ticks_between += between;
		if (between < k - a)
			report_gap(t, a, k - 1, between, period);
	}
	out->ticks_duplicated = t->tick_dup;
	out->ticks_reordered = t->tick_reordered;
	pthread_mutex_unlock(&t->lock);
	out->send_errors = t->send_errors;
}

int tally_resume_times(cluster_tally *t, uint32_t **all, uint32_t *n)
{
	pthread_mutex_lock(&t->lock);
	uint32_t *p = t->naway ? realloc(*all, (*n + t->naway) * sizeof *p) : *all;
	if (p) {
		for (uint32_t i = 0; i < t->naway; i++)
			p[*n + i] = (uint32_t)(t->away[2 * i + 1] - t->away[2 * i]);
		*all = p;
		*n += t->naway;
	}
	pthread_mutex_unlock(&t->lock);
	return p || !t->naway ? 0 : -1;
}
