/* The clients of the reconnect storm: N managed clients on one context.
 *
 *   storm_bench URL N TIMEOUT_S
 *
 * Connects all (STEP at a time), prints "READY n" (n connected within
 * TIMEOUT_S), then waits
 * until every client has connected a second time (bench/run.sh restarts
 * the server in between) or TIMEOUT_S more passes, prints
 * "RECONNECTED n seconds failed | count reason | ..." (failed: attempts
 * since READY that did not connect, e.g. refused before the new server
 * listened; then the first reasons seen, counted), and exits. Before that
 * line, "LATE ..." lines tell the story of the last clients back: each
 * drop since READY as "t_ms:delay_ms:reason", then "back t_ms" (ms from
 * READY), so a straggler's cause is read, not guessed. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

enum { STEP = 250 }; /* clients connected at once before READY */

static atomic_long connects;
static atomic_long failed; /* CONNECTING -> RECONNECTING: an attempt that failed */

/* Why attempts failed: the first distinct reasons, counted. */
enum { WHYS = 8 };
static struct { char text[64]; long n; } whys[WHYS];
static pthread_mutex_t why_lock = PTHREAD_MUTEX_INITIALIZER;

static void count_why(const char *reason)
{
	pthread_mutex_lock(&why_lock);
	for (int i = 0; i < WHYS; i++) {
		if (!whys[i].n)
			snprintf(whys[i].text, sizeof whys[i].text, "%s", reason);
		if (!strncmp(whys[i].text, reason, sizeof whys[i].text - 1)) {
			whys[i].n++;
			break;
		}
	}
	pthread_mutex_unlock(&why_lock);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each client's drops and return after READY (its user data). */
enum { DROPS = 6, LATE = 8 };
typedef struct story {
	int drops;
	struct { long t_ms, delay_ms; char why[40]; } drop[DROPS];
	long back_ms; /* -1 until connected again */
} story;
static atomic_int armed;
static double t_ready;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	story *st = ud;
	long t = atomic_load(&armed) ? (long)((now_s() - t_ready) * 1000) : -1;
	if (ch->to == MWS_STATE_CONNECTED) {
		atomic_fetch_add(&connects, 1);
		if (t >= 0)
			st->back_ms = t;
	} else if (ch->from == MWS_STATE_CONNECTING && ch->to == MWS_STATE_RECONNECTING) {
		atomic_fetch_add(&failed, 1);
		count_why(ch->reason);
	}
	if (t >= 0 && ch->to == MWS_STATE_RECONNECTING && st->drops < DROPS) {
		st->drop[st->drops].t_ms = t;
		st->drop[st->drops].delay_ms = ch->retry_delay_ms;
		snprintf(st->drop[st->drops].why, sizeof st->drop[0].why, "%s", ch->reason);
		st->drops++;
	}
}

static long back_key(const story *st)
{
	return st->back_ms < 0 ? LONG_MAX : st->back_ms; /* never back: latest */
}

/* The LATE clients that came back last (or not at all), one line each. */
static void print_late(const story *ss, long n)
{
	long pick[LATE];
	int k = 0;
	for (; k < LATE && k < n; k++) { /* LATE passes over n: cheap */
		long best = -1;
		for (long i = 0; i < n; i++) {
			int taken = 0;
			for (int j = 0; j < k; j++)
				taken |= pick[j] == i;
			if (!taken && (best < 0 || back_key(&ss[i]) > back_key(&ss[best])))
				best = i;
		}
		pick[k] = best;
	}
	for (int j = 0; j < k; j++) {
		const story *st = &ss[pick[j]];
		printf("LATE back %ld |", st->back_ms);
		for (int d = 0; d < st->drops; d++)
			printf(" %ld:%ld:%s;", st->drop[d].t_ms, st->drop[d].delay_ms, st->drop[d].why);
		printf("\n");
	}
}

/* Waits until `connects` reaches target or timeout_s passes. */
static long wait_connects(long target, double timeout_s)
{
	double until = now_s() + timeout_s;
	while (atomic_load(&connects) < target && now_s() < until)
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	return atomic_load(&connects);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s URL N TIMEOUT_S\n", argv[0]);
		return 2;
	}
	long n = atol(argv[2]);
	double timeout = atof(argv[3]);
	if (n <= 0 || n > 100000 || timeout <= 0) {
		fprintf(stderr, "N in 1..100000, TIMEOUT_S > 0\n");
		return 2;
	}
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	/* fd_limit stays 0 (the process's limit): a smaller one makes
	 * libwebsockets 4.1.6 find each socket by a linear search. */
	mws_ctx *ctx;
	if (mws_ctx_new(&ctx, &cc)) {
		fprintf(stderr, "cannot create the context\n");
		return 1;
	}
	mws_client **cs = calloc((size_t)n, sizeof *cs);
	story *ss = calloc((size_t)n, sizeof *ss);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	mws_client_callbacks cbs = {sizeof cbs, on_state, NULL, NULL};
	for (long i = 0; i < n; i++) {
		if (mws_client_new(&cs[i], ctx, argv[1], &cfg)) {
			fprintf(stderr, "bad URL\n");
			return 2;
		}
		ss[i].back_ms = -1;
		mws_client_set_callbacks(cs[i], &cbs, &ss[i], NULL);
	}
	/* In steps: libwebsockets 4.1.6 keeps every pending timeout of a
	 * context in one sorted list (insertion walks it), so thousands of
	 * handshakes started at once starve the I/O thread. The storm that is
	 * measured comes later and is spread by the server's hints. */
	double until = now_s() + timeout;
	for (long i = 0; i < n; i++) {
		mws_client_connect(cs[i]);
		if ((i + 1) % STEP == 0 || i + 1 == n)
			wait_connects(i + 1, until - now_s());
	}
	t_ready = now_s();
	atomic_store(&armed, 1);
	printf("READY %ld\n", atomic_load(&connects));
	fflush(stdout);
	double t0 = t_ready;
	long failed0 = atomic_load(&failed);
	long got = wait_connects(2 * n, timeout) - n;
	atomic_store(&armed, 0);
	print_late(ss, n);
	printf("RECONNECTED %ld %.3f %ld", got, now_s() - t0, atomic_load(&failed) - failed0);
	pthread_mutex_lock(&why_lock);
	for (int i = 0; i < WHYS && whys[i].n; i++)
		printf(" | %ld %s", whys[i].n, whys[i].text);
	pthread_mutex_unlock(&why_lock);
	printf("\n");
	fflush(stdout);
	for (long i = 0; i < n; i++)
		mws_client_free(cs[i]);
	free(cs);
	free(ss);
	mws_ctx_free(ctx);
	return 0;
}
