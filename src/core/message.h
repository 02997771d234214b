/* One outgoing message: a single allocation holding the header, room for
 * the WebSocket frame header in front (headroom) and the payload copy. */
#ifndef MWS_CORE_MESSAGE_H
#define MWS_CORE_MESSAGE_H
#include <stddef.h>
#include <stdint.h>

/* At least libwebsockets' LWS_PRE; checked by a static assert in src/io. */
#define MWS__MSG_HEADROOM 32

typedef struct mws__msg {
	struct mws__msg *next; /* intrusive FIFO link */
	size_t len;
	size_t cap;            /* payload room allocated (>= len): a block may be reused */
	uint8_t type;          /* mws_msg_type */
	_Alignas(16) unsigned char buf[]; /* MWS__MSG_HEADROOM + len bytes */
} mws__msg;

/* Copies `data`; NULL when out of memory. */
mws__msg *mws__msg_new(const void *data, size_t len, int type);
static inline unsigned char *mws__msg_payload(mws__msg *m) { return m->buf + MWS__MSG_HEADROOM; }
void mws__msg_free(mws__msg *m);

/* FIFO of messages, counted by number and bytes. Single-threaded. */
typedef struct mws__msg_queue {
	mws__msg *head, *tail;
	size_t count;
	uint64_t bytes;
} mws__msg_queue;

void mws__msgq_init(mws__msg_queue *q);
void mws__msgq_push(mws__msg_queue *q, mws__msg *m);
/* Puts `m` back at the front (a write that must be retried). */
void mws__msgq_push_front(mws__msg_queue *q, mws__msg *m);
mws__msg *mws__msgq_pop(mws__msg_queue *q);
/* Moves every message of `from` to the end of `q`; `from` ends empty. */
void mws__msgq_append(mws__msg_queue *q, mws__msg_queue *from);
static inline mws__msg *mws__msgq_peek(const mws__msg_queue *q) { return q->head; }
/* Frees every message; returns how many there were. */
size_t mws__msgq_clear(mws__msg_queue *q);

#endif
