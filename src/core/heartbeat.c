/* Heartbeat tracker. Heartbeats go out every interval whether or not the
 * previous one was answered, and the oldest unanswered one times out: after
 * the last answer a zombie is found within interval + timeout, whatever the
 * ratio of the two. */
#include "heartbeat.h"

void mws__hb_start(mws__heartbeat *hb, uint64_t interval_ms, uint64_t timeout_ms,
                   uint64_t now_ms)
{
	hb->interval_ms = interval_ms;
	hb->timeout_ms = timeout_ms;
	hb->next_send_ms = now_ms + interval_ms;
	hb->sent_at_ms = 0;
	hb->sent_at_us = 0;
}

static int outstanding(const mws__heartbeat *hb)
{
	return hb->sent_at_ms != 0;
}

int mws__hb_poll(const mws__heartbeat *hb, uint64_t now_ms, uint64_t *next_ms)
{
	uint64_t due = hb->next_send_ms;
	int action = MWS__HB_WAIT;
	if (outstanding(hb)) {
		uint64_t expiry = hb->sent_at_ms + hb->timeout_ms;
		if (now_ms >= expiry)
			action = MWS__HB_TIMED_OUT;
		else if (expiry < due)
			due = expiry;
	}
	if (action == MWS__HB_WAIT && now_ms >= hb->next_send_ms)
		action = MWS__HB_SEND;
	if (next_ms)
		*next_ms = action == MWS__HB_WAIT ? due : now_ms;
	return action;
}

void mws__hb_sent(mws__heartbeat *hb, uint64_t now_ms, uint64_t now_us)
{
	/* The oldest unanswered heartbeat is the one that times out (and the
	 * one an answer is timed against: answers come back in order). 0 means
	 * "none outstanding": a clock reading exactly 0 becomes 1 ms, which
	 * delays the timeout by at most that millisecond. */
	if (!outstanding(hb)) {
		hb->sent_at_ms = now_ms ? now_ms : 1;
		hb->sent_at_us = now_us;
	}
	hb->next_send_ms = now_ms + hb->interval_ms;
}

int64_t mws__hb_acked(mws__heartbeat *hb, uint64_t now_us)
{
	if (!outstanding(hb))
		return -1;
	uint64_t rtt = now_us > hb->sent_at_us ? now_us - hb->sent_at_us : 0;
	hb->sent_at_ms = 0;
	hb->sent_at_us = 0;
	return rtt > INT64_MAX ? INT64_MAX : (int64_t)rtt;
}
