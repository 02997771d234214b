/* mws_client_wait_room(): a sender that met MWS_EQUEUEFULL sleeps until
 * the I/O thread has written half the queue (src/io/client_room.c wakes
 * it), rather than retrying on a timer. */
#include <errno.h>
#include <time.h>

#include "io/client_io.h"

/* Room now: at the low-water mark (at most half of queue_max_messages
 * wait, so one more fits), and `len` more bytes fit. */
static int mws__room_now(struct mws_client *c, size_t len)
{
	return mws__client_at_low_water(c) &&
	       atomic_load(&c->pending_bytes) + len <= c->set.queue_max_bytes;
}

static void mws__deadline(struct timespec *at, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, at);
	at->tv_sec += timeout_ms / 1000;
	at->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (at->tv_nsec >= 1000000000L) {
		at->tv_sec++;
		at->tv_nsec -= 1000000000L;
	}
}

MWS_API int mws_client_wait_room(mws_client *c, size_t len, int timeout_ms)
{
	if (!c || timeout_ms < -1)
		return MWS_EINVAL;
	if (len > c->set.queue_max_bytes)
		return MWS_ETOOBIG;
	int rc = mws__client_ended(c);
	if (rc || mws__room_now(c, len))
		return rc;
	if (mws__ctx_on_io_thread(c->ctx))
		return MWS_EDEADLK; /* the queue drains only once the callback returns */
	if (timeout_ms == 0)
		return MWS_ETIMEDOUT;
	struct timespec at;
	if (timeout_ms > 0)
		mws__deadline(&at, timeout_ms);
	pthread_mutex_lock(&c->room_lock);
	atomic_fetch_add(&c->room_waiters, 1); /* before the queue is read again */
	for (;;) {
		if ((rc = mws__client_ended(c)) || mws__room_now(c, len))
			break;
		int w = timeout_ms > 0 ? pthread_cond_timedwait(&c->room_cond, &c->room_lock, &at)
		                       : pthread_cond_wait(&c->room_cond, &c->room_lock);
		if (w == ETIMEDOUT) {
			rc = mws__client_ended(c);
			if (!rc && !mws__room_now(c, len))
				rc = MWS_ETIMEDOUT;
			break;
		}
	}
	atomic_fetch_sub(&c->room_waiters, 1);
	pthread_mutex_unlock(&c->room_lock);
	return rc;
}
