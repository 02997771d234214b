/* mws connect's session: stdin lines go out as messages, received
 * messages go to stdout, state changes to stderr, until the client ends
 * or stdin does. The I/O thread wakes the main thread through a pipe when
 * the client reaches FAILED or CLOSED. */
#ifndef MWS_CLI_CONNECT_SESSION_H
#define MWS_CLI_CONNECT_SESSION_H

#include <pthread.h>

#include "managedws.h"

/* mws connect's exit statuses (its --help lists them). */
enum {
	CONNECT_EXIT_CLOSED_BY_US = 0,
	CONNECT_EXIT_INTERNAL = 1,
	CONNECT_EXIT_USAGE = 2,
	CONNECT_EXIT_FAILED = 3,
	CONNECT_EXIT_CIRCUIT_OPEN = 4,
	CONNECT_EXIT_MAX_ATTEMPTS = 5,
	CONNECT_EXIT_SERVER_CLOSED = 6,
	CONNECT_EXIT_UNFLUSHED = 7,
};

typedef struct connect_session {
	/* Set by the caller before connect_session_attach(). */
	int binary;           /* send lines as binary messages */
	int quiet;            /* no state lines */
	int json;             /* --json: states and messages as JSON lines */
	int flush_timeout_ms; /* at stdin EOF, how long queued messages may take */
	int linger_ms;        /* then how long replies are still read */

	/* The session's own. */
	int wake[2];
	int ready;            /* the pipe and the lock exist */
	pthread_mutex_t lock;
	int ended;            /* FAILED or CLOSED reached */
	int end_state;
	char end_reason[160];
} connect_session;

/* Creates the wake-up pipe and the lock. 0, or -1 with errno set. */
int connect_session_open(connect_session *s);

/* Registers the session's callbacks on c, before mws_client_connect().
 * 0 or a negative MWS_E code. */
int connect_session_attach(connect_session *s, mws_client *c);

/* The stdin loop, on the main thread, until the client ends, stdin ends
 * and is flushed, or a signal arrives on sig_r. Returns the exit status. */
int connect_session_run(connect_session *s, mws_client *c, int sig_r);

/* Releases the pipe and the lock, if open; after the client is freed. */
void connect_session_close(connect_session *s);

#endif
