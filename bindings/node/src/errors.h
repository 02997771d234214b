/* JavaScript errors thrown by the addon. A binding call that fails throws
 * and returns NULL; nothing asserts. */
#ifndef MWS_NODE_ERRORS_H
#define MWS_NODE_ERRORS_H

#include "node_api_pin.h"

/* Returns NULL from the calling napi_callback on a failed napi call; the
 * failure is already a pending JS exception, or becomes one here. */
#define NAPI_OK(env, call)                                                           \
	do {                                                                         \
		if ((call) != napi_ok) {                                             \
			mws_node_throw_last(env);                                    \
			return NULL;                                                 \
		}                                                                    \
	} while (0)

/* Throws an Error for the last failed napi call, unless an exception is
 * already pending (the usual reason for the failure). */
void mws_node_throw_last(napi_env env);

/* An Error with .code `code` (none when NULL) and `message`, not thrown: to
 * reject a promise with. NULL if it cannot be made. */
napi_value mws_node_error(napi_env env, const char *code, const char *message);

/* Throws an Error for a negative mws code: .code "MWS_E...", .errno the
 * number, message "<what>: <mws_strerror>". Returns NULL, what a binding
 * call returns after throwing. */
napi_value mws_node_throw_mws(napi_env env, int rc, const char *what);

/* mws_node_throw_mws() when rc is not 0. Returns NULL (undefined to JS):
 * the tail of a binding call whose result is a bare mws code. */
napi_value mws_node_check(napi_env env, int rc, const char *what);

/* Throws TypeError with .code ERR_INVALID_ARG_TYPE. Returns NULL. */
napi_value mws_node_throw_type(napi_env env, const char *message);

#endif
