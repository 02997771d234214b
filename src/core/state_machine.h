/* The client's six states and the one table that moves between them. */
#ifndef MWS_CORE_STATE_MACHINE_H
#define MWS_CORE_STATE_MACHINE_H
#include "managedws.h"

typedef enum mws__event {
	MWS__EV_CONNECT = 0,     /* application asked to connect */
	MWS__EV_OPENED,          /* handshake completed */
	MWS__EV_DROP_RETRY,      /* attempt failed or connection lost; will retry */
	MWS__EV_DROP_FAIL,       /* failure that must not be retried */
	MWS__EV_DROP_CLOSE,      /* server ended the session on purpose (1000) */
	MWS__EV_RETRY_DUE,       /* backoff timer fired */
	MWS__EV_RECONNECT_NOW,   /* application skips the backoff wait */
	MWS__EV_DISCONNECT,      /* application disconnect() */
	MWS__EV_CLOSE,           /* application close() */
	MWS__EV_COUNT
} mws__event;

#define MWS__STATE_COUNT 6
#define MWS__STATE_INVALID (-1)

/* The state `event` leads to from `state`, or MWS__STATE_INVALID when the
 * table refuses it. Pure. */
int mws__sm_next(int state, int event);
const char *mws__event_name(int event);
/* "CONNECTING" and so on, static storage; "UNKNOWN" out of range. */
const char *mws__state_name(int state);

#endif
