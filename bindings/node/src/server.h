/* The server half of the addon, shared by server.c, server_auth.c and server_stats.c. */
#ifndef MWS_NODE_SERVER_H
#define MWS_NODE_SERVER_H

#include "handle.h"
#include "managedws.h"

typedef struct mws_node_server {
	mws_node_handle h; /* first: a server is its handle */
	mws_server *s;     /* NULL once freed */
	int listening, closing;
	napi_async_work work; /* close or shutdown in flight (see handle.h) */
	napi_deferred deferred;
	int work_kind, work_rc, sd_code, sd_spread, sd_deadline;
	char **capture;    /* request headers to copy at connect (set before start) */
	uint32_t ncapture;
	int auth;          /* options.auth: on_auth goes to JS (server_auth.c) */
} mws_node_server;

/* The second argument the dispatcher gets for a server event. */
enum { SEV_CONNECT = 0, SEV_MESSAGE = 1, SEV_DISCONNECT = 2, SEV_CLOSED = 3, SEV_SESSION = 4,
       SEV_AUTH = 5 };

/* The server of a binding call's `this`, and its arguments after it;
 * need_live: not closed nor closing. NULL after throwing. */
mws_node_server *mws_node_server_this(napi_env env, napi_callback_info info, size_t argc,
                                     napi_value *argv, int need_live);

/* server_stats.c: serverStats(owner). */
napi_value mws_node_server_stats(napi_env env, napi_callback_info info);

/* server_auth.c: options.auth (a boolean from JS: a hook is there). 0, or
 * -1 after throwing. */
int mws_node_server_auth_read(napi_env env, napi_value opts, mws_node_server *ns);
/* on_auth on the I/O thread: posts SEV_AUTH, answers later. */
int mws_node_server_on_auth(mws_server *s, const mws_conn_info *info, void *ud);
/* The dispatcher's arguments after (EV_SERVER, SEV_AUTH, authId) for
 * SEV_AUTH: peerIp, path, origin, subprotocol, rawHeaders. Returns argc. */
size_t mws_node_server_auth_args(napi_env env, const struct mws_node_ev *ev, napi_value *argv);
/* serverAuthAnswer, serverPauseRx. */
napi_value mws_node_server_auth_init(napi_env env, napi_value exports);

#endif
