/* Idle connections from our own library, for the memory figure and the
 * 50k benchmark (bench/idle50k.sh): N clients on one context, every one
 * leaving from the source address SRC, heartbeats every HB_MS.
 *
 *   idle_bench URL N SRC [--plain] [--heartbeat MS] [--window N] [--timeout S]
 *
 * mws.v1 is offered (the server's sessions) unless --plain. Connects are
 * paced: at most --window (256) handshakes in flight. Prints "READY n
 * seconds" once n clients are connected (or --timeout, 300 s, passed),
 * then answers each line on stdin:
 *   stats  -> "STATS connected n managed n reconnects n heartbeats n
 *              rtt_p50_us x rtt_p99_us x rtt_max_us x" where rtt_p50_us is
 *              the median of the clients' medians and rtt_p99_us the 99th
 *              percentile of the clients' own 99th percentiles (each client
 *              holds every round trip of its heartbeats)
 * and at EOF closes every client and exits (SIGTERM just ends it). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

static atomic_long connects;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c, (void)ud;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&connects, 1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void print_stats(mws_client **cs, long n)
{
	uint32_t *p50 = calloc((size_t)n, sizeof *p50), *p99 = calloc((size_t)n, sizeof *p99);
	long connected = 0, managed = 0, k = 0;
	uint64_t reconnects = 0, heartbeats = 0;
	for (long i = 0; p50 && p99 && i < n; i++) {
		mws_client_stats st = {.size = sizeof st};
		if (mws_client_stats_get(cs[i], &st))
			continue;
		connected += st.state == MWS_STATE_CONNECTED;
		managed += st.managed;
		reconnects += st.reconnects;
		heartbeats += st.heartbeats_sent;
		if (st.rtt_p99_us) {
			p50[k] = st.rtt_p50_us;
			p99[k++] = st.rtt_p99_us;
		}
	}
	uint32_t m50 = 0, q99 = 0, max = 0;
	if (k) {
		qsort(p50, (size_t)k, sizeof *p50, cmp_u32);
		qsort(p99, (size_t)k, sizeof *p99, cmp_u32);
		m50 = p50[k / 2];
		q99 = p99[(k * 99) / 100];
		max = p99[k - 1];
	}
	printf("STATS connected %ld managed %ld reconnects %llu heartbeats %llu rtt_clients %ld "
	       "rtt_p50_us %u rtt_p99_us %u rtt_max_us %u\n",
	       connected, managed, (unsigned long long)reconnects, (unsigned long long)heartbeats, k,
	       m50, q99, max);
	fflush(stdout);
	free(p50);
	free(p99);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s URL N SRC [--plain] [--heartbeat MS] [--window N] "
		                "[--timeout S]\n", argv[0]);
		return 2;
	}
	long n = atol(argv[2]), window = 256;
	int plain = 0, hb_ms = 15000;
	double timeout = 300;
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--plain"))
			plain = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--heartbeat"))
			hb_ms = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--window"))
			window = atol(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--timeout"))
			timeout = atof(argv[++i]);
		else {
			fprintf(stderr, "bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (n <= 0 || n > 100000 || window <= 0 || hb_ms <= 0 || timeout <= 0) {
		fprintf(stderr, "N in 1..100000; --window, --heartbeat, --timeout > 0\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.fd_limit = (int)n + 256;
	mws_ctx *ctx;
	if (mws_ctx_new(&ctx, &cc)) {
		fprintf(stderr, "cannot create the context\n");
		return 1;
	}
	mws_client **cs = calloc((size_t)n, sizeof *cs);
	if (!cs)
		return 1;
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.local_address = argv[3];
	cfg.protocol_mode = plain ? MWS_PROTOCOL_PLAIN : MWS_PROTOCOL_OFFER;
	cfg.heartbeat_interval_ms = hb_ms;
	cfg.heartbeat_timeout_ms = 2 * hb_ms; /* a loaded 2-core machine: generous */
	cfg.connect_timeout_ms = 30000;
	cfg.handshake_timeout_ms = 30000;
	cfg.max_delay_ms = 5000; /* a refused or timed-out attempt comes back soon */
	mws_client_callbacks cbs = {sizeof cbs, on_state, NULL, NULL};
	double t0 = now_s(), until = t0 + timeout;
	long started = 0;
	while (atomic_load(&connects) < n && now_s() < until) {
		while (started < n && started - atomic_load(&connects) < window) {
			int rc = mws_client_new(&cs[started], ctx, argv[1], &cfg);
			if (!rc)
				rc = mws_client_set_callbacks(cs[started], &cbs, NULL, NULL);
			if (!rc)
				rc = mws_client_connect(cs[started]);
			if (rc) {
				fprintf(stderr, "client %ld: %s\n", started, mws_strerror(rc));
				return 1;
			}
			started++;
		}
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
	printf("READY %ld %.3f\n", atomic_load(&connects), now_s() - t0);
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin))
		if (!strncmp(line, "stats", 5))
			print_stats(cs, started);
	for (long i = 0; i < started; i++)
		mws_client_free(cs[i]);
	free(cs);
	mws_ctx_free(ctx);
	return 0;
}
