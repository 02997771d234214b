/* The managedws Node-API addon: its per-environment state and the one door
 * from C to JavaScript (the dispatcher set by index.js). */
#ifndef MWS_NODE_ADDON_H
#define MWS_NODE_ADDON_H

#include <stdint.h>

#include "managedws.h"
#include "node_api_pin.h"

/* Per-environment state (napi_set_instance_data): nothing is global, so the
 * addon loads in worker threads and in several environments at once. */
typedef struct mws_node_inst {
	napi_ref dispatch;    /* JS function (owner, kind, ...args) set by index.js */
	int64_t live_clients; /* native clients not yet freed (a debug counter) */
	int64_t live_servers;
} mws_node_inst;

mws_node_inst *mws_node_inst_get(napi_env env);

/* Calls the dispatcher with `owner` and up to 7 args; an exception thrown
 * by user code becomes an uncaught exception, as for any event callback. */
void mws_node_dispatch(napi_env env, napi_value owner, size_t argc, napi_value *argv);

/* obj[name] = v, a number; a failure is ignored (it leaves the property
 * out). */
void mws_node_set_num(napi_env env, napi_value obj, const char *name, double v);

/* A binding call for napi_define_properties. */
#define MWS_NODE_FN(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

/* Define the client's and the server's binding calls on exports. NULL
 * after throwing. */
napi_value mws_node_client_init(napi_env env, napi_value exports);
napi_value mws_node_server_init(napi_env env, napi_value exports);

#endif
