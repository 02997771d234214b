/* One side of an mws.v1 session (client or server alike): numbering of
 * outgoing messages, the outbox that keeps them until the peer acknowledges
 * them, cumulative acks and when to send them, in-order receipt with
 * duplicates dropped, replay after a resume, and batching. Pure logic: time
 * is passed in, nothing here touches a socket. Not thread-safe.
 *
 * The outbox holds every message not yet acknowledged, sent or not, in
 * sequence order, so one bound (count and bytes) covers the offline queue
 * and the unacknowledged messages: a full outbox refuses, it never drops.
 * Sequence numbers start at 1 and are consecutive, so a message's number is
 * first_seq plus its position. */
#ifndef MWS_CORE_SESSION_H
#define MWS_CORE_SESSION_H
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "message.h"

/* What a sender puts in one batch (docs/PROTOCOL.md §8): small enough for
 * any receiver's default limits. */
#define MWS__SESS_BATCH_MAX_COUNT 256
#define MWS__SESS_BATCH_MAX_BYTES 65536
/* A server closes a connection that sends no hello within this (4003). */
#define MWS__SESS_HELLO_TIMEOUT_MS 10000

/* Protocol errors (close with MWS__CLOSE_SEQUENCE), distinct from MWS_E*. */
#define MWS__SESS_EGAP (-100)  /* a data message skipped a sequence number */
#define MWS__SESS_EACK (-101)  /* an ack (or resume point) beyond what was sent */
#define MWS__SESS_ELOST (-102) /* the peer wants replayed what was already freed */

typedef struct mws__sess_limits {
	size_t max_messages;   /* 0: 1024 in the outbox */
	size_t max_bytes;      /* 0: 4 MiB of payload in the outbox */
	uint32_t ack_every;    /* 0: 32; ack after this many received */
	uint32_t ack_delay_ms; /* 0: 50; or this long after the first unacked one */
} mws__sess_limits;

typedef struct mws__sess_stats {
	uint64_t pushed;        /* messages numbered */
	uint64_t queue_full;    /* pushes refused (MWS_EQUEUEFULL) */
	uint64_t sent;          /* messages written for the first time */
	uint64_t replayed;      /* messages written again after a resume */
	uint64_t acked;         /* messages freed by acks */
	uint64_t envelopes;     /* data and batch envelopes written */
	uint64_t batches;       /* of which batches */
	uint64_t received;      /* delivered in order */
	uint64_t duplicates;    /* dropped by sequence number */
	uint64_t acks_sent;     /* ack values handed out to ride or stand alone */
} mws__sess_stats;

typedef struct mws__sess {
	mws__sess_limits lim;
	mws__msg_queue box;      /* unacknowledged, first_seq .. next_seq - 1 */
	uint64_t first_seq;      /* of box.head; next_seq when empty */
	uint64_t next_seq;       /* for the next push */
	mws__msg *cursor;        /* first message not written on this connection */
	uint64_t cursor_seq;     /* its number; next_seq when cursor is NULL */
	uint64_t highest_written; /* highest number ever written, 0 if none */
	uint64_t highest_acked;  /* by the peer, 0 if none */
	uint64_t last_recv;      /* highest delivered in order, 0 if none */
	uint64_t last_ack_sent;  /* the last ack value handed out */
	uint32_t unacked_recv;   /* received since then */
	uint64_t ack_due_at;     /* UINT64_MAX: no ack pending */
	mws__sess_stats stats;
} mws__sess;

void mws__sess_init(mws__sess *s, const mws__sess_limits *lim /* NULL: defaults */);
/* Frees the outbox. */
void mws__sess_destroy(mws__sess *s);

/* --- sending --- */

/* Would a payload of `len` bytes be accepted now? 0, MWS_EQUEUEFULL, or
 * MWS_ETOOBIG when it alone exceeds max_bytes. */
int mws__sess_can_push(const mws__sess *s, size_t len);
/* Numbers `m` and keeps it until acknowledged; writes its number to `seq`
 * (may be NULL). 0 (m is owned by the session), or MWS_EQUEUEFULL /
 * MWS_ETOOBIG (m stays the caller's; nothing else changes). */
int mws__sess_push(mws__sess *s, mws__msg *m, uint64_t *seq);
/* Numbers `m` whatever the bounds (messages another copy of the session
 * already numbered: the caller bounded them). */
void mws__sess_push_always(mws__sess *s, mws__msg *m);
static inline size_t mws__sess_outbox_count(const mws__sess *s) { return s->box.count; }
static inline uint64_t mws__sess_outbox_bytes(const mws__sess *s) { return s->box.bytes; }
/* Messages waiting to be written on this connection. */
static inline uint64_t mws__sess_unsent(const mws__sess *s) { return s->next_seq - s->cursor_seq; }
/* Messages written but not yet acknowledged. */
static inline uint64_t mws__sess_unacked(const mws__sess *s) { return s->cursor_seq - s->first_seq; }

/* The next write: up to max_count messages from the cursor whose envelope
 * (one data envelope, or a batch when count > 1, with `ack` riding) is at
 * most max_bytes. A first message larger than that goes alone. */
typedef struct mws__sess_batch {
	mws__msg *first;
	uint64_t first_seq;
	size_t count;      /* 0: nothing to write */
	size_t env_bytes;  /* the envelope's exact size */
} mws__sess_batch;
void mws__sess_plan(const mws__sess *s, size_t max_count, size_t max_bytes, uint64_t ack,
                    mws__sess_batch *out);
/* Marks a planned batch as written: the cursor moves past it. */
void mws__sess_commit(mws__sess *s, const mws__sess_batch *b);
/* Plan, take the ack that rides along, encode into `o` and commit.
 * Returns 1 when an envelope was written, 0 when nothing waits, or an
 * encoder error (nothing committed, the ack is still due). */
int mws__sess_write_next(mws__sess *s, mws__env_out *o, size_t max_count, size_t max_bytes);

/* A cumulative ack from the peer: frees every message up to `ack`. 0 (an
 * old ack is ignored), or MWS__SESS_EACK if `ack` was never written. */
int mws__sess_on_ack(mws__sess *s, uint64_t ack);

/* --- receiving --- */

#define MWS__SESS_DELIVER 1   /* hand it to the application */
#define MWS__SESS_DUPLICATE 0 /* already delivered: drop it */
/* A data message `seq` arrived at `now_ms`. DELIVER, DUPLICATE, or
 * MWS__SESS_EGAP (a number skipped: a protocol error). */
int mws__sess_on_data(mws__sess *s, uint64_t seq, uint64_t now_ms);
/* 1 when a standalone ack should be written now (ack_every reached, or
 * ack_delay_ms passed since the first unacked message). */
int mws__sess_ack_due(const mws__sess *s, uint64_t now_ms);
/* When an ack falls due (for the caller's timer); UINT64_MAX if none. */
static inline uint64_t mws__sess_ack_deadline(const mws__sess *s) { return s->ack_due_at; }
/* The ack to send now (last_recv), or 0 when the peer already has it;
 * clears the pending ack. */
uint64_t mws__sess_take_ack(mws__sess *s);

/* --- reconnecting --- */

/* The connection dropped: nothing is lost; the cursor rewinds on resume. */
/* The session resumed and the peer last received `peer_last_recv`: frees
 * what it has, rewinds the cursor so the rest is written again in order.
 * The peer knows our last_recv from hello/welcome, so no ack is pending.
 * 0, MWS__SESS_EACK (beyond what we wrote), MWS__SESS_ELOST (we freed
 * messages it says it lacks: treat the session as lost). */
int mws__sess_resume(mws__sess *s, uint64_t peer_last_recv);

/* Rebuilds an engine from a shared store's copy (another node held the
 * session): `box` holds messages first_seq .. next_seq - 1 and is moved
 * in. Everything in it counts as written once (the node that held it saved
 * before it wrote), so a resume rewinds and writes it again. 0, or
 * MWS__SESS_EACK when the numbers do not fit the box. */
int mws__sess_restore(mws__sess *s, uint64_t first_seq, uint64_t next_seq, uint64_t last_recv,
                      mws__msg_queue *box);

/* What happened to the outbox when the session was lost. */
typedef struct mws__sess_lost {
	uint64_t unacked;   /* written but never acknowledged: maybe delivered */
	uint64_t resent;    /* of those, kept to be written on the new session */
	uint64_t discarded; /* of those, freed (discard mode) */
	uint64_t unsent;    /* never written: kept, numbered anew */
} mws__sess_lost;
/* Starts a new session on the same object: numbering restarts at 1 on
 * both sides; unacknowledged messages are kept (resend = 1, possibly
 * duplicated) or freed (resend = 0); unsent ones are always kept. */
void mws__sess_restart(mws__sess *s, int resend, mws__sess_lost *out);

#endif
