/* ManagedWebSocketServer's auth hook and receive flow control. The C
 * on_auth runs on the I/O thread and JS on the main thread, so on_auth
 * posts the request to JS and answers MWS_AUTH_PENDING; the hook's answer
 * comes back through mws_server_auth_answer(). That needs a plain listener
 * (see managedws.h); server.js refuses `auth` with a certificate. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "events.h"
#include "server.h"

#ifndef MWS_NODE_HAS_SERVER
#include "mws_node_features.h"
#endif

#if MWS_NODE_HAS_SERVER

/* The header lines of a request: at most the head the server reads. */
#define MWS_NODE_AUTH_HEADERS_MAX (64 * 1024)

int mws_node_server_auth_read(napi_env env, napi_value opts, mws_node_server *ns)
{
	bool has = false, on = false;
	napi_value v;
	if (napi_has_named_property(env, opts, "auth", &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, opts, "auth", &v);
	if (napi_get_value_bool(env, v, &on) != napi_ok)
		return mws_node_throw_type(env, "auth must be a boolean here"), -1;
	ns->auth = on;
	return 0;
}

int mws_node_server_on_auth(mws_server *s, const mws_conn_info *info, void *ud)
{
	(void)s;
	if (!info->auth_id)
		return 503; /* cannot wait for JS here (TLS) */
	char *headers = malloc(MWS_NODE_AUTH_HEADERS_MAX);
	if (!headers)
		return 503;
	int hn = mws_conn_info_headers(info, headers, MWS_NODE_AUTH_HEADERS_MAX);
	if (hn < 0)
		hn = 0, headers[0] = '\0';
	const char *str[5] = {info->peer_ip, info->path, info->origin, info->subprotocol, headers};
	size_t n[5], len = 0;
	for (int i = 0; i < 5; i++)
		len += (n[i] = strlen(str[i])) + 1;
	mws_node_ev *ev = mws_node_ev_new(SEV_AUTH, NULL, len - 1);
	if (ev) {
		ev->id = info->auth_id;
		char *p = ev->data;
		for (int i = 0; i < 5; p += n[i++] + 1)
			memcpy(p, str[i], n[i] + 1);
	}
	free(headers);
	/* Not delivered (the server is closing): refuse now. */
	return mws_node_post(ud, ev) ? 503 : MWS_AUTH_PENDING;
}

size_t mws_node_server_auth_args(napi_env env, const mws_node_ev *ev, napi_value *argv)
{
	const char *p = ev->data;
	size_t argc = 3;
	for (; argc < 8; argc++, p += strlen(p) + 1)
		napi_create_string_utf8(env, p, NAPI_AUTO_LENGTH, &argv[argc]);
	return argc;
}

/* serverAuthAnswer(owner, authId, status) -> true, or false when that
 * handshake no longer waits (the client left, the timeout passed). */
static napi_value mws__server_auth_answer(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	mws_node_server *ns = mws_node_server_this(env, info, 2, argv, 0);
	if (!ns)
		return NULL;
	double id = 0;
	int32_t status = 0;
	if (napi_get_value_double(env, argv[0], &id) != napi_ok || id < 1 ||
	    napi_get_value_int32(env, argv[1], &status) != napi_ok)
		return mws_node_throw_type(env, "serverAuthAnswer(owner, authId, status)");
	int rc = ns->s ? mws_server_auth_answer(ns->s, (uint64_t)id, status) : MWS_ECLOSED;
	if (rc && rc != MWS_ECLOSED)
		return mws_node_throw_mws(env, rc, "auth answer");
	napi_value v;
	NAPI_OK(env, napi_get_boolean(env, rc == 0, &v));
	return v;
}

/* serverPauseRx(owner, id, paused) */
static napi_value mws__server_pause_rx(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	mws_node_server *ns = mws_node_server_this(env, info, 2, argv, 1);
	if (!ns)
		return NULL;
	double id = 0;
	bool paused = false;
	if (napi_get_value_double(env, argv[0], &id) != napi_ok || id < 0 ||
	    id != (double)(uint64_t)id)
		return mws_node_throw_type(env, "connection id must be a number");
	napi_get_value_bool(env, argv[1], &paused);
	return mws_node_check(env, mws_server_pause_rx(ns->s, (mws_conn_id)id, paused ? 1 : 0),
	                      paused ? "pause" : "resume");
}

napi_value mws_node_server_auth_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		MWS_NODE_FN("serverAuthAnswer", mws__server_auth_answer),
		MWS_NODE_FN("serverPauseRx", mws__server_pause_rx),
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return exports;
}

#endif
