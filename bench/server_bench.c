/* Our server for bench/run.sh where `mws serve` does not fit: sink mode
 * (answers a text message with the count of binary messages received since
 * the last answer, so a client knows all arrived), more sockets than the CLI's context allows
 * (its default fd_limit is 4096), and an accept log per 100 ms for the
 * reconnect storm. Over the public header only.
 *
 *   server_bench echo|sink|idle [--port N] [--fd-limit N] [--spread MS]
 *                                [--accept-log] [--rx-buffer BYTES]
 *                                [--release-port]
 *
 * Prints "PORT n" once listening. SIGTERM or SIGINT: graceful shutdown
 * (1012, retry-after spread over --spread), then with --accept-log one line
 * "ACCEPTS first_ms c0 c1 ..." (accepts per 100 ms from the first accept).
 * --release-port: the port is let go when the shutdown begins, so that a
 * successor can listen on it while this one drains.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "managedws.h"

enum { BUCKETS = 3000 }; /* 300 s of 100 ms buckets */

static int sink;
static atomic_long received;
static atomic_int accepts[BUCKETS];
static atomic_long first_ms = -1;
static volatile sig_atomic_t stop;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void on_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv, (void)id, (void)info, (void)ud;
	long t = now_ms(), expect = -1;
	atomic_compare_exchange_strong(&first_ms, &expect, t);
	long b = (t - atomic_load(&first_ms)) / 100;
	if (b >= 0 && b < BUCKETS)
		atomic_fetch_add(&accepts[b], 1);
}

static void on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len, int type,
                       void *ud)
{
	(void)ud;
	if (!sink) {
		mws_server_send(srv, id, data, len, type);
		return;
	}
	if (type == MWS_MSG_BINARY) {
		atomic_fetch_add(&received, 1);
		return;
	}
	/* The count since the last answer: with one client at a time, as
	 * bench/run.sh runs them, what this client sent, as the peers' sinks
	 * count per connection (the harness checks it against what was sent). */
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld", atomic_exchange(&received, 0));
	mws_server_send(srv, id, buf, (size_t)n, MWS_MSG_TEXT);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s echo|sink|idle [--port N] [--fd-limit N] [--spread MS] "
		                "[--accept-log] [--rx-buffer BYTES] [--release-port]\n", argv[0]);
		return 2;
	}
	sink = !strcmp(argv[1], "sink");
	int port = 0, fd_limit = 4096, spread = 5000, accept_log = 0, release_port = 0;
	long rx_buffer = 0; /* 0: the library's default */
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--accept-log"))
			accept_log = 1;
		else if (!strcmp(argv[i], "--release-port"))
			release_port = 1;
		else if (i + 1 < argc && !strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--fd-limit"))
			fd_limit = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--spread"))
			spread = atoi(argv[++i]);
		else if (i + 1 < argc && !strcmp(argv[i], "--rx-buffer"))
			rx_buffer = atol(argv[++i]);
		else {
			fprintf(stderr, "bad argument %s\n", argv[i]);
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	/* The context's fd_limit stays 0 (the process's limit, which run.sh
	 * raises): a smaller one makes libwebsockets 4.1.6 find each socket by
	 * a linear search. --fd-limit bounds the connections. */
	mws_ctx *ctx;
	if (mws_ctx_new(&ctx, &cc)) {
		fprintf(stderr, "cannot create the context\n");
		return 1;
	}
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.port = port;
	cfg.rate_per_sec = -1;
	cfg.max_connections = fd_limit;
	/* mws.v1 clients (idle_bench, storm_bench) hold sessions; a restart storm
	 * also leaves suspended ones of attempts cut short */
	cfg.max_sessions = 2 * fd_limit;
	cfg.max_handshakes_per_address = -1; /* idle holders connect many at once */
	cfg.ping_interval_ms = -1;
	cfg.heartbeat_timeout_ms = 3600000;
	cfg.max_message_bytes = 64u << 20;
	cfg.send_queue_max_bytes = 256u << 20;
	cfg.rx_buffer_bytes = rx_buffer > 0 ? (size_t)rx_buffer : 0;
	cfg.release_port_on_shutdown = release_port;
	mws_server *srv;
	mws_server_callbacks cbs = {sizeof cbs, NULL, on_connect, on_message, NULL};
	int rc = mws_server_new(&srv, ctx, &cfg);
	if (rc || (rc = mws_server_set_callbacks(srv, &cbs, NULL, NULL)) ||
	    (rc = mws_server_start(srv))) {
		fprintf(stderr, "cannot listen: %s\n", mws_strerror(rc));
		return 1;
	}
	printf("PORT %d\n", mws_server_port(srv));
	fflush(stdout);
	while (!stop)
		pause();
	mws_server_shutdown(srv, 1012, spread, 10000);
	if (accept_log) {
		int last = BUCKETS - 1;
		while (last > 0 && !atomic_load(&accepts[last]))
			last--;
		printf("ACCEPTS %ld", atomic_load(&first_ms));
		for (int i = 0; i <= last; i++)
			printf(" %d", atomic_load(&accepts[i]));
		printf("\n");
		fflush(stdout);
	}
	mws_server_free(srv);
	mws_ctx_free(ctx);
	return 0;
}
