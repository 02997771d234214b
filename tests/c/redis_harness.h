/* A real redis-server for a test: started on a free port (Redis cannot
 * bind port 0: a port is probed free, and another is tried if Redis still
 * fails to bind it), with no persistence, and stopped by the test. Tests
 * skip loudly, naming what is missing, when redis-server is not installed
 * (scripts/setup.sh installs it). */
#ifndef MWS_TEST_REDIS_HARNESS_H
#define MWS_TEST_REDIS_HARNESS_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "managedws.h"
#include "peer.h"

typedef struct redis_proc {
	pid_t pid;
	int port;
	char url[64];
} redis_proc;

/* redis-server on PATH, or NULL. */
static inline const char *redis_server_path(void)
{
	static char found[512];
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(found, sizeof found, "%.*s/redis-server", (int)n, path);
		if (n && access(found, X_OK) == 0)
			return found;
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* This build of the library has the Redis store (hiredis was found): a
 * server for a Redis nobody listens on is MWS_ESTORE, not MWS_EINVAL. */
static inline bool redis_store_built(void)
{
	mws_ctx *ctx = NULL;
	mws_server *s = NULL;
	if (mws_ctx_new(&ctx, NULL))
		return false;
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.session_store_url = "redis://127.0.0.1:1/0";
	int rc = mws_server_new(&s, ctx, &sc);
	mws_server_free(s);
	mws_ctx_free(ctx);
	return rc != MWS_EINVAL;
}

#define REDIS_REQUIRED()                                                                     \
	do {                                                                                 \
		if (!redis_server_path())                                                    \
			cr_skip_test("SKIPPED: redis-server is not installed "               \
			             "(apt-get install redis-server; scripts/setup.sh does)");  \
		if (!redis_store_built())                                                    \
			cr_skip_test("SKIPPED: this build has no Redis store "               \
			             "(libhiredis-dev missing, or -DMWS_WITH_REDIS=OFF)");      \
	} while (0)

static inline int redis_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int port = -1;
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof a) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* One PING to the Redis on *port, answered with +PONG. */
static inline bool redis_pong(void *port)
{
	uint16_t p = (uint16_t)*(int *)port;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof a) &&
	    write(fd, "PING\r\n", 6) == 6 && mws_test_wait_readable(fd, 500) > 0) {
		char b[16] = {0};
		ssize_t r = read(fd, b, sizeof b - 1);
		close(fd);
		return r >= 5 && !strncmp(b, "+PONG", 5);
	}
	if (fd >= 0)
		close(fd);
	return false;
}

/* PING answered with +PONG within timeout_ms. */
static inline bool redis_ping(int port, int timeout_ms)
{
	return mws_test_wait_until(redis_pong, &port, timeout_ms);
}

/* The store URL of a Redis (or of a relay in front of one) on port. */
static inline void redis_url_for_port(char *buf, size_t cap, int port)
{
	snprintf(buf, cap, "redis://127.0.0.1:%d/0", port);
}

static inline bool redis_spawn(redis_proc *r, int port)
{
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		/* A test that fails half-way still stops it: it dies with us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int dn = open("/dev/null", O_RDWR);
		if (dn >= 0) {
			dup2(dn, 1);
			dup2(dn, 2);
		}
		execl(redis_server_path(), "redis-server", "--port", p, "--bind", "127.0.0.1",
		      "--save", "", "--appendonly", "no", "--protected-mode", "no", (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	r->port = port;
	redis_url_for_port(r->url, sizeof r->url, port);
	if (redis_ping(port, 5000))
		return true;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	r->pid = 0;
	return false;
}

/* Starts one; a few ports are tried. */
static inline void redis_start(redis_proc *r)
{
	memset(r, 0, sizeof *r);
	for (int i = 0; i < 5; i++) {
		int port = redis_free_port();
		if (port > 0 && redis_spawn(r, port))
			return;
	}
	cr_assert_fail("redis-server did not start");
}

static inline bool redis_reaped(void *arg)
{
	redis_proc *r = arg;
	return waitpid(r->pid, NULL, WNOHANG) == r->pid;
}

/* SIGTERM, up to 3 s to exit, then SIGKILL; always reaped. */
static inline void redis_stop(redis_proc *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	if (!mws_test_wait_until(redis_reaped, r, 3000)) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
	}
	r->pid = 0;
}

/* Again on the same port (empty: nothing was saved). */
static inline void redis_restart(redis_proc *r)
{
	for (int i = 0; i < 100; i++) {
		if (redis_spawn(r, r->port))
			return;
		usleep(50000);
	}
	cr_assert_fail("redis-server did not start again on port %d", r->port);
}

/* ---- nodes of one cluster, and plain clients of theirs ---- */

/* A node's config: loopback, its sessions in the store at url. */
static inline mws_server_config redis_node_config(const char *url)
{
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.iface = "127.0.0.1";
	sc.session_store_url = url;
	return sc;
}

/* Quick reconnects, so that a client moved to another node is back within
 * milliseconds. */
static inline mws_client_config redis_client_config(void)
{
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.base_delay_ms = 20;
	cc.max_delay_ms = 200;
	return cc;
}

/* Node `which` (0 or 1) of redis_plain_node(): the id of the connection it
 * took last, and how many both took. */
static atomic_uint_least64_t redis_node_ids[2];
static atomic_int redis_node_connects;

static inline void redis_note_connect(mws_server *s, mws_conn_id id,
                                      const mws_conn_info *i, void *u)
{
	(void)s, (void)i;
	atomic_store(&redis_node_ids[(intptr_t)u], id);
	atomic_fetch_add(&redis_node_connects, 1);
}

/* A started node that only notes its connections (redis_node_ids[which]). */
static inline mws_server *redis_plain_node(mws_ctx *ctx, const char *url, intptr_t which)
{
	mws_server_config sc = redis_node_config(url);
	mws_server *s = NULL;
	cr_assert_eq(mws_server_new(&s, ctx, &sc), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = redis_note_connect;
	cr_assert_eq(mws_server_set_callbacks(s, &cb, (void *)which, NULL), 0);
	cr_assert_eq(mws_server_start(s), 0);
	return s;
}

/* What a plain client got. */
typedef struct redis_inbox {
	pthread_mutex_t mu;
	char last[64];
	char log[512]; /* every text, each followed by '|' */
	atomic_int got;
} redis_inbox;

static inline void redis_inbox_message(mws_client *c, const void *d, size_t n, int t,
                                       void *u)
{
	(void)c, (void)t;
	redis_inbox *in = u;
	pthread_mutex_lock(&in->mu);
	snprintf(in->last, sizeof in->last, "%.*s", (int)n, (const char *)d);
	size_t l = strlen(in->log);
	snprintf(in->log + l, sizeof in->log - l, "%.*s|", (int)n, (const char *)d);
	pthread_mutex_unlock(&in->mu);
	atomic_fetch_add(&in->got, 1);
}

/* A plain client of the node on port, connecting; cfg NULL: the defaults. */
static inline mws_client *redis_inbox_client(mws_ctx *ctx, int port, redis_inbox *in,
                                             const mws_client_config *cfg)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, cfg), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_message = redis_inbox_message;
	cr_assert_eq(mws_client_set_callbacks(c, &cb, in, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

#endif
