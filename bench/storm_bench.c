/* The clients of the reconnect storm: N managed clients on one context.
 *
 *   storm_bench URL N TIMEOUT_S
 *
 * Connects all, prints "READY n" (n connected within TIMEOUT_S), then waits
 * until every client has connected a second time (bench/run.sh restarts
 * the server in between) or TIMEOUT_S more passes, prints
 * "RECONNECTED n seconds", and exits. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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
	cc.fd_limit = (int)n + 256;
	mws_ctx *ctx;
	if (mws_ctx_new(&ctx, &cc)) {
		fprintf(stderr, "cannot create the context\n");
		return 1;
	}
	mws_client **cs = calloc((size_t)n, sizeof *cs);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	mws_client_callbacks cbs = {sizeof cbs, on_state, NULL, NULL};
	for (long i = 0; i < n; i++) {
		if (mws_client_new(&cs[i], ctx, argv[1], &cfg)) {
			fprintf(stderr, "bad URL\n");
			return 2;
		}
		mws_client_set_callbacks(cs[i], &cbs, NULL, NULL);
		mws_client_connect(cs[i]);
	}
	printf("READY %ld\n", wait_connects(n, timeout));
	fflush(stdout);
	double t0 = now_s();
	long got = wait_connects(2 * n, timeout) - n;
	printf("RECONNECTED %ld %.3f\n", got, now_s() - t0);
	fflush(stdout);
	for (long i = 0; i < n; i++)
		mws_client_free(cs[i]);
	free(cs);
	mws_ctx_free(ctx);
	return 0;
}
