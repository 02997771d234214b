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
#include "fault_proxy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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
	rc = mws__fp_resolve(listen_host, listen_port, &p->laddr, &p->laddrlen,
			     true);
	if (rc == 0)
		rc = mws__fp_resolve(upstream_host, upstream_port,
				     &p->uaddr, &p->uaddrlen, false);
	if (rc)
		goto fail;
	rc = mws__fp_open_listener(&p->laddr, &p->laddrlen);
	if (rc < 0)
		goto fail;
	p->lfd = rc;
	p->port = mws__fp_port_of(&p->laddr);
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	p->wake_r = fds[0];
	p->wake_w = fds[1];
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	atomic_store(&p->mode, MWS_FAULT_PASS);
	rc = -pthread_create(&p->thread, NULL, mws__fp_proxy_main, p);
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
	rc = mws__fp_resolve(host, port, &c.addr, &c.addrlen, false);
	if (rc)
		return rc;
	return post(p, &c);
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
