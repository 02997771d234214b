/* Events from the I/O thread to JavaScript. An I/O-thread callback copies
 * what it was told into a mws_node_ev and posts it on the owner's
 * thread-safe function; on the JS thread mws_node_call_js hands it to the
 * owner's deliver() and frees it. Every event is freed exactly once: when it
 * cannot be posted, when the environment is torn down (env == NULL), when
 * the owner is gone, or after delivery. */
#ifndef MWS_NODE_EVENTS_H
#define MWS_NODE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "managedws.h"
#include "node_api_pin.h"

struct mws_node_handle;

/* The first argument the dispatcher gets after the owner. */
enum {
	MWS_NODE_EV_STATE = 0,
	MWS_NODE_EV_MESSAGE = 1,
	MWS_NODE_EV_SERVER = 2,
	MWS_NODE_EV_SESSION = 3, /* client: mws.v1 session started / resumed / lost */
	MWS_NODE_EV_ACKED = 4,   /* client: delivery receipts up to `id` */
	MWS_NODE_EV_MESSAGES = 5,/* client: `id` messages in data, each a 4-byte
	                            length (host order), a type byte, the bytes */
	MWS_NODE_EV_SENT = 6,    /* client: send progress in counts[0..3]: written,
	                            discarded, queue messages, queue bytes */
	MWS_NODE_EV_CREDENTIALS = 7 /* client: JS providers, answer ask `id` */
};

typedef struct mws_node_ev {
	int kind;           /* the client's or the server's own event kinds */
	int type;           /* message: MWS_MSG_TEXT or MWS_MSG_BINARY */
	int from, to;       /* client state change */
	int code;           /* close code */
	int retry_delay_ms; /* client state change */
	int why;            /* server disconnect: mws_disconnect_why; client state
	                       change and session: mws_session_event */
	uint32_t attempt;   /* client state change */
	uint64_t id;        /* server: the connection; client acked: the number */
	uint64_t counts[6]; /* client session: unacked, resent, discarded, unsent,
	                       discarded_first, discarded_last */
	size_t len;         /* bytes in data, not counting the NUL after them */
	char data[];        /* message bytes, a reason, or NUL-separated strings */
} mws_node_ev;

/* A zeroed event of `kind` carrying a copy of data[0..len) (nothing copied
 * when data is NULL) and a NUL after it. NULL when out of memory: the event
 * is lost, as the I/O thread never waits. Any thread. */
mws_node_ev *mws_node_ev_new(int kind, const void *data, size_t len);

/* Queues ev for h's JS thread, never blocking (the queue is unbounded).
 * Returns 0, or -1 having freed ev (h's thread-safe function is released,
 * or ev is NULL). Any thread. */
int mws_node_post(struct mws_node_handle *h, mws_node_ev *ev);

/* The thread-safe function's call_js: context is the handle. */
void mws_node_call_js(napi_env env, napi_value js_cb, void *context, void *data);

/* A message event's data (a string for text, else a Buffer) and isBinary,
 * into out[0] and out[1]. JS thread. */
void mws_node_ev_message(napi_env env, const mws_node_ev *ev, napi_value out[2]);

/* An EV_MESSAGES event carrying a copy of msgs[0..count) (see the kinds
 * above); NULL when out of memory. Any thread. */
mws_node_ev *mws_node_ev_messages(const mws_message *msgs, size_t count);

/* Its messages as [data0, isBinary0, data1, isBinary1, ...] (a string for
 * text, else a Buffer) into *out. JS thread. */
void mws_node_ev_messages_array(napi_env env, const mws_node_ev *ev, napi_value *out);

#endif
