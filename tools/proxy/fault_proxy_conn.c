/*
 * One proxied connection: accepting it, connecting it upstream, and moving
 * its bytes through the two bounded queues (or discarding them, for a
 * zombie). Runs on the proxy thread only.
 */
#include "fault_proxy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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

void mws__fp_conn_close(struct mws_fault_proxy *p, struct conn *c, bool reset)
{
	if (c->dead)
		return;
	if (reset) {
		mws__fp_close_reset(c->cfd);
		mws__fp_close_reset(c->ufd);
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

void mws__fp_conn_make_zombie(struct mws_fault_proxy *p, struct conn *c)
{
	c->zombie = true;
	dir_clear(p, &c->up);
	dir_clear(p, &c->down);
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
	mws__fp_set_nodelay(fd);
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
	mws__fp_conn_close(p, c, true);
}

void mws__fp_do_accept(struct mws_fault_proxy *p)
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
			mws__fp_close_reset(fd);
			continue;
		}
		mws__fp_set_nodelay(fd);
		c = conn_add(p, fd);
		if (!c) {
			mws__fp_close_reset(fd);
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
	uint64_t due = mws__fp_now_ns();

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
			mws__fp_conn_close(p, c, true);
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
			mws__fp_conn_close(p, c, true);
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

short mws__fp_want_events(const struct conn *c, bool client_side)
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
	if (wr->head && wr->head->due_ns <= mws__fp_now_ns())
		ev |= POLLOUT;
	return ev;
}

void mws__fp_conn_service(struct mws_fault_proxy *p, struct conn *c)
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
				mws__fp_conn_close(p, c, true);
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
			mws__fp_conn_close(p, c, false);
		return;
	}
	if ((cre & (POLLIN | POLLHUP | POLLERR)) &&
	    !pump_read(p, c, c->cfd, &c->up))
		return;
	if (!c->connecting && (ure & (POLLIN | POLLHUP | POLLERR)) &&
	    !pump_read(p, c, c->ufd, &c->down))
		return;
	now = mws__fp_now_ns();
	if (!c->connecting &&
	    !pump_write(p, c, c->ufd, &c->up, &p->bytes_up, now))
		return;
	if (!pump_write(p, c, c->cfd, &c->down, &p->bytes_down, now))
		return;
	if (c->up.shut && c->down.shut)
		mws__fp_conn_close(p, c, false);
}
