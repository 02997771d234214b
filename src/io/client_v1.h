/* The client's mws.v1 state (docs/PROTOCOL.md, docs/V1-WIRING.md §2): one
 * session engine that lives across connections, and what one connection
 * knows about the handshake. Embedded in struct mws_client. */
#ifndef MWS_IO_CLIENT_V1_H
#define MWS_IO_CLIENT_V1_H

#include <stdatomic.h>

#include "core/envelope.h"
#include "core/session.h"

typedef struct mws__client_v1 {
	/* settings */
	int mode;                 /* mws_protocol_mode */
	int lost_mode;            /* mws_session_lost_mode */

	/* I/O thread only */
	mws__sess sess;           /* outbox, numbering, acks: across connections */
	unsigned char session_id[MWS__ENV_ID_LEN], secret[MWS__ENV_ID_LEN];
	int has_session;          /* session_id names a session to resume */
	int lost_pending;         /* the next welcome reports the session lost */
	int echo_watch;           /* fell back to plain: an echo of our hello is not delivered */
	int managed;              /* this connection speaks mws.v1 */
	int hello_sent, welcomed;
	int session_event;        /* mws_session_event of this connection, 0: plain */
	int goaway;               /* a goaway arrived on this connection */
	int final_ack_due;        /* ... and is answered with our final ack */
	uint32_t goaway_code;
	uint64_t goaway_retry_ms;
	int pong_due;
	uint64_t pong_ts;
	uint64_t settled;         /* send numbers settled (acked, discarded, written plain) */
	uint64_t acked_seen;      /* sess.stats.acked already turned into settled */
	uint64_t unacked_pub_last;
	mws__env_out out;         /* encode buffer, LWS_PRE headroom, reused */
	size_t tx_off;            /* bytes of `out` written as fragments so far */
	unsigned char *frag;      /* LWS_PRE + one fragment, allocated on first use */
	char goaway_reason[124];
	mws__timer ack_sul;

	/* any thread: published for stats */
	atomic_int managed_pub;
	atomic_uint_least64_t send_number; /* written under send_lock */
	atomic_uint_least64_t acked_number, unacked, replayed, duplicates,
		sessions_started, sessions_resumed, sessions_lost, lost_resent,
		lost_discarded, protocol_errors, batches_out, goaways;
} mws__client_v1;

#endif
