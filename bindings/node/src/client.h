/* The client half of the addon, shared by client.c and client_creds.c. */
#ifndef MWS_NODE_CLIENT_H
#define MWS_NODE_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>

#include "handle.h"
#include "managedws.h"

typedef struct mws_node_client {
	mws_node_handle h;             /* first: a client is its handle */
	mws_client *c;                 /* NULL once freed */
	int state;                     /* as last seen in JS */
	int connects_pending;          /* connect() calls not yet seen as CONNECTING */
	atomic_int want_sent;          /* JS waits for send progress (callbacks, 'drain') */
	pthread_mutex_t creds_lock;    /* application thread vs I/O thread */
	char *creds_headers;           /* "Name: value\n" lines */
	char *creds_query;
	char *creds_url;               /* the URL of the next attempts, or NULL */
	/* JS providers answer each attempt (client_creds.c), under creds_lock */
	int defer_creds;               /* the hook waits for JS */
	int creds_waiting;             /* an ask was posted, its answer not used */
	uint64_t ask_seq, ready_seq;   /* the last ask posted, the last answered */
	uint64_t ask_attempt;          /* stats.attempts_total when it was posted */
} mws_node_client;

/* The client of a binding call's `this`, and its arguments after it.
 * NULL after throwing. */
mws_node_client *mws_node_client_this(napi_env env, napi_callback_info info, size_t argc,
                                     napi_value *argv, int need_live);

/* client_creds.c: the credentials hook on the I/O thread. */
int mws_node_client_on_credentials(mws_client *c, mws_credentials *creds, void *ud);
/* clientSetCredentials, clientDeferCredentials, clientCredentialsReady,
 * clientPauseRx. */
napi_value mws_node_client_creds_init(napi_env env, napi_value exports);

#endif
