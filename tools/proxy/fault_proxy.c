/*
 * The fault proxy: one thread, one poll() set, non-blocking sockets.
 *
 * Each connection holds a client socket and (unless blackholed on accept)
 * an upstream socket, and one bounded queue of chunks per direction. A chunk
 * carries the time at which it may be written: "now" in PASS, "now + delay"
 * in DELAY. Because chunks leave a queue in order, DELAY keeps byte order
 * even when the delay changes. When a queue is full the proxy stops reading
 * that side, so a slow reader pushes back on the writer as TCP would.
 *
 * Commands cross threads through one slot guarded by a mutex, plus a
 * self-pipe that wakes poll(). The caller waits on a condition variable
 * until the proxy thread has applied the command.
 */
#include "fault_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Per-direction buffering. Small enough that a stalled reader is noticed
 * quickly by the writer, big enough for a burst of WebSocket frames. */
#define QUEUE_LIMIT (256 * 1024)
#define READ_CHUNK (16 * 1024)
/* Beyond this many held connections new clients are reset: a runaway test
 * must not exhaust the process's descriptors. */
#define MAX_CONNS 1024
/* Accepts and discarding reads per wake-up, so one busy socket cannot
 * starve the others. */
#define BURST 64

struct chunk {
	struct chunk *next;
	uint64_t due_ns;
	size_t len, off;
	unsigned char data[];
};

/* One direction: bytes read from src, queued, written to dst. */
struct dir {
	struct chunk *head, *tail;
	size_t queued;
	bool eof;  /* src sent FIN */
	bool shut; /* we passed the FIN on: shutdown(dst, SHUT_WR) */
};

struct conn {
	int cfd, ufd;    /* -1 once closed */
	bool connecting; /* non-blocking connect to upstream in progress */
	bool zombie;     /* blackholed: discard everything, forever */
	bool dead;       /* to be removed from the table */
	struct dir up;   /* client -> upstream */
	struct dir down; /* upstream -> client */
	int cidx, uidx;  /* positions in this round's pollfd array, or -1 */
};

enum cmd_kind { CMD_MODE, CMD_UPSTREAM, CMD_STOP };

struct cmd {
	enum cmd_kind kind;
	mws_fault_mode mode;
	int delay_ms;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct mws_fault_proxy {
	pthread_t thread;
	int wake_r, wake_w;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool slot_busy, slot_done;
	struct cmd slot;
	int slot_result;

	/* Owned by the proxy thread after start. */
	int lfd;
	struct sockaddr_storage laddr; /* bound address, with the real port */
	socklen_t laddrlen;
	struct sockaddr_storage uaddr;
	socklen_t uaddrlen;
	int delay_ms;
	struct conn **conns;
	size_t nconns, capconns;
	struct pollfd *pfds;
	size_t cappfds;

	int port;
	_Atomic int mode;
	_Atomic uint64_t accepted, active, bytes_up, bytes_down, queued, discarded,
		resets, upstream_failures;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int resolve(const char *host, int port, struct sockaddr_storage *ss,
		   socklen_t *len, bool passive)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int rc;

	if (port < 0 || port > 65535)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res)
		return rc == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int open_listener(struct sockaddr_storage *ss, socklen_t *len)
{
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	/* Re-listening on the same port after REFUSE must not trip over the
	 * TIME_WAIT entries of connections the proxy closed. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, *len) < 0 || listen(fd, 128) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)ss, len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static int port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* An RST instead of a FIN: SO_LINGER with a zero timeout makes close()
 * abort the connection. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void dir_clear(struct mws_fault_proxy *p, struct dir *d)
{
	struct chunk *c = d->head, *n;

	atomic_fetch_sub(&p->queued, (uint64_t)d->queued);

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	d->head = d->tail = NULL;
	d->queued = 0;
}

static void conn_close(struct mws_fault_proxy *p, struct conn *c, bool reset)
{
	if (c->dead)
		return;
	if (reset) {
		close_reset(c->cfd);
		close_reset(c->ufd);
	} else {
		if (c->cfd >= 0)
			close(c->cfd);
		if (c->ufd >= 0)
			close(c->ufd);
	}
	c->cfd = c->ufd = -1;
	dir_clear(p, &c->up);
	dir_clear(p, &c->down);
	c->dead = true;
	atomic_fetch_sub(&p->active, 1);
}

static void conn_make_zombie(struct mws_fault_proxy *p, struct conn *c)
{
	c->zombie = true;
	dir_clear(p, &c->up);
	dir_clear(p, &c->down);
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* Small WebSocket frames (pings, heartbeats) must not wait for
	 * Nagle: the proxy should add only the latency it is told to. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static struct conn *conn_add(struct mws_fault_proxy *p, int cfd)
{
	struct conn *c;

	if (p->nconns == p->capconns) {
		size_t cap = p->capconns ? p->capconns * 2 : 16;
		struct conn **n = realloc(p->conns, cap * sizeof(*n));

		if (!n)
			return NULL;
		p->conns = n;
		p->capconns = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfd = cfd;
	c->ufd = -1;
	c->cidx = c->uidx = -1;
	p->conns[p->nconns++] = c;
	atomic_fetch_add(&p->active, 1);
	return c;
}

static void connect_upstream(struct mws_fault_proxy *p, struct conn *c)
{
	int fd = socket(p->uaddr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	set_nodelay(fd);
	c->ufd = fd;
	if (connect(fd, (struct sockaddr *)&p->uaddr, p->uaddrlen) == 0)
		return;
	if (errno == EINPROGRESS) {
		c->connecting = true;
		return;
	}
fail:
	/* Reset the client: the nearest thing to the refusal it would have
	 * seen without a proxy in between. */
	atomic_fetch_add(&p->upstream_failures, 1);
	conn_close(p, c, true);
}

static void do_accept(struct mws_fault_proxy *p)
{
	int mode = atomic_load(&p->mode);

	for (int i = 0; i < BURST && p->lfd >= 0; i++) {
		int fd = accept4(p->lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return; /* EAGAIN, or a client gone before accept */
		atomic_fetch_add(&p->accepted, 1);
		if (mode == MWS_FAULT_RESET || p->nconns >= MAX_CONNS) {
			atomic_fetch_add(&p->resets, 1);
			close_reset(fd);
			continue;
		}
		set_nodelay(fd);
		c = conn_add(p, fd);
		if (!c) {
			close_reset(fd);
			continue;
		}
		if (mode == MWS_FAULT_BLACKHOLE)
			c->zombie = true;
		else
			connect_upstream(p, c);
	}
}

/* Reads what src has into d's queue; returns false if the connection had
 * to be aborted. */
static bool pump_read(struct mws_fault_proxy *p, struct conn *c, int src,
		      struct dir *d)
{
	uint64_t due = now_ns();

	if (atomic_load(&p->mode) == MWS_FAULT_DELAY)
		due += (uint64_t)p->delay_ms * 1000000u;
	while (!d->eof && d->queued < QUEUE_LIMIT) {
		size_t room = QUEUE_LIMIT - d->queued;
		size_t want = room < READ_CHUNK ? room : READ_CHUNK;
		struct chunk *ch = malloc(sizeof(*ch) + want);
		ssize_t n;

		if (!ch)
			return true; /* retry on the next wake-up */
		n = recv(src, ch->data, want, 0);
		if (n <= 0) {
			int err = n < 0 ? errno : 0;

			free(ch);
			if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK ||
				      err == EINTR))
				return true;
			if (n == 0) {
				d->eof = true;
				return true;
			}
			/* The peer reset: pass the reset on. */
			conn_close(p, c, true);
			return false;
		}
		ch->next = NULL;
		ch->len = (size_t)n;
		ch->off = 0;
		ch->due_ns = due;
		if (d->tail)
			d->tail->next = ch;
		else
			d->head = ch;
		d->tail = ch;
		d->queued += (size_t)n;
		atomic_fetch_add(&p->queued, (uint64_t)n);
		if ((size_t)n < want)
			return true;
	}
	return true;
}

/* Writes every due chunk of d to dst; returns false if aborted. */
static bool pump_write(struct mws_fault_proxy *p, struct conn *c, int dst,
		       struct dir *d, _Atomic uint64_t *counter, uint64_t now)
{
	while (d->head && d->head->due_ns <= now) {
		struct chunk *ch = d->head;
		ssize_t n = send(dst, ch->data + ch->off, ch->len - ch->off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return true;
			conn_close(p, c, true);
			return false;
		}
		atomic_fetch_add(counter, (uint64_t)n);
		ch->off += (size_t)n;
		d->queued -= (size_t)n;
		atomic_fetch_sub(&p->queued, (uint64_t)n);
		if (ch->off < ch->len)
			return true;
		d->head = ch->next;
		if (!d->head)
			d->tail = NULL;
		free(ch);
	}
	if (!d->head && d->eof && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = true;
	}
	return true;
}

/* A zombie's side: read and discard; its FIN or RST goes nowhere, only
 * that side is closed. */
static void zombie_drain(struct mws_fault_proxy *p, int *fd)
{
	unsigned char buf[READ_CHUNK];

	for (int i = 0; i < BURST; i++) {
		ssize_t n = recv(*fd, buf, sizeof(buf), 0);

		if (n > 0) {
			atomic_fetch_add(&p->discarded, (uint64_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR))
			return;
		close(*fd);
		*fd = -1;
		return;
	}
}

static short want_events(const struct conn *c, bool client_side)
{
	const struct dir *rd = client_side ? &c->up : &c->down;
	const struct dir *wr = client_side ? &c->down : &c->up;
	short ev = 0;

	if (c->zombie)
		return POLLIN;
	if (!client_side && c->connecting)
		return POLLOUT;
	/* The client is not read until upstream is connected, so that its
	 * bytes are not queued for a server that may refuse. */
	if (!rd->eof && rd->queued < QUEUE_LIMIT &&
	    (client_side ? !c->connecting : true))
		ev |= POLLIN;
	if (wr->head && wr->head->due_ns <= now_ns())
		ev |= POLLOUT;
	return ev;
}

static void conn_service(struct mws_fault_proxy *p, struct conn *c)
{
	short cre = c->cidx >= 0 ? p->pfds[c->cidx].revents : 0;
	short ure = c->uidx >= 0 ? p->pfds[c->uidx].revents : 0;
	uint64_t now;

	if (c->dead)
		return;
	if (c->connecting && ure) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			atomic_fetch_add(&p->upstream_failures, 1);
			if (c->zombie) {
				close(c->ufd);
				c->ufd = -1;
				c->connecting = false;
			} else {
				conn_close(p, c, true);
				return;
			}
		} else {
			c->connecting = false;
			ure &= ~POLLOUT;
		}
	}
	if (c->zombie) {
		if (c->cfd >= 0 && cre)
			zombie_drain(p, &c->cfd);
		if (c->ufd >= 0 && !c->connecting && ure)
			zombie_drain(p, &c->ufd);
		if (c->cfd < 0 && c->ufd < 0)
			conn_close(p, c, false);
		return;
	}
	if ((cre & (POLLIN | POLLHUP | POLLERR)) &&
	    !pump_read(p, c, c->cfd, &c->up))
		return;
	if (!c->connecting && (ure & (POLLIN | POLLHUP | POLLERR)) &&
	    !pump_read(p, c, c->ufd, &c->down))
		return;
	now = now_ns();
	if (!c->connecting &&
	    !pump_write(p, c, c->ufd, &c->up, &p->bytes_up, now))
		return;
	if (!pump_write(p, c, c->cfd, &c->down, &p->bytes_down, now))
		return;
	if (c->up.shut && c->down.shut)
		conn_close(p, c, false);
}

static int poll_timeout_ms(struct mws_fault_proxy *p)
{
	uint64_t now = now_ns(), best = UINT64_MAX;

	for (size_t i = 0; i < p->nconns; i++) {
		const struct conn *c = p->conns[i];
		const struct dir *ds[2] = { &c->up, &c->down };

		if (c->zombie)
			continue;
		for (int k = 0; k < 2; k++)
			if (ds[k]->head && ds[k]->head->due_ns > now &&
			    ds[k]->head->due_ns - now < best)
				best = ds[k]->head->due_ns - now;
	}
	if (best == UINT64_MAX)
		return -1;
	/* Round up: waking a little late keeps "at least delay_ms". */
	best = (best + 999999u) / 1000000u;
	return best > INT_MAX ? INT_MAX : (int)best;
}

static int apply_mode(struct mws_fault_proxy *p, mws_fault_mode mode,
		      int delay_ms)
{
	int old = atomic_load(&p->mode);

	if (old == MWS_FAULT_REFUSE && mode != MWS_FAULT_REFUSE &&
	    p->lfd < 0) {
		int fd = open_listener(&p->laddr, &p->laddrlen);

		if (fd < 0)
			return fd;
		p->lfd = fd;
	}
	p->delay_ms = delay_ms;
	atomic_store(&p->mode, mode);
	switch (mode) {
	case MWS_FAULT_BLACKHOLE:
		for (size_t i = 0; i < p->nconns; i++)
			conn_make_zombie(p, p->conns[i]);
		break;
	case MWS_FAULT_RESET:
		for (size_t i = 0; i < p->nconns; i++) {
			if (!p->conns[i]->dead)
				atomic_fetch_add(&p->resets, 1);
			conn_close(p, p->conns[i], true);
		}
		break;
	case MWS_FAULT_REFUSE:
		if (p->lfd >= 0) {
			close(p->lfd);
			p->lfd = -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Returns false when told to stop. */
static bool take_command(struct mws_fault_proxy *p)
{
	char buf[64];
	bool keep = true;

	while (read(p->wake_r, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&p->mu);
	if (p->slot_busy && !p->slot_done) {
		struct cmd *c = &p->slot;

		switch (c->kind) {
		case CMD_MODE:
			p->slot_result = apply_mode(p, c->mode, c->delay_ms);
			break;
		case CMD_UPSTREAM:
			p->uaddr = c->addr;
			p->uaddrlen = c->addrlen;
			p->slot_result = 0;
			break;
		case CMD_STOP:
			p->slot_result = 0;
			keep = false;
			break;
		}
		p->slot_done = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return keep;
}

static void reap(struct mws_fault_proxy *p)
{
	size_t j = 0;

	for (size_t i = 0; i < p->nconns; i++) {
		if (p->conns[i]->dead)
			free(p->conns[i]);
		else
			p->conns[j++] = p->conns[i];
	}
	p->nconns = j;
}

static bool build_pollset(struct mws_fault_proxy *p, size_t *n)
{
	size_t need = 2 + 2 * p->nconns, k = 0;

	if (need > p->cappfds) {
		struct pollfd *np = realloc(p->pfds, need * sizeof(*np));

		if (!np)
			return false;
		p->pfds = np;
		p->cappfds = need;
	}
	p->pfds[k++] = (struct pollfd){ .fd = p->wake_r, .events = POLLIN };
	p->pfds[k++] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
	for (size_t i = 0; i < p->nconns; i++) {
		struct conn *c = p->conns[i];
		short ev;

		c->cidx = c->uidx = -1;
		if (c->cfd >= 0 && (ev = want_events(c, true))) {
			c->cidx = (int)k;
			p->pfds[k++] = (struct pollfd){ .fd = c->cfd,
							.events = ev };
		}
		if (c->ufd >= 0 && (ev = want_events(c, false))) {
			c->uidx = (int)k;
			p->pfds[k++] = (struct pollfd){ .fd = c->ufd,
							.events = ev };
		}
	}
	*n = k;
	return true;
}

static void *proxy_main(void *arg)
{
	struct mws_fault_proxy *p = arg;
	bool running = true;

	while (running) {
		size_t n;
		int rc;

		if (!build_pollset(p, &n)) {
			/* Out of memory: back off rather than spin. */
			poll(NULL, 0, 10);
			continue;
		}
		rc = poll(p->pfds, n, poll_timeout_ms(p));
		if (rc < 0 && errno != EINTR)
			break;
		/* Connections first: a command below may close them, and
		 * their pollfd slots refer to this round only. */
		for (size_t i = 0; i < p->nconns; i++)
			conn_service(p, p->conns[i]);
		if (rc > 0 && p->pfds[0].revents)
			running = take_command(p);
		if (running && rc > 0 && p->lfd >= 0 && p->pfds[1].fd >= 0 &&
		    p->pfds[1].fd == p->lfd && p->pfds[1].revents)
			do_accept(p);
		reap(p);
	}
	for (size_t i = 0; i < p->nconns; i++)
		conn_close(p, p->conns[i], false);
	reap(p);
	if (p->lfd >= 0) {
		close(p->lfd);
		p->lfd = -1;
	}
	return NULL;
}

static int post(struct mws_fault_proxy *p, const struct cmd *c)
{
	int rc;

	pthread_mutex_lock(&p->mu);
	while (p->slot_busy)
		pthread_cond_wait(&p->cv, &p->mu);
	p->slot_busy = true;
	p->slot_done = false;
	p->slot = *c;
	pthread_mutex_unlock(&p->mu);
	/* A full pipe already holds a wake-up, so a failed write is fine. */
	(void)!write(p->wake_w, "c", 1);
	pthread_mutex_lock(&p->mu);
	while (!p->slot_done)
		pthread_cond_wait(&p->cv, &p->mu);
	rc = p->slot_result;
	/* The slot stays ours until the result is read, so another caller's
	 * command cannot overwrite it first. */
	p->slot_busy = false;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int mws_fault_proxy_start(mws_fault_proxy **out, const char *listen_host,
			  int listen_port, const char *upstream_host,
			  int upstream_port)
{
	struct mws_fault_proxy *p;
	int fds[2], rc;

	if (!out || !listen_host || !upstream_host)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->lfd = p->wake_r = p->wake_w = -1;
	rc = resolve(listen_host, listen_port, &p->laddr, &p->laddrlen, true);
	if (rc == 0)
		rc = resolve(upstream_host, upstream_port, &p->uaddr,
			     &p->uaddrlen, false);
	if (rc)
		goto fail;
	rc = open_listener(&p->laddr, &p->laddrlen);
	if (rc < 0)
		goto fail;
	p->lfd = rc;
	p->port = port_of(&p->laddr);
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	p->wake_r = fds[0];
	p->wake_w = fds[1];
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_store(&p->mode, MWS_FAULT_PASS);
	rc = -pthread_create(&p->thread, NULL, proxy_main, p);
	if (rc) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->wake_r >= 0)
		close(p->wake_r);
	if (p->wake_w >= 0)
		close(p->wake_w);
	free(p);
	return rc;
}

int mws_fault_proxy_port(const mws_fault_proxy *p)
{
	return p ? p->port : -EINVAL;
}

mws_fault_mode mws_fault_proxy_mode(const mws_fault_proxy *p)
{
	return (mws_fault_mode)atomic_load(&((mws_fault_proxy *)p)->mode);
}

const char *mws_fault_mode_name(mws_fault_mode mode)
{
	switch (mode) {
	case MWS_FAULT_PASS:
		return "pass";
	case MWS_FAULT_DELAY:
		return "delay";
	case MWS_FAULT_BLACKHOLE:
		return "blackhole";
	case MWS_FAULT_RESET:
		return "reset";
	case MWS_FAULT_REFUSE:
		return "refuse";
	}
	return "?";
}

int mws_fault_proxy_set_mode(mws_fault_proxy *p, mws_fault_mode mode,
			     int delay_ms)
{
	struct cmd c = { .kind = CMD_MODE, .mode = mode };

	if (!p || (unsigned)mode > MWS_FAULT_REFUSE)
		return -EINVAL;
	if (mode == MWS_FAULT_DELAY) {
		if (delay_ms < 0 || delay_ms > 600000)
			return -EINVAL;
		c.delay_ms = delay_ms;
	}
	return post(p, &c);
}

int mws_fault_proxy_set_upstream(mws_fault_proxy *p, const char *host,
				 int port)
{
	struct cmd c = { .kind = CMD_UPSTREAM };
	int rc;

	if (!p || !host)
		return -EINVAL;
	c.addrlen = sizeof(c.addr);
	rc = resolve(host, port, &c.addr, &c.addrlen, false);
	if (rc)
		return rc;
	return post(p, &c);
}

static bool parse_int(const char *s, size_t len, int lo, int hi, int *out)
{
	long v = 0;

	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

int mws_fault_proxy_command(mws_fault_proxy *p, const char *line)
{
	static const struct {
		const char *word;
		mws_fault_mode mode;
	} plain[] = {
		{ "pass", MWS_FAULT_PASS },
		{ "blackhole", MWS_FAULT_BLACKHOLE },
		{ "reset", MWS_FAULT_RESET },
		{ "refuse", MWS_FAULT_REFUSE },
	};
	const char *s, *e;
	size_t len;
	int v;

	if (!p || !line)
		return -1;
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		;
	len = (size_t)(e - s);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (len == strlen(plain[i].word) &&
		    memcmp(s, plain[i].word, len) == 0)
			return mws_fault_proxy_set_mode(p, plain[i].mode, 0);
	if (len > 6 && memcmp(s, "delay=", 6) == 0) {
		if (!parse_int(s + 6, len - 6, 0, 600000, &v))
			return -1;
		return mws_fault_proxy_set_mode(p, MWS_FAULT_DELAY, v);
	}
	if (len > 9 && memcmp(s, "upstream=", 9) == 0) {
		/* Split at the last colon so that an IPv6 host works, with
		 * or without brackets: "[::1]:8080", "::1:8080". */
		const char *h = s + 9, *colon = NULL;
		char host[256];

		for (const char *q = h; q < e; q++)
			if (*q == ':')
				colon = q;
		if (!colon || colon == h || (size_t)(colon - h) >= sizeof(host) ||
		    !parse_int(colon + 1, (size_t)(e - colon - 1), 1, 65535,
			       &v))
			return -1;
		if (*h == '[' && colon[-1] == ']') {
			memcpy(host, h + 1, (size_t)(colon - h - 2));
			host[colon - h - 2] = '\0';
		} else {
			memcpy(host, h, (size_t)(colon - h));
			host[colon - h] = '\0';
		}
		return mws_fault_proxy_set_upstream(p, host, v);
	}
	return -1;
}

void mws_fault_proxy_get_stats(const mws_fault_proxy *p,
			       mws_fault_proxy_stats *out)
{
	mws_fault_proxy *q = (mws_fault_proxy *)p;

	if (!p || !out)
		return;
	out->accepted = atomic_load(&q->accepted);
	out->active = atomic_load(&q->active);
	out->bytes_up = atomic_load(&q->bytes_up);
	out->bytes_down = atomic_load(&q->bytes_down);
	out->queued = atomic_load(&q->queued);
	out->discarded = atomic_load(&q->discarded);
	out->resets = atomic_load(&q->resets);
	out->upstream_failures = atomic_load(&q->upstream_failures);
}

void mws_fault_proxy_stop(mws_fault_proxy *p)
{
	struct cmd c = { .kind = CMD_STOP };

	if (!p)
		return;
	post(p, &c);
	pthread_join(p->thread, NULL);
	close(p->wake_r);
	close(p->wake_w);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->conns);
	free(p->pfds);
	free(p);
}
