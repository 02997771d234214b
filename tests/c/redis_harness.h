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
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

#define REDIS_REQUIRED()                                                                     \
	do {                                                                                 \
		if (!redis_server_path())                                                    \
			cr_skip_test("SKIPPED: redis-server is not installed "               \
			             "(apt-get install redis-server; scripts/setup.sh does)");  \
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

/* PING answered with +PONG within timeout_ms. */
static inline bool redis_ping(int port, int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	do {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&a, sizeof a) &&
		    write(fd, "PING\r\n", 6) == 6 && mws_test_wait_readable(fd, 500) > 0) {
			char b[16] = {0};
			ssize_t r = read(fd, b, sizeof b - 1);
			close(fd);
			if (r >= 5 && !strncmp(b, "+PONG", 5))
				return true;
		} else if (fd >= 0) {
			close(fd);
		}
		usleep(20000);
	} while (mws_test_now_ms() < end);
	return false;
}

static inline bool redis_spawn(redis_proc *r, int port)
{
	char p[16];
	snprintf(p, sizeof p, "%d", port);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
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
	snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", port);
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

static inline void redis_stop(redis_proc *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
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

#endif
