/* Round-trip time of one mws.v1 message echoed by our server, with the
 * sessions in memory and in Redis, side by side: what the Redis store adds
 * per message (it saves before each write and after each receive).
 *
 *   build/bench/store_latency [redis://127.0.0.1:6379/0] [messages]
 *
 * One message in flight at a time, 64 bytes, on loopback; prints the
 * median and p99 of each and the difference. Needs a running Redis for the
 * second half (without a URL only memory is measured). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "managedws.h"

static atomic_int g_got;
static atomic_int g_connected;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void echo(mws_server *s, mws_conn_id id, const void *d, size_t n, int t, void *u)
{
	(void)u;
	mws_server_send(s, id, d, n, t);
}

static void got(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)d, (void)n, (void)t, (void)u;
	atomic_fetch_add(&g_got, 1);
}

static void state(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c, (void)u;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_store(&g_connected, 1);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Median and p99 in microseconds; -1 on failure. */
static int measure(const char *url, int n, uint64_t *p50, uint64_t *p99)
{
	mws_ctx *ctx = NULL;
	mws_server *srv = NULL;
	mws_client *cli = NULL;
	int rc = -1;
	uint64_t *rtt = calloc((size_t)n, sizeof *rtt);
	if (!rtt || mws_ctx_new(&ctx, NULL))
		goto out;
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.iface = "127.0.0.1";
	sc.session_store_url = url;
	int e = mws_server_new(&srv, ctx, &sc);
	if (e) {
		fprintf(stderr, "server: %s\n", mws_strerror(e));
		goto out;
	}
	mws_server_callbacks scb = {sizeof scb};
	scb.on_message = echo;
	if (mws_server_set_callbacks(srv, &scb, NULL, NULL) || mws_server_start(srv))
		goto out;
	char wsurl[64];
	snprintf(wsurl, sizeof wsurl, "ws://127.0.0.1:%d/", mws_server_port(srv));
	if (mws_client_new(&cli, ctx, wsurl, NULL))
		goto out;
	mws_client_callbacks ccb = {sizeof ccb};
	ccb.on_message = got;
	ccb.on_state = state;
	atomic_store(&g_connected, 0);
	atomic_store(&g_got, 0);
	if (mws_client_set_callbacks(cli, &ccb, NULL, NULL) || mws_client_connect(cli))
		goto out;
	for (int i = 0; i < 5000 && !atomic_load(&g_connected); i++)
		usleep(1000);
	unsigned char msg[64] = {0};
	for (int i = 0; i < n; i++) {
		int want = atomic_load(&g_got) + 1;
		uint64_t t0 = now_us();
		if (mws_client_send(cli, msg, sizeof msg, MWS_MSG_BINARY))
			goto out;
		while (atomic_load(&g_got) < want) {
			if (now_us() - t0 > 5000000u)
				goto out;
		}
		rtt[i] = now_us() - t0;
	}
	qsort(rtt, (size_t)n, sizeof *rtt, cmp);
	*p50 = rtt[n / 2];
	*p99 = rtt[n * 99 / 100];
	rc = 0;
out:
	mws_client_free(cli);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	free(rtt);
	return rc;
}

int main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	int n = argc > 2 ? atoi(argv[2]) : 5000;
	if (n < 100)
		n = 100;
	uint64_t m50, m99, r50, r99;
	if (measure(NULL, n, &m50, &m99)) {
		fprintf(stderr, "store_latency: the memory run failed\n");
		return 1;
	}
	printf("memory: %d round trips, median %" PRIu64 " us, p99 %" PRIu64 " us\n", n, m50, m99);
	if (!url)
		return 0;
	if (measure(url, n, &r50, &r99)) {
		fprintf(stderr, "store_latency: the Redis run failed\n");
		return 1;
	}
	printf("redis:  %d round trips, median %" PRIu64 " us, p99 %" PRIu64 " us\n", n, r50, r99);
	printf("added by the Redis store: median %+" PRId64 " us, p99 %+" PRId64 " us\n",
	       (int64_t)(r50 - m50), (int64_t)(r99 - m99));
	return 0;
}
