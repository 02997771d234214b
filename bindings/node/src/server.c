/* The server half of the addon: ManagedWebSocketServer's binding calls
 * over an mws_server. Its lifetime is the handle's (handle.h); a listening
 * server keeps the process alive and its JS object pinned, like
 * net.Server, unless unref()'d. Closing frees the C server on a libuv
 * worker (mws_server_free waits for close frames), then posts a last
 * "closed" event through the same thread-safe function, so it reaches JS
 * after every disconnect event: that is its terminal event. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "events.h"
#include "handle.h"
#include "server.h"

#ifndef MWS_NODE_HAS_SERVER
#include "mws_node_features.h"
#endif

#if MWS_NODE_HAS_SERVER

/* At most this many captureHeaders names. */
#define MWS_NODE_MAX_CAPTURE 32

/* ---- the handle's operations ---- */

static int mws__server_is_live(const mws_node_handle *h)
{
	const mws_node_server *ns = (const mws_node_server *)h;
	return ns->s && !ns->closing;
}

/* Closing: until the closed event, which close()'s promise waits for. */
static int mws__server_wants_pin(const mws_node_handle *h)
{
	const mws_node_server *ns = (const mws_node_server *)h;
	return ns->closing || (ns->s && h->user_ref && ns->listening);
}

/* The handle never calls this while a close or shutdown is in flight. */
static void mws__server_free_native(mws_node_handle *h)
{
	mws_node_server *ns = (mws_node_server *)h;
	if (!ns->s)
		return;
	mws_server_free(ns->s);
	ns->s = NULL;
	h->inst->live_servers--;
}

static void mws__server_destroy(mws_node_handle *h)
{
	mws_node_server *ns = (mws_node_server *)h;
	for (uint32_t i = 0; i < ns->ncapture; i++)
		free(ns->capture[i]);
	free(ns->capture);
	free(h);
}

/* dispatcher(owner, EV_SERVER, SEV_*, id, ...): CONNECT peerIp, path,
 * origin, subprotocol; MESSAGE data, isBinary; DISCONNECT code, reason,
 * why; SESSION event (mws_session_event: suspended, resumed); CLOSED
 * nothing more, and the server is shut down. */
static void mws__server_deliver(mws_node_handle *h, napi_env env, napi_value owner,
                                const mws_node_ev *ev)
{
	mws_node_server *ns = (mws_node_server *)h;
	if (owner) {
		napi_value argv[8];
		size_t argc = 3;
		napi_create_int32(env, MWS_NODE_EV_SERVER, &argv[0]);
		napi_create_int32(env, ev->kind, &argv[1]);
		napi_create_double(env, (double)ev->id, &argv[2]);
		if (ev->kind == SEV_CONNECT) {
			/* four NUL-terminated strings, one after the other, then
			 * name, value pairs of the captured request headers */
			const char *p = ev->data, *end = ev->data + ev->len;
			for (; argc < 7; argc++, p += strlen(p) + 1)
				napi_create_string_utf8(env, p, NAPI_AUTO_LENGTH, &argv[argc]);
			napi_create_object(env, &argv[argc++]);
			while (p < end) {
				const char *value = p + strlen(p) + 1;
				napi_value v;
				napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
				napi_set_named_property(env, argv[7], p, v);
				p = value + strlen(value) + 1;
			}
		} else if (ev->kind == SEV_MESSAGE) {
			mws_node_ev_message(env, ev, &argv[3]);
			argc = 5;
		} else if (ev->kind == SEV_DISCONNECT) {
			napi_create_int32(env, ev->code, &argv[3]);
			napi_create_string_utf8(env, ev->data, ev->len, &argv[4]);
			napi_create_int32(env, ev->why, &argv[5]);
			argc = 6;
		} else if (ev->kind == SEV_SESSION) {
			napi_create_int32(env, ev->why, &argv[3]);
			argc = 4;
		} else if (ev->kind == SEV_AUTH) {
			argc = mws_node_server_auth_args(env, ev, argv);
		}
		mws_node_dispatch(env, owner, argc, argv);
	}
	if (ev->kind == SEV_CLOSED) {
		ns->closing = 0;
		mws_node_handle_shutdown(h, napi_tsfn_release); /* terminal */
	}
}

static const mws_node_handle_ops mws__server_ops = {
	.name = "server",
	.what = "ManagedWebSocketServer",
	.is_live = mws__server_is_live,
	.wants_pin = mws__server_wants_pin,
	.free_native = mws__server_free_native,
	.deliver = mws__server_deliver,
	.destroy = mws__server_destroy,
};

/* ---- the I/O thread's side ---- */

static void mws__server_on_connect(mws_server *s, mws_conn_id id, const mws_conn_info *info,
                                   void *ud)
{
	(void)s;
	mws_node_server *ns = ud;
	const char *str[4] = {info->peer_ip, info->path, info->origin, info->subprotocol};
	size_t n[4], len = 0;
	for (int i = 0; i < 4; i++)
		len += (n[i] = strlen(str[i])) + 1;
	/* Captured headers: read now, the request is gone after this callback. */
	char *vals[MWS_NODE_MAX_CAPTURE] = {0};
	for (uint32_t i = 0; i < ns->ncapture; i++) {
		char buf[8192];
		int r = mws_conn_info_header(info, ns->capture[i], buf, sizeof buf);
		if (r > 0 && (vals[i] = strdup(buf)))
			len += strlen(ns->capture[i]) + 1 + (size_t)r + 1;
	}
	mws_node_ev *ev = mws_node_ev_new(SEV_CONNECT, NULL, len - 1);
	if (ev) {
		ev->id = id;
		char *p = ev->data;
		for (int i = 0; i < 4; p += n[i++] + 1)
			memcpy(p, str[i], n[i] + 1);
		for (uint32_t i = 0; i < ns->ncapture; i++) {
			if (!vals[i])
				continue;
			size_t kn = strlen(ns->capture[i]) + 1, vn = strlen(vals[i]) + 1;
			memcpy(p, ns->capture[i], kn);
			memcpy(p + kn, vals[i], vn);
			p += kn + vn;
		}
	}
	for (uint32_t i = 0; i < ns->ncapture; i++)
		free(vals[i]);
	mws_node_post(ud, ev);
}

static void mws__server_on_message(mws_server *s, mws_conn_id id, const void *data, size_t len,
                                   int type, void *ud)
{
	(void)s;
	mws_node_ev *ev = mws_node_ev_new(SEV_MESSAGE, data, len);
	if (ev) {
		ev->id = id;
		ev->type = type;
	}
	mws_node_post(ud, ev);
}

static void mws__server_on_disconnect(mws_server *s, mws_conn_id id, int code,
                                      const char *reason, int why, void *ud)
{
	(void)s;
	mws_node_ev *ev = mws_node_ev_new(SEV_DISCONNECT, reason, strlen(reason));
	if (ev) {
		ev->id = id;
		ev->code = code;
		ev->why = why;
	}
	mws_node_post(ud, ev);
}

static void mws__server_on_session(mws_server *s, mws_conn_id id, int event, void *ud)
{
	(void)s;
	mws_node_ev *ev = mws_node_ev_new(SEV_SESSION, NULL, 0);
	if (ev) {
		ev->id = id;
		ev->why = event;
	}
	mws_node_post(ud, ev);
}

/* ---- the JS thread's side ---- */

/* The server of a binding call's `this`, and its arguments after it;
 * need_live: not closed nor closing. */
mws_node_server *mws_node_server_this(napi_env env, napi_callback_info info, size_t argc,
                                     napi_value *argv, int need_live)
{
	return (mws_node_server *)mws_node_handle_unwrap(env, info, &mws__server_ops, argc, argv,
	                                                 need_live);
}

/* The options of mws_server_config but origins, read in this order. */
#define OPT(js, kind, field) MWS_NODE_OPT(js, kind, mws_server_config, field)
static const mws_node_opt mws__server_opts[] = {
	OPT("host", STRING, iface),
	OPT("certFile", STRING, cert_file),
	OPT("keyFile", STRING, key_file),
	OPT("port", INT, port),
	OPT("heartbeatTimeoutMs", INT, heartbeat_timeout_ms),
	OPT("checkIntervalMs", INT, check_interval_ms),
	OPT("pingIntervalMs", INT, ping_interval_ms),
	OPT("jsonProtocol", BOOL, json_protocol),
	OPT("maxMessageBytes", SIZE, max_message_bytes),
	OPT("maxConnections", INT, max_connections),
	OPT("ratePerSec", DOUBLE, rate_per_sec),
	OPT("rateBurst", INT, rate_burst),
	OPT("handshakeTimeoutMs", INT, handshake_timeout_ms),
	OPT("sendQueueMaxBytes", SIZE, send_queue_max_bytes),
	OPT("randomSeed", SEED, random_seed),
	OPT("jsonAllowInvalid", BOOL, json_allow_invalid),
	OPT("maxHandshakesPerAddress", INT, max_handshakes_per_address),
	OPT("protocolMode", INT, protocol_mode),
	OPT("sessionTtlMs", INT, session_ttl_ms),
	OPT("maxSessions", INT, max_sessions),
	OPT("sessionMaxBytes", SIZE, session_max_bytes),
	OPT("sessionMaxMessages", INT, session_max_messages),
	OPT("sessionStore", STRING, session_store_url),
	OPT("rxBufferBytes", SIZE, rx_buffer_bytes),
	OPT("releasePortOnShutdown", BOOL, release_port_on_shutdown),
};
#undef OPT
#define N_OPTS (sizeof mws__server_opts / sizeof *mws__server_opts)

/* options.origins, if an array, as malloc'd strings into cfg and
 * *origins (free each of *n, then the array). 0, or -1 after throwing. */
static int mws__origins_read(napi_env env, napi_value opts, mws_server_config *cfg,
                             char ***origins, uint32_t *n)
{
	bool has = false, is_arr = false;
	napi_value arr;
	if (napi_has_named_property(env, opts, "origins", &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, opts, "origins", &arr);
	napi_is_array(env, arr, &is_arr);
	if (!is_arr)
		return 0;
	napi_get_array_length(env, arr, n);
	if (!(*origins = calloc(*n ? *n : 1, sizeof **origins))) {
		mws_node_throw_mws(env, MWS_ENOMEM, "origins");
		return -1;
	}
	for (uint32_t i = 0; i < *n; i++) {
		napi_value v;
		napi_get_element(env, arr, i, &v);
		if (!((*origins)[i] = mws_node_string(env, v, NULL)))
			return -1;
	}
	cfg->origins = (const char *const *)*origins;
	cfg->origin_count = *n;
	return 0;
}

/* options.captureHeaders, an array of names, copied into ns. 0, or -1
 * after throwing. */
static int mws__capture_read(napi_env env, napi_value opts, mws_node_server *ns)
{
	bool has = false, is_arr = false;
	napi_value arr;
	uint32_t n = 0;
	if (napi_has_named_property(env, opts, "captureHeaders", &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, opts, "captureHeaders", &arr);
	if (napi_is_array(env, arr, &is_arr) != napi_ok || !is_arr)
		return mws_node_throw_type(env, "captureHeaders must be an array of names"), -1;
	napi_get_array_length(env, arr, &n);
	if (n > MWS_NODE_MAX_CAPTURE)
		return mws_node_throw_type(env, "captureHeaders: at most 32 names"), -1;
	if (!(ns->capture = calloc(n ? n : 1, sizeof *ns->capture)))
		return mws_node_throw_mws(env, MWS_ENOMEM, "captureHeaders"), -1;
	for (uint32_t i = 0; i < n; i++) {
		napi_value v;
		napi_get_element(env, arr, i, &v);
		if (!(ns->capture[ns->ncapture] = mws_node_string(env, v, NULL)))
			return -1;
		ns->ncapture++;
	}
	return 0;
}

static int mws__server_create(napi_env env, napi_value owner, const mws_server_config *cfg,
                              napi_value opts)
{
	mws_node_server *ns =
		(mws_node_server *)mws_node_handle_new(env, &mws__server_ops, sizeof *ns);
	if (!ns)
		return -1;
	if (mws_node_server_auth_read(env, opts, ns) || mws__capture_read(env, opts, ns)) {
		mws__server_destroy(&ns->h);
		return -1;
	}
	/* mws.v1 sessions connect at their hello, when the request is gone:
	 * the library keeps the captured headers until then. */
	mws_server_config kcfg = *cfg;
	kcfg.keep_headers = (const char *const *)ns->capture;
	kcfg.keep_header_count = ns->ncapture;
	int rc = mws_server_new(&ns->s, NULL, &kcfg);
	if (rc == 0) {
		ns->h.inst->live_servers++;
		mws_server_callbacks cbs = {sizeof cbs,
		                            ns->auth ? mws_node_server_on_auth : NULL,
		                            mws__server_on_connect,
		                            mws__server_on_message, mws__server_on_disconnect,
		                            mws__server_on_session};
		rc = mws_server_set_callbacks(ns->s, &cbs, ns, NULL);
	}
	return mws_node_handle_attach(&ns->h, owner, rc);
}

/* serverNew(owner, options) */
static napi_value mws__server_new(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	napi_valuetype t = napi_undefined;
	if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object)
		return mws_node_throw_type(env, "serverNew(owner, options)");

	mws_server_config cfg;
	mws_server_config_init(&cfg);
	char **origins = NULL;
	uint32_t norigins = 0;
	if (!mws_node_opts_read(env, argv[1], mws__server_opts, N_OPTS, &cfg) &&
	    !mws__origins_read(env, argv[1], &cfg, &origins, &norigins))
		mws__server_create(env, argv[0], &cfg, argv[1]);
	mws_node_opts_free(mws__server_opts, N_OPTS, &cfg);
	if (origins)
		for (uint32_t i = 0; i < norigins; i++)
			free(origins[i]);
	free(origins);
	return NULL;
}

/* serverStart(owner) -> port */
static napi_value mws__server_start(napi_env env, napi_callback_info info)
{
	mws_node_server *ns = mws_node_server_this(env, info, 0, NULL, 1);
	if (!ns)
		return NULL;
	int rc = mws_server_start(ns->s);
	if (rc)
		return mws_node_throw_mws(env, rc, "listen");
	ns->listening = 1;
	mws_node_handle_update_pin(&ns->h);
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, mws_server_port(ns->s), &v));
	return v;
}

static napi_value mws__server_port(napi_env env, napi_callback_info info)
{
	mws_node_server *ns = mws_node_server_this(env, info, 0, NULL, 0);
	if (!ns)
		return NULL;
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, ns->s ? mws_server_port(ns->s) : 0, &v));
	return v;
}

static int mws__conn_id(napi_env env, napi_value v, mws_conn_id *id)
{
	double d;
	if (napi_get_value_double(env, v, &d) != napi_ok || d < 0 || d != (double)(uint64_t)d) {
		mws_node_throw_type(env, "connection id must be a number");
		return -1;
	}
	*id = (mws_conn_id)d;
	return 0;
}

/* serverSend(owner, id, data, binary?); id null: broadcast */
static napi_value mws__server_send(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	mws_node_server *ns = mws_node_server_this(env, info, 3, argv, 1);
	if (!ns)
		return NULL;
	napi_valuetype t;
	int broadcast = napi_typeof(env, argv[0], &t) == napi_ok && t == napi_null;
	mws_conn_id id = 0;
	mws_node_msg m;
	if ((!broadcast && mws__conn_id(env, argv[0], &id)) ||
	    mws_node_msg_get(env, argv[1], argv[2], &m))
		return NULL;
	int rc = broadcast ? mws_server_broadcast(ns->s, m.data, m.len, m.type)
	                   : mws_server_send(ns->s, id, m.data, m.len, m.type);
	mws_node_msg_free(&m);
	return mws_node_check(env, rc, broadcast ? "broadcast" : "send");
}

/* serverCloseConn(owner, id, code, reason) */
static napi_value mws__server_close_conn(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	mws_node_server *ns = mws_node_server_this(env, info, 3, argv, 1);
	mws_conn_id id;
	if (!ns || mws__conn_id(env, argv[0], &id))
		return NULL;
	int32_t code = 0;
	char *reason;
	mws_node_int32_or(env, argv[1], &code);
	if (mws_node_string_or_null(env, argv[2], &reason))
		return NULL;
	int rc = mws_server_close(ns->s, id, code, reason);
	free(reason);
	return mws_node_check(env, rc, "close");
}

/* ---- close and shutdown run on a libuv worker: both wait for peers ----
 * From queueing to the end of the completion callback the handle holds the
 * struct and the C object (mws_node_handle_work_begin/_end): the JS object
 * may lose its last reference meanwhile, and its finalizer then defers. */

enum { WORK_CLOSE = 1, WORK_SHUTDOWN = 2 };

static void mws__server_work_exec(napi_env env, void *data)
{
	(void)env;
	mws_node_server *ns = data;
	if (ns->work_kind == WORK_SHUTDOWN) {
		ns->work_rc = mws_server_shutdown(ns->s, ns->sd_code, ns->sd_spread, ns->sd_deadline);
	} else {
		mws_server_free(ns->s);
		ns->work_rc = 0;
	}
}

static void mws__server_work_done(napi_env env, napi_status status, void *data)
{
	mws_node_server *ns = data;
	napi_delete_async_work(env, ns->work);
	ns->work = NULL;
	napi_deferred d = ns->deferred;
	ns->deferred = NULL;
	napi_value v;
	if (status != napi_ok) { /* cancelled: the worker did not run it */
		if (ns->work_kind == WORK_CLOSE)
			ns->closing = 0;
		napi_reject_deferred(env, d,
		                     mws_node_error(env, NULL,
		                                    ns->work_kind == WORK_CLOSE ? "close cancelled"
		                                                                : "shutdown cancelled"));
	} else if (ns->work_kind == WORK_CLOSE) {
		ns->s = NULL;
		ns->h.inst->live_servers--;
		ns->listening = 0;
		/* The last event: after every disconnect already queued. */
		if (mws_node_post(&ns->h, mws_node_ev_new(SEV_CLOSED, NULL, 0))) {
			ns->closing = 0;
			mws_node_handle_shutdown(&ns->h, napi_tsfn_release);
		}
		napi_get_undefined(env, &v);
		napi_resolve_deferred(env, d, v);
	} else if (ns->work_rc == 0 || ns->work_rc == MWS_ETIMEDOUT) {
		napi_get_boolean(env, ns->work_rc == 0, &v);
		napi_resolve_deferred(env, d, v);
	} else {
		napi_reject_deferred(env, d,
		                     mws_node_error(env, mws_err_name(ns->work_rc),
		                                    mws_strerror(ns->work_rc)));
	}
	mws_node_handle_work_end(&ns->h); /* the last touch: it may free ns */
}

/* A promise for the work of `kind`, queued. If it cannot be queued the
 * promise is rejected with why and the server is left as it was. */
static napi_value mws__server_queue_work(napi_env env, mws_node_server *ns, int kind)
{
	napi_value promise, name;
	NAPI_OK(env, napi_create_promise(env, &ns->deferred, &promise));
	ns->work_kind = kind;
	if (napi_create_string_utf8(env, "managedws.server.close", NAPI_AUTO_LENGTH, &name) !=
	            napi_ok ||
	    napi_create_async_work(env, NULL, name, mws__server_work_exec, mws__server_work_done,
	                           ns, &ns->work) != napi_ok ||
	    napi_queue_async_work(env, ns->work) != napi_ok) {
		if (ns->work)
			napi_delete_async_work(env, ns->work);
		ns->work = NULL;
		napi_value err = NULL;
		mws_node_throw_last(env); /* then caught, to reject with */
		napi_get_and_clear_last_exception(env, &err);
		napi_reject_deferred(env, ns->deferred, err);
		ns->deferred = NULL;
		return promise;
	}
	if (kind == WORK_CLOSE)
		ns->closing = 1; /* pinned until the closed event */
	mws_node_handle_work_begin(&ns->h);
	return promise;
}

/* serverShutdown(owner, code, spreadWindowMs, deadlineMs) -> Promise<bool> */
static napi_value mws__server_shutdown(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	mws_node_server *ns = mws_node_server_this(env, info, 3, argv, 1);
	if (!ns)
		return NULL;
	if (ns->work)
		return mws_node_throw_mws(env, MWS_ESTATE, "shutdown");
	int32_t v[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++)
		mws_node_int32_or(env, argv[i], &v[i]);
	ns->sd_code = v[0];
	ns->sd_spread = v[1];
	ns->sd_deadline = v[2];
	return mws__server_queue_work(env, ns, WORK_SHUTDOWN);
}

/* serverClose(owner) -> Promise<void>: frees the C server. */
static napi_value mws__server_close(napi_env env, napi_callback_info info)
{
	mws_node_server *ns = mws_node_server_this(env, info, 0, NULL, 1);
	if (!ns)
		return NULL;
	if (ns->work)
		return mws_node_throw_mws(env, MWS_ESTATE, "close (a shutdown is running)");
	return mws__server_queue_work(env, ns, WORK_CLOSE);
}

/* serverRef(owner, bool): ref() / unref() as on net.Server. */
static napi_value mws__server_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_server *ns = mws_node_server_this(env, info, 1, argv, 0);
	if (ns)
		mws_node_handle_ref(&ns->h, argv[0]);
	return NULL;
}

napi_value mws_node_server_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		MWS_NODE_FN("serverNew", mws__server_new),
		MWS_NODE_FN("serverStart", mws__server_start),
		MWS_NODE_FN("serverPort", mws__server_port),
		MWS_NODE_FN("serverSend", mws__server_send),
		MWS_NODE_FN("serverCloseConn", mws__server_close_conn),
		MWS_NODE_FN("serverStats", mws_node_server_stats),
		MWS_NODE_FN("serverShutdown", mws__server_shutdown),
		MWS_NODE_FN("serverClose", mws__server_close),
		MWS_NODE_FN("serverRef", mws__server_ref),
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return mws_node_server_auth_init(env, exports);
}

#else /* no server in the C library this was built against */

napi_value mws_node_server_init(napi_env env, napi_value exports)
{
	(void)env;
	return exports;
}

#endif
