/* Shared pieces of the managedws Node-API addon. */
#ifndef MWS_NODE_ADDON_H
#define MWS_NODE_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stdint.h>
#include <stdlib.h>

#include "managedws.h"

/* Per-environment state (napi_set_instance_data): nothing is global, so the
 * addon loads in worker threads and in several environments at once. */
typedef struct mws_node_inst {
	napi_ref dispatch;    /* JS function (owner, kind, ...args) set by index.js */
	int64_t live_clients; /* native clients not yet freed (a debug counter) */
	int64_t live_servers;
} mws_node_inst;

/* What a thread-safe function carries to the JS thread. */
enum { MWS_NODE_EV_STATE = 0, MWS_NODE_EV_MESSAGE = 1, MWS_NODE_EV_SERVER = 2 };

/* Returns on a failed napi call; the failure is already a pending JS
 * exception, or becomes one here. */
#define NAPI_OK(env, call)                                                           \
	do {                                                                         \
		if ((call) != napi_ok) {                                             \
			mws_node_throw_last(env);                                    \
			return NULL;                                                 \
		}                                                                    \
	} while (0)

void mws_node_throw_last(napi_env env);
/* Throws an Error whose .code is "MWS_E..." for a negative mws code. */
void mws_node_throw_mws(napi_env env, int rc, const char *what);
mws_node_inst *mws_node_inst_get(napi_env env);
/* Calls the dispatcher with `owner` and args; an exception thrown by user
 * code becomes an uncaught exception, as for any event callback. */
void mws_node_dispatch(napi_env env, napi_value owner, size_t argc, napi_value *argv);

/* Option readers: an absent or undefined property leaves *out alone and
 * returns 0; a wrong type throws TypeError and returns -1. */
int mws_node_opt_int(napi_env env, napi_value obj, const char *name, int *out);
int mws_node_opt_size(napi_env env, napi_value obj, const char *name, size_t *out);
int mws_node_opt_double(napi_env env, napi_value obj, const char *name, double *out);
int mws_node_opt_bool(napi_env env, napi_value obj, const char *name, int *out);
/* *out is malloc'd (free it); NULL when absent or null. */
int mws_node_opt_string(napi_env env, napi_value obj, const char *name, char **out);
/* A JS string as a malloc'd NUL-terminated UTF-8 string; NULL (after
 * throwing) on error. */
char *mws_node_string(napi_env env, napi_value v, size_t *len_out);
/* Bytes of a string (copied into *owned) or of a Buffer, TypedArray,
 * DataView or ArrayBuffer (borrowed). Returns 0 or -1 after throwing. */
int mws_node_bytes(napi_env env, napi_value v, const void **data, size_t *len, char **owned,
                   int *is_string);

void mws_node_set_num(napi_env env, napi_value obj, const char *name, double v);

napi_value mws_node_client_init(napi_env env, napi_value exports);
napi_value mws_node_server_init(napi_env env, napi_value exports);

#endif
