/* Heartbeat tracker: when to send the next heartbeat, and when silence
 * after one means the connection is a zombie. Time is passed in. */
#ifndef MWS_CORE_HEARTBEAT_H
#define MWS_CORE_HEARTBEAT_H
#include <stdint.h>

typedef struct mws__heartbeat {
	uint64_t interval_ms;
	uint64_t timeout_ms;
	uint64_t next_send_ms;  /* when the next heartbeat is due */
	uint64_t sent_at_ms;    /* when the oldest unanswered one was sent, 0 if none */
	uint64_t sent_at_us;    /* same, in microseconds, for the round trip */
} mws__heartbeat;

typedef enum mws__hb_action {
	MWS__HB_WAIT = 0,   /* nothing to do before *next_ms */
	MWS__HB_SEND,       /* send a heartbeat now, then call mws__hb_sent() */
	MWS__HB_TIMED_OUT   /* no answer within the timeout: close with 4000 */
} mws__hb_action;

void mws__hb_start(mws__heartbeat *hb, uint64_t interval_ms, uint64_t timeout_ms,
                   uint64_t now_ms);
/* What to do at `now_ms`; *next_ms gets the time to ask again (the next
 * send or the oldest heartbeat's timeout, whichever comes first), so a
 * driver that polls only then, and not on answers, keeps the cadence. */
int mws__hb_poll(const mws__heartbeat *hb, uint64_t now_ms, uint64_t *next_ms);
void mws__hb_sent(mws__heartbeat *hb, uint64_t now_ms, uint64_t now_us);
/* An answer arrived: every heartbeat sent so far counts as answered.
 * Returns the round trip of the oldest in µs, or -1 if none was due. */
int64_t mws__hb_acked(mws__heartbeat *hb, uint64_t now_us);

#endif
