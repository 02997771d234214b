/*
 * What the fault proxy tests share: a plain TCP echo server on its own
 * thread, the proxy in front of it (set up and torn down per test), and
 * bounded reads and waits on the proxy's counters.
 */
#ifndef MWS_TEST_FAULT_PROXY_HARNESS_H
#define MWS_TEST_FAULT_PROXY_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "peer.h"
#define WAIT_MS 5000  /* for things that must happen */
#define QUIET_MS 300  /* for things that must not happen */

/* ---- a plain TCP echo server on its own thread ------------------------ */

#define ECHO_MAX 64

struct echo_srv {
	int lfd, port, stop_r, stop_w;
	pthread_t thread;
	pthread_mutex_t mu;
	int fds[ECHO_MAX];
	int nfds;
	atomic_int accepted;
	atomic_long received;
};

static inline void *echo_main(void *arg)
{
	struct echo_srv *s = arg;
	char buf[16384];

	for (;;) {
		struct pollfd pfds[2 + ECHO_MAX];
		int n = 0, fds[ECHO_MAX], nfds;

		pthread_mutex_lock(&s->mu);
		nfds = s->nfds;
		memcpy(fds, s->fds, sizeof(int) * (size_t)nfds);
		pthread_mutex_unlock(&s->mu);
		pfds[n++] = (struct pollfd){ .fd = s->stop_r, .events = POLLIN };
		pfds[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (int i = 0; i < nfds; i++)
			pfds[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfds, (nfds_t)n, -1) < 0)
			continue;
		if (pfds[0].revents)
			break;
		if (pfds[1].revents) {
			int fd = accept(s->lfd, NULL, NULL);

			if (fd >= 0) {
				pthread_mutex_lock(&s->mu);
				if (s->nfds < ECHO_MAX)
					s->fds[s->nfds++] = fd;
				else
					close(fd);
				pthread_mutex_unlock(&s->mu);
				atomic_fetch_add(&s->accepted, 1);
			}
		}
		for (int i = 0; i < nfds; i++) {
			ssize_t r;

			if (!pfds[2 + i].revents)
				continue;
			r = recv(fds[i], buf, sizeof(buf), 0);
			if (r > 0) {
				atomic_fetch_add(&s->received, r);
				for (ssize_t off = 0; off < r;) {
					ssize_t w = send(fds[i], buf + off,
							 (size_t)(r - off),
							 MSG_NOSIGNAL);
					if (w <= 0)
						break;
					off += w;
				}
				continue;
			}
			pthread_mutex_lock(&s->mu);
			for (int k = 0; k < s->nfds; k++)
				if (s->fds[k] == fds[i]) {
					s->fds[k] = s->fds[--s->nfds];
					break;
				}
			pthread_mutex_unlock(&s->mu);
			close(fds[i]);
		}
	}
	return NULL;
}

static inline void echo_start(struct echo_srv *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int p[2];

	memset(s, 0, sizeof(*s));
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(s->lfd >= 0);
	cr_assert(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(s->lfd, 64) == 0);
	cr_assert(getsockname(s->lfd, (struct sockaddr *)&sa, &len) == 0);
	s->port = ntohs(sa.sin_port);
	cr_assert(pipe2(p, O_CLOEXEC) == 0);
	s->stop_r = p[0];
	s->stop_w = p[1];
	pthread_mutex_init(&s->mu, NULL);
	cr_assert(pthread_create(&s->thread, NULL, echo_main, s) == 0);
}

static inline void echo_stop(struct echo_srv *s)
{
	(void)!write(s->stop_w, "x", 1);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	close(s->lfd);
	close(s->stop_r);
	close(s->stop_w);
	pthread_mutex_destroy(&s->mu);
}

/* Sends from the server side to every connection it holds. */
static inline void echo_push(struct echo_srv *s, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nfds; i++)
		send(s->fds[i], msg, strlen(msg), MSG_NOSIGNAL);
	pthread_mutex_unlock(&s->mu);
}

static inline int echo_open(struct echo_srv *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->nfds;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- helpers ----------------------------------------------------------- */

static struct echo_srv srv;
static mws_fault_proxy *px;

static inline void setup(void)
{
	echo_start(&srv);
	cr_assert_eq(mws_fault_proxy_start(&px, "127.0.0.1", 0, "127.0.0.1",
					   srv.port), 0);
	cr_assert_gt(mws_fault_proxy_port(px), 0);
}

static inline void teardown(void)
{
	mws_fault_proxy_stop(px);
	px = NULL;
	echo_stop(&srv);
}

/* Reads exactly n bytes within timeout_ms; returns bytes read, 0 on EOF
 * before any, -errno on error, or what it had on timeout. */
static inline ssize_t recv_n(int fd, char *buf, size_t n, int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < n) {
		uint64_t now = mws_test_now_ms();
		ssize_t r;

		if (now >= end ||
		    mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		r = recv(fd, buf + got, n - got, 0);
		if (r < 0)
			return got ? (ssize_t)got : -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static inline void roundtrip(int fd, const char *msg)
{
	char buf[256];
	size_t n = strlen(msg);

	cr_assert_eq(send(fd, msg, n, MSG_NOSIGNAL), (ssize_t)n);
	cr_assert_eq(recv_n(fd, buf, n, WAIT_MS), (ssize_t)n,
		     "no echo of \"%s\"", msg);
	cr_assert(memcmp(buf, msg, n) == 0);
}

/* The peer ended the connection: an RST (ECONNRESET) or a FIN (EOF). */
static inline bool ended_within(int fd, int timeout_ms)
{
	char c;
	ssize_t r;

	if (mws_test_wait_readable(fd, timeout_ms) <= 0)
		return false;
	r = recv(fd, &c, 1, 0);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

static inline bool still_open_and_silent(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);

	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct counter_arg {
	const void *p;
	uint64_t want;
};

static inline mws_fault_proxy_stats stats_of(const struct counter_arg *a)
{
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(a->p, &st);
	return st;
}

static inline bool stats_active_is(void *arg)
{
	return stats_of(arg).active == ((struct counter_arg *)arg)->want;
}

static inline bool stats_discarded_at_least(void *arg)
{
	return stats_of(arg).discarded >= ((struct counter_arg *)arg)->want;
}

static inline bool stats_bytes_down_is(void *arg)
{
	return stats_of(arg).bytes_down == ((struct counter_arg *)arg)->want;
}

static inline bool stats_queued_at_least(void *arg)
{
	return stats_of(arg).queued >= ((struct counter_arg *)arg)->want;
}

static inline bool echo_received_more(void *arg)
{
	struct counter_arg *a = arg;

	return (uint64_t)atomic_load(&((struct echo_srv *)a->p)->received) >
	       a->want;
}

static inline bool echo_accepted_more(void *arg)
{
	struct counter_arg *a = arg;

	return (uint64_t)atomic_load(&((struct echo_srv *)a->p)->accepted) >
	       a->want;
}

static inline bool echo_has_no_conns(void *arg)
{
	return echo_open(arg) == 0;
}

#endif
