/* Throughput and round trip of the managed client against an echo server.
 *
 *   client_bench URL throughput COUNT SIZE
 *   client_bench URL rtt COUNT SIZE
 *
 * Prints one line of key=value pairs; bench/run.sh puts it beside the same
 * figures for other clients and servers measured in the same run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

typedef struct bench {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long received;
	int connected;
} bench;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	bench *b = ud;
	pthread_mutex_lock(&b->lock);
	b->connected = ch->to == MWS_STATE_CONNECTED;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static void on_message(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	(void)c, (void)d, (void)n, (void)t;
	bench *b = ud;
	pthread_mutex_lock(&b->lock);
	b->received++;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Waits until `received` reaches n; 0 on success, -1 after 60 s. */
static int wait_received(bench *b, long n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&b->lock);
	while (b->received < n)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until))
			break;
	int ok = b->received >= n;
	pthread_mutex_unlock(&b->lock);
	return ok ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s URL throughput|rtt COUNT SIZE\n", argv[0]);
		return 2;
	}
	const char *url = argv[1], *mode = argv[2];
	long count = atol(argv[3]);
	size_t size = (size_t)atol(argv[4]);
	if (count <= 0 || count > 10000000 || size > (1u << 20)) {
		fprintf(stderr, "COUNT in 1..10^7, SIZE up to 1 MiB\n");
		return 2;
	}
	bench b = {.received = 0};
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.queue_max_messages = 65536;
	cfg.queue_max_bytes = 64u << 20;
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	mws_client *c;
	if (mws_client_new(&c, NULL, url, &cfg)) {
		fprintf(stderr, "bad URL\n");
		return 2;
	}
	mws_client_callbacks cbs = {sizeof cbs, on_state, on_message, NULL};
	mws_client_set_callbacks(c, &cbs, &b, NULL);
	mws_client_connect(c);
	pthread_mutex_lock(&b.lock);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (!b.connected && !pthread_cond_timedwait(&b.cond, &b.lock, &until))
		;
	int connected = b.connected;
	pthread_mutex_unlock(&b.lock);
	if (!connected) {
		fprintf(stderr, "could not connect to %s\n", url);
		return 1;
	}
	char *payload = malloc(size ? size : 1);
	memset(payload, 'x', size);
	int rc = 0;

	if (!strcmp(mode, "throughput")) {
		double t0 = now_s();
		long refused = 0;
		for (long i = 0; i < count; i++) {
			/* A full queue is the library pushing back: wait for room. */
			while (mws_client_send(c, payload, size, MWS_MSG_BINARY) == MWS_EQUEUEFULL) {
				refused++;
				nanosleep(&(struct timespec){0, 20000}, NULL);
			}
		}
		rc = wait_received(&b, count);
		double secs = now_s() - t0;
		printf("client=managedws mode=throughput msgs=%ld size=%zu seconds=%.3f "
		       "msg_per_s=%.0f mb_per_s=%.1f queue_full_waits=%ld%s\n",
		       count, size, secs, count / secs, count * (double)size / secs / 1e6,
		       refused, rc ? " INCOMPLETE" : "");
	} else {
		double *rtt = malloc(sizeof *rtt * (size_t)count);
		for (long i = 0; i < count && rc == 0; i++) {
			double t0 = now_s();
			mws_client_send(c, payload, size, MWS_MSG_BINARY);
			rc = wait_received(&b, i + 1);
			rtt[i] = (now_s() - t0) * 1e6;
		}
		qsort(rtt, (size_t)count, sizeof *rtt, cmp_double);
		printf("client=managedws mode=rtt msgs=%ld size=%zu p50_us=%.1f p90_us=%.1f "
		       "p99_us=%.1f%s\n",
		       count, size, rtt[count / 2], rtt[count * 9 / 10], rtt[count * 99 / 100],
		       rc ? " INCOMPLETE" : "");
		free(rtt);
	}
	free(payload);
	mws_client_free(c);
	return rc ? 1 : 0;
}
