/* Test support: child-process peers and bounded waits. See peer.h. */
#include "peer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t mws_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool mws_test_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		if (cond(arg))
			return true;
		if (mws_test_now_ms() >= end)
			return cond(arg);
		nap_ms(2);
	}
}

int mws_test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

int mws_test_tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int mws_test_wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		uint64_t now = mws_test_now_ms();
		int rc = poll(&pfd, 1, now >= end ? 0 : (int)(end - now));

		if (rc >= 0)
			return rc > 0 ? 1 : 0;
		if (errno != EINTR)
			return -errno;
	}
}

struct reap_wait {
	pid_t pid;
	int *status;
};

static bool reaped(void *arg)
{
	struct reap_wait *w = arg;
	pid_t r = waitpid(w->pid, w->status, WNOHANG);

	/* r < 0 but for EINTR: not our child any more, nothing to reap */
	return r == w->pid || (r < 0 && errno != EINTR);
}

/* Reaps pid within timeout_ms; returns true and the status if it did. */
static bool reap_within(pid_t pid, int *status, int timeout_ms)
{
	struct reap_wait w = { pid, status };

	return mws_test_wait_until(reaped, &w, timeout_ms);
}

static void child_exec(int out_w, const char *const argv[])
{
	/* If the test process dies (crash, Criterion timeout), the peer must
	 * not outlive it holding a port. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(out_w, STDOUT_FILENO) < 0)
		_exit(127);
	/* Only stdin/stdout/stderr: the test's sockets must not stay open in
	 * the peer, or fd-leak and EOF checks in the test would lie. */
	if (close_range(3, ~0u, 0) < 0)
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

int mws_test_peer_start(mws_test_peer *p, const char *const argv[])
{
	int fds[2], status, err = -ECHILD;
	char line[128];
	size_t len = 0;
	uint64_t end;
	pid_t pid;

	if (!p || !argv || !argv[0])
		return -EINVAL;
	p->pid = 0;
	p->port = 0;
	p->stdout_fd = -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0)
		child_exec(fds[1], argv);
	close(fds[1]);
	end = mws_test_now_ms() + MWS_TEST_PEER_START_TIMEOUT_MS;
	for (;;) {
		uint64_t now = mws_test_now_ms();
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		char *nl;
		ssize_t n;
		int rc;

		if (now >= end) {
			err = -ETIMEDOUT;
			break;
		}
		rc = poll(&pfd, 1, (int)(end - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue; /* timeout is caught at the top */
		n = read(fds[0], line + len, sizeof(line) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* exited or closed stdout before PORT */
		len += (size_t)n;
		line[len] = '\0';
		nl = strchr(line, '\n');
		if (!nl) {
			if (len == sizeof(line) - 1)
				break;
			continue;
		}
		*nl = '\0';
		if (sscanf(line, "PORT %d", &p->port) == 1 && p->port > 0 &&
		    p->port < 65536) {
			p->pid = pid;
			p->stdout_fd = fds[0];
			return 0;
		}
		break;
	}
	kill(pid, SIGKILL);
	reap_within(pid, &status, MWS_TEST_PEER_STOP_TIMEOUT_MS);
	close(fds[0]);
	p->port = 0;
	return err;
}

/* Waits up to timeout_ms for the child to end (SIGKILL after that), reaps
 * it and clears p; its exit code, or -signo. */
static int peer_reap(mws_test_peer *p, int timeout_ms)
{
	int status = 0;
	if (!reap_within(p->pid, &status, timeout_ms)) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (p->stdout_fd >= 0)
		close(p->stdout_fd);
	p->pid = 0;
	p->port = 0;
	p->stdout_fd = -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return 0;
}

int mws_test_peer_stop(mws_test_peer *p)
{
	if (!p || p->pid <= 0)
		return 0;
	kill(p->pid, SIGTERM);
	return peer_reap(p, MWS_TEST_PEER_STOP_TIMEOUT_MS);
}

int mws_test_peer_wait(mws_test_peer *p, int timeout_ms)
{
	if (!p || p->pid <= 0)
		return 0;
	return peer_reap(p, timeout_ms);
}
