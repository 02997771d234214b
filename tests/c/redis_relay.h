/* A TCP relay in front of a test's redis-server that holds one kind of
 * command back: every connection is forwarded as it is, except that the
 * first bytes a connection sends that contain `hold_word` (say
 * "SUBSCRIBE"), or every such chunk, wait hold_ms before they go on.
 * Only that connection waits (one thread per connection), so a node's
 * other links to Redis keep their usual speed. Used to make races
 * deterministic (what a node does before its subscription is in place;
 * a send that reaches Redis late). */
#ifndef MWS_TEST_REDIS_RELAY_H
#define MWS_TEST_REDIS_RELAY_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

#define RELAY_MAX_CONNS 32

typedef struct redis_relay redis_relay;

typedef struct relay_pair {
	redis_relay *r;
	int down, up; /* the node's side, Redis' side */
	pthread_t th;
} relay_pair;

struct redis_relay {
	int lfd, port, upstream_port, hold_ms;
	int hold_every;
	char hold_word[32];
	atomic_int stop, held;
	pthread_t accept_th;
	pthread_mutex_t mu;
	relay_pair pairs[RELAY_MAX_CONNS];
	int npairs;
};

static inline bool relay_send_all(int fd, const char *b, ssize_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, (size_t)n, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		b += w;
		n -= w;
	}
	return true;
}

static void *relay_pair_main(void *arg)
{
	relay_pair *p = arg;
	redis_relay *r = p->r;
	bool held = false;
	char buf[16384];
	while (!atomic_load(&r->stop)) {
		struct pollfd fds[2] = {{p->down, POLLIN, 0}, {p->up, POLLIN, 0}};
		if (poll(fds, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = recv(fds[i].fd, buf, sizeof buf - 1, 0);
			if (n <= 0)
				goto out;
			buf[n] = 0;
			if (i == 0 && (!held || r->hold_every) &&
			    memmem(buf, (size_t)n, r->hold_word, strlen(r->hold_word))) {
				held = true;
				atomic_fetch_add(&r->held, 1);
				usleep((useconds_t)r->hold_ms * 1000);
			}
			if (!relay_send_all(i == 0 ? p->up : p->down, buf, n))
				goto out;
		}
	}
out:
	shutdown(p->down, SHUT_RDWR);
	shutdown(p->up, SHUT_RDWR);
	return NULL;
}

static void *relay_accept_main(void *arg)
{
	redis_relay *r = arg;
	while (!atomic_load(&r->stop)) {
		if (mws_test_wait_readable(r->lfd, 100) <= 0)
			continue;
		int fd = accept(r->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		int up = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = {.sin_family = AF_INET,
		                        .sin_port = htons((uint16_t)r->upstream_port),
		                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		pthread_mutex_lock(&r->mu);
		relay_pair *p = r->npairs < RELAY_MAX_CONNS ? &r->pairs[r->npairs] : NULL;
		if (p) {
			p->r = r;
			p->down = fd;
			p->up = up;
		}
		if (!p || up < 0 || connect(up, (struct sockaddr *)&a, sizeof a) ||
		    pthread_create(&p->th, NULL, relay_pair_main, p)) {
			pthread_mutex_unlock(&r->mu);
			close(fd);
			if (up >= 0)
				close(up);
			continue;
		}
		r->npairs++;
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

/* 0, or -1 when it could not listen. `every`: each chunk with hold_word
 * waits, not only a connection's first. */
static inline int redis_relay_start(redis_relay *r, int upstream_port, const char *hold_word,
                                    int hold_ms, int every)
{
	memset(r, 0, sizeof *r);
	pthread_mutex_init(&r->mu, NULL);
	r->upstream_port = upstream_port;
	r->hold_ms = hold_ms;
	r->hold_every = every;
	snprintf(r->hold_word, sizeof r->hold_word, "%s", hold_word);
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (r->lfd < 0 || bind(r->lfd, (struct sockaddr *)&a, sizeof a) || listen(r->lfd, 16) ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &al))
		return -1;
	r->port = ntohs(a.sin_port);
	return pthread_create(&r->accept_th, NULL, relay_accept_main, r) ? -1 : 0;
}

static inline void redis_relay_stop(redis_relay *r)
{
	atomic_store(&r->stop, 1);
	pthread_join(r->accept_th, NULL);
	for (int i = 0; i < r->npairs; i++) {
		pthread_join(r->pairs[i].th, NULL);
		close(r->pairs[i].down);
		close(r->pairs[i].up);
	}
	close(r->lfd);
	pthread_mutex_destroy(&r->mu);
}

#endif
