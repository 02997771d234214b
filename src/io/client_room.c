/* The send queue's low-water mark, for senders that wait for room
 * (mws_client_wait_room) instead of retrying a full queue in a loop: the
 * I/O thread wakes them once half the queue has left, as Python
 * websockets' drain() and Node's 'drain' event do, so that one wake buys
 * many sends. */
#include "io/client_io.h"

int mws__client_at_low_water(struct mws_client *c)
{
	return atomic_load(&c->pending_msgs) <= c->set.queue_max_messages / 2 &&
	       atomic_load(&c->pending_bytes) <= c->set.queue_max_bytes / 2;
}

void mws__client_room_wake(struct mws_client *c)
{
	/* Sequentially consistent with the waiter, which counts itself in
	 * before it reads the queue: either it sees what just left, or this
	 * sees it waiting (client_room.c in src/api). */
	if (!atomic_load(&c->room_waiters))
		return;
	if (!mws__client_at_low_water(c) && c->state != MWS_STATE_CLOSED &&
	    c->state != MWS_STATE_FAILED)
		return;
	pthread_mutex_lock(&c->room_lock);
	pthread_cond_broadcast(&c->room_cond);
	pthread_mutex_unlock(&c->room_lock);
}
