/*
 * The proxy thread: builds the poll set, services each connection, applies
 * the commands posted through the slot (mode changes, a new upstream,
 * stop) and accepts new clients as the current fault mode says.
 */
#include "fault_proxy_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

static int poll_timeout_ms(struct mws_fault_proxy *p)
{
	uint64_t now = mws__fp_now_ns(), best = UINT64_MAX;

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
		int fd = mws__fp_open_listener(&p->laddr, &p->laddrlen);

		if (fd < 0)
			return fd;
		p->lfd = fd;
	}
	p->delay_ms = delay_ms;
	atomic_store(&p->mode, mode);
	switch (mode) {
	case MWS_FAULT_BLACKHOLE:
		for (size_t i = 0; i < p->nconns; i++)
			mws__fp_conn_make_zombie(p, p->conns[i]);
		break;
	case MWS_FAULT_RESET:
		for (size_t i = 0; i < p->nconns; i++) {
			if (!p->conns[i]->dead)
				atomic_fetch_add(&p->resets, 1);
			mws__fp_conn_close(p, p->conns[i], true);
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
		if (c->cfd >= 0 && (ev = mws__fp_want_events(c, true))) {
			c->cidx = (int)k;
			p->pfds[k++] = (struct pollfd){ .fd = c->cfd,
							.events = ev };
		}
		if (c->ufd >= 0 && (ev = mws__fp_want_events(c, false))) {
			c->uidx = (int)k;
			p->pfds[k++] = (struct pollfd){ .fd = c->ufd,
							.events = ev };
		}
	}
	*n = k;
	return true;
}

void *mws__fp_proxy_main(void *arg)
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
			mws__fp_conn_service(p, p->conns[i]);
		if (rc > 0 && p->pfds[0].revents)
			running = take_command(p);
		if (running && rc > 0 && p->lfd >= 0 && p->pfds[1].fd >= 0 &&
		    p->pfds[1].fd == p->lfd && p->pfds[1].revents)
			mws__fp_do_accept(p);
		reap(p);
	}
	for (size_t i = 0; i < p->nconns; i++)
		mws__fp_conn_close(p, p->conns[i], false);
	reap(p);
	if (p->lfd >= 0) {
		close(p->lfd);
		p->lfd = -1;
	}
	return NULL;
}
