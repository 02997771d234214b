/* Throughput and round trip of the managed client.
 *
 *   client_bench URL throughput COUNT SIZE [plain|v1]
 *   client_bench URL rtt|rtt_cb COUNT SIZE [plain|v1]
 *
 * throughput: COUNT binary messages, then a text "__sync"; the clock stops
 * when a text message comes back (a sink server answers with its count, an
 * echo server echoes it), so the same run works against both.
 * rtt: send from the app thread, wait for the echo there. rtt_cb: the next
 * message leaves from inside on_message (the I/O thread).
 * plain (the default) speaks plain WebSocket, one frame per message; v1
 * requires mws.v1 (our server): numbered, acknowledged, batched.
 * Prints one JSON line; bench/run.sh puts it beside the other clients. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "managedws.h"

typedef struct bench {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long received;
	long texts;
	int connected;
	/* rtt_cb: the payload and the samples, used on the I/O thread */
	const char *payload;
	size_t size;
	double *rtt, t0;
	long count;
	char reply[32]; /* the last text: a sink's count */
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
	bench *b = ud;
	if (b->rtt && b->received < b->count) {
		/* rtt_cb: sample, and send the next one from here. */
		b->rtt[b->received] = (now_s() - b->t0) * 1e6;
		if (b->received + 1 < b->count) {
			b->t0 = now_s();
			mws_client_send(c, b->payload, b->size, MWS_MSG_BINARY);
		}
	}
	pthread_mutex_lock(&b->lock);
	b->received++;
	b->texts += t == MWS_MSG_TEXT;
	if (t == MWS_MSG_TEXT)
		snprintf(b->reply, sizeof b->reply, "%.*s", (int)(n < 31 ? n : 31), (const char *)d);
	/* rtt_cb: the main thread waits for the last answer only; woken for
	 * every one it would cost each round trip two futex calls and a
	 * switch that no event-loop client pays. */
	int wake = !b->rtt || t == MWS_MSG_TEXT || b->received >= b->count;
	pthread_mutex_unlock(&b->lock);
	/* After the unlock: the woken waiter does not then sleep on the lock
	 * (two more futex calls and a switch per round trip). */
	if (wake)
		pthread_cond_broadcast(&b->cond);
}

/* Waits until *counter reaches n; 0 on success, -1 after 60 s. */
static int wait_count(bench *b, const long *counter, long n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&b->lock);
	while (*counter < n)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &until))
			break;
	int ok = *counter >= n;
	pthread_mutex_unlock(&b->lock);
	return ok ? 0 : -1;
}

static int wait_received(bench *b, long n)
{
	return wait_count(b, &b->received, n);
}

/* The process's CPU time so far, user and system, every thread. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: %s URL throughput|rtt|rtt_cb COUNT SIZE [plain|v1]\n",
		        argv[0]);
		return 2;
	}
	int v1 = argc == 6 && !strcmp(argv[5], "v1");
	if (argc == 6 && !v1 && strcmp(argv[5], "plain")) {
		fprintf(stderr, "protocol: plain or v1\n");
		return 2;
	}
	const char *name = v1 ? "managedws-v1" : "managedws";
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
	cfg.queue_max_bytes = 4u << 20;
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF;
	cfg.protocol_mode = v1 ? MWS_PROTOCOL_REQUIRE : MWS_PROTOCOL_PLAIN;
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
		mws_client_free(c); /* its callbacks use `b`, on this stack */
		return 1;
	}
	char *payload = malloc(size ? size : 1);
	memset(payload, 'x', size);
	int rc = 0;

	if (!strcmp(mode, "throughput")) {
		double t0 = now_s(), c0 = cpu_s();
		long refused = 0;
		for (long i = 0; i < count; i++) {
			/* A full queue is the library pushing back: wait for room
			 * (its low-water mark, half the queue). */
			while (mws_client_send(c, payload, size, MWS_MSG_BINARY) == MWS_EQUEUEFULL) {
				refused++;
				mws_client_wait_room(c, size, 1000);
			}
		}
		while (mws_client_send(c, "__sync", 6, MWS_MSG_TEXT) == MWS_EQUEUEFULL)
			mws_client_wait_room(c, 6, 1000);
		rc = wait_count(&b, &b.texts, 1);
		double secs = now_s() - t0, cpu = cpu_s() - c0;
		printf("{\"client\":\"%s\",\"mode\":\"throughput\",\"msgs\":%ld,"
		       "\"size\":%zu,\"seconds\":%.6f,\"msg_per_s\":%.1f,\"cpu_s\":%.6f,"
		       "\"queue_full_waits\":%ld,\"sink_count\":%ld}\n",
		       name, count, size, secs, count / secs, cpu, refused, atol(b.reply));
	} else if (!strcmp(mode, "rtt") || !strcmp(mode, "rtt_cb")) {
		double *rtt = malloc(sizeof *rtt * (size_t)count);
		if (!strcmp(mode, "rtt")) {
			for (long i = 0; i < count && rc == 0; i++) {
				double t0 = now_s();
				mws_client_send(c, payload, size, MWS_MSG_BINARY);
				rc = wait_received(&b, i + 1);
				rtt[i] = (now_s() - t0) * 1e6;
			}
		} else {
			pthread_mutex_lock(&b.lock);
			b.payload = payload, b.size = size, b.count = count;
			b.rtt = rtt, b.t0 = now_s();
			pthread_mutex_unlock(&b.lock);
			mws_client_send(c, payload, size, MWS_MSG_BINARY);
			rc = wait_received(&b, count);
		}
		qsort(rtt, (size_t)count, sizeof *rtt, cmp_double);
		if (!rc)
			printf("{\"client\":\"%s\",\"mode\":\"%s\",\"msgs\":%ld,\"size\":%zu,"
			       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f}\n",
			       name, mode, count, size, rtt[count / 2], rtt[count * 9 / 10],
			       rtt[count * 99 / 100]);
		free(rtt);
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		rc = 2;
	}
	if (rc == -1)
		fprintf(stderr, "client_bench: timed out waiting for the server\n");
	free(payload);
	mws_client_free(c);
	return rc ? 1 : 0;
}
