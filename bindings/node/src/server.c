/* The server half of the addon.
 *
 * Lifetime as for the client (see client.c): owned by the wrapped JS object
 * and by its thread-safe function. A listening server keeps the process
 * alive and its JS object pinned, like net.Server, unless unref()'d.
 * Closing frees the C server on a libuv worker (mws_server_free waits for
 * close frames), then posts a last "closed" event through the same
 * thread-safe function, so it reaches JS after every disconnect event. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

#ifndef MWS_NODE_HAS_SERVER
#include "mws_node_features.h"
#endif

#if MWS_NODE_HAS_SERVER

typedef struct mws_node_server {
	napi_env env;
	mws_node_inst *inst;
	mws_server *s;                 /* NULL once freed */
	napi_threadsafe_function tsfn; /* NULL once released */
	napi_ref owner;
	int holds; /* wrap + tsfn */
	int pinned, user_ref, listening, closing;
	int hook_added;
	napi_async_work work; /* close or shutdown in flight */
	napi_deferred deferred;
	int work_kind, work_rc, sd_code, sd_spread, sd_deadline;
} mws_node_server;

enum { SEV_CONNECT = 0, SEV_MESSAGE = 1, SEV_DISCONNECT = 2, SEV_CLOSED = 3 };

typedef struct mws_node_sev {
	int kind;
	uint64_t id;
	int type, code, why;
	size_t len; /* message bytes or reason */
	size_t off_path, off_origin, off_subprotocol; /* connect: strings in data */
	char data[];
} mws_node_sev;

static void mws__server_update_pin(mws_node_server *ns)
{
	int want = ns->s && ns->owner && ns->tsfn && (ns->closing || (ns->user_ref && ns->listening));
	if (want == ns->pinned)
		return;
	uint32_t n;
	if (want) {
		napi_reference_ref(ns->env, ns->owner, &n);
		napi_ref_threadsafe_function(ns->env, ns->tsfn);
	} else {
		if (ns->owner)
			napi_reference_unref(ns->env, ns->owner, &n);
		if (ns->tsfn)
			napi_unref_threadsafe_function(ns->env, ns->tsfn);
	}
	ns->pinned = want;
}

static void mws__server_maybe_free_struct(mws_node_server *ns)
{
	if (--ns->holds == 0)
		free(ns);
}

static void mws__server_cleanup_hook(void *arg)
{
	mws_node_server *ns = arg;
	ns->hook_added = 0;
	if (ns->s && !ns->work) {
		mws_server_free(ns->s);
		ns->s = NULL;
		ns->inst->live_servers--;
	}
}

static void mws__server_release(mws_node_server *ns, napi_threadsafe_function_release_mode mode)
{
	if (ns->hook_added) {
		ns->hook_added = 0;
		napi_remove_env_cleanup_hook(ns->env, mws__server_cleanup_hook, ns);
	}
	if (ns->tsfn) {
		napi_threadsafe_function t = ns->tsfn;
		ns->tsfn = NULL;
		napi_release_threadsafe_function(t, mode);
	}
}

static void mws__server_tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	mws_node_server *ns = data;
	ns->tsfn = NULL;
	mws__server_maybe_free_struct(ns);
}

static void mws__server_wrap_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	mws_node_server *ns = data;
	ns->pinned = 0;
	if (ns->s && !ns->work) {
		mws_server_free(ns->s);
		ns->s = NULL;
		ns->inst->live_servers--;
	}
	mws__server_release(ns, napi_tsfn_abort);
	if (ns->owner) {
		napi_delete_reference(env, ns->owner);
		ns->owner = NULL;
	}
	mws__server_maybe_free_struct(ns);
}

/* ---- I/O thread ---- */

static void mws__server_post(mws_node_server *ns, mws_node_sev *ev)
{
	if (!ns->tsfn ||
	    napi_call_threadsafe_function(ns->tsfn, ev, napi_tsfn_nonblocking) != napi_ok)
		free(ev);
}

static void mws__server_on_connect(mws_server *s, mws_conn_id id, const mws_conn_info *info,
                                   void *ud)
{
	(void)s;
	mws_node_server *ns = ud;
	size_t a = strlen(info->peer_ip), b = strlen(info->path), c = strlen(info->origin),
	       d = strlen(info->subprotocol);
	mws_node_sev *ev = malloc(sizeof *ev + a + b + c + d + 4);
	if (!ev)
		return;
	ev->kind = SEV_CONNECT;
	ev->id = id;
	char *p = ev->data;
	memcpy(p, info->peer_ip, a + 1);
	ev->off_path = a + 1;
	memcpy(p + ev->off_path, info->path, b + 1);
	ev->off_origin = ev->off_path + b + 1;
	memcpy(p + ev->off_origin, info->origin, c + 1);
	ev->off_subprotocol = ev->off_origin + c + 1;
	memcpy(p + ev->off_subprotocol, info->subprotocol, d + 1);
	mws__server_post(ns, ev);
}

static void mws__server_on_message(mws_server *s, mws_conn_id id, const void *data, size_t len,
                                   int type, void *ud)
{
	(void)s;
	mws_node_server *ns = ud;
	mws_node_sev *ev = malloc(sizeof *ev + len + 1);
	if (!ev)
		return;
	ev->kind = SEV_MESSAGE;
	ev->id = id;
	ev->type = type;
	ev->len = len;
	if (len)
		memcpy(ev->data, data, len);
	ev->data[len] = 0;
	mws__server_post(ns, ev);
}

static void mws__server_on_disconnect(mws_server *s, mws_conn_id id, int code,
                                      const char *reason, int why, void *ud)
{
	(void)s;
	mws_node_server *ns = ud;
	size_t rl = strlen(reason);
	mws_node_sev *ev = malloc(sizeof *ev + rl + 1);
	if (!ev)
		return;
	ev->kind = SEV_DISCONNECT;
	ev->id = id;
	ev->code = code;
	ev->why = why;
	ev->len = rl;
	memcpy(ev->data, reason, rl + 1);
	mws__server_post(ns, ev);
}

/* ---- JS thread ---- */

static void mws__server_call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	mws_node_server *ns = context;
	mws_node_sev *ev = data;
	if (!env || !ns->owner) {
		free(ev);
		return;
	}
	napi_handle_scope scope;
	if (napi_open_handle_scope(env, &scope) != napi_ok) {
		free(ev);
		return;
	}
	napi_value owner = NULL;
	napi_get_reference_value(env, ns->owner, &owner);
	if (owner) {
		napi_value argv[7];
		size_t argc = 0;
		napi_create_int32(env, MWS_NODE_EV_SERVER, &argv[0]);
		napi_create_int32(env, ev->kind, &argv[1]);
		napi_create_double(env, (double)ev->id, &argv[2]);
		switch (ev->kind) {
		case SEV_CONNECT:
			napi_create_string_utf8(env, ev->data, NAPI_AUTO_LENGTH, &argv[3]);
			napi_create_string_utf8(env, ev->data + ev->off_path, NAPI_AUTO_LENGTH, &argv[4]);
			napi_create_string_utf8(env, ev->data + ev->off_origin, NAPI_AUTO_LENGTH,
			                        &argv[5]);
			napi_create_string_utf8(env, ev->data + ev->off_subprotocol, NAPI_AUTO_LENGTH,
			                        &argv[6]);
			argc = 7;
			break;
		case SEV_MESSAGE:
			if (ev->type == MWS_MSG_TEXT) {
				napi_create_string_utf8(env, ev->data, ev->len, &argv[3]);
				napi_get_boolean(env, false, &argv[4]);
			} else {
				napi_create_buffer_copy(env, ev->len, ev->data, NULL, &argv[3]);
				napi_get_boolean(env, true, &argv[4]);
			}
			argc = 5;
			break;
		case SEV_DISCONNECT:
			napi_create_int32(env, ev->code, &argv[3]);
			napi_create_string_utf8(env, ev->data, ev->len, &argv[4]);
			napi_create_int32(env, ev->why, &argv[5]);
			argc = 6;
			break;
		default: /* SEV_CLOSED */
			argc = 3;
			break;
		}
		mws_node_dispatch(env, owner, argc, argv);
	}
	if (ev->kind == SEV_CLOSED) {
		ns->closing = 0;
		mws__server_update_pin(ns);
		mws__server_release(ns, napi_tsfn_release);
	}
	free(ev);
	napi_close_handle_scope(env, scope);
}

static mws_node_server *mws__server_unwrap(napi_env env, napi_callback_info info, size_t *argc,
                                           napi_value *argv, int need_live)
{
	size_t want = *argc + 1;
	napi_value args[8];
	if (want > 8)
		want = 8;
	if (napi_get_cb_info(env, info, &want, args, NULL, NULL) != napi_ok) {
		mws_node_throw_last(env);
		return NULL;
	}
	mws_node_server *ns = NULL;
	if (want < 1 || napi_unwrap(env, args[0], (void **)&ns) != napi_ok || !ns) {
		napi_throw_type_error(env, "ERR_INVALID_THIS", "not a managedws server");
		return NULL;
	}
	for (size_t i = 0; i < *argc; i++)
		napi_get_undefined(env, &argv[i]);
	for (size_t i = 0; i + 1 < want && i < *argc; i++)
		argv[i] = args[i + 1];
	if (need_live && (!ns->s || ns->closing)) {
		mws_node_throw_mws(env, MWS_ECLOSED, "server");
		return NULL;
	}
	return ns;
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
};
#undef OPT
#define N_OPTS (sizeof mws__server_opts / sizeof *mws__server_opts)

/* serverNew(owner, options) */
static napi_value mws__server_new(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	napi_valuetype t = napi_undefined;
	if (argc < 2 || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_object)
		return mws_node_throw_type(env, "serverNew(owner, options)");
	napi_value owner = argv[0], opts = argv[1];
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	char **origins = NULL;
	uint32_t norigins = 0;
	napi_value result = NULL;
	mws_node_server *ns = NULL;

	if (mws_node_opts_read(env, opts, mws__server_opts, N_OPTS, &cfg))
		goto out;
	bool has = false;
	if (napi_has_named_property(env, opts, "origins", &has) == napi_ok && has) {
		napi_value arr;
		bool is_arr = false;
		napi_get_named_property(env, opts, "origins", &arr);
		napi_is_array(env, arr, &is_arr);
		if (is_arr) {
			napi_get_array_length(env, arr, &norigins);
			origins = calloc(norigins ? norigins : 1, sizeof *origins);
			if (!origins) {
				mws_node_throw_mws(env, MWS_ENOMEM, "origins");
				goto out;
			}
			for (uint32_t i = 0; i < norigins; i++) {
				napi_value v;
				napi_get_element(env, arr, i, &v);
				if (!(origins[i] = mws_node_string(env, v, NULL)))
					goto out;
			}
			cfg.origins = (const char *const *)origins;
			cfg.origin_count = norigins;
		}
	}

	ns = calloc(1, sizeof *ns);
	if (!ns) {
		mws_node_throw_mws(env, MWS_ENOMEM, "ManagedWebSocketServer");
		goto out;
	}
	ns->env = env;
	ns->inst = mws_node_inst_get(env);
	ns->user_ref = 1;
	int rc = mws_server_new(&ns->s, NULL, &cfg);
	if (rc) {
		free(ns);
		ns = NULL;
		mws_node_throw_mws(env, rc, "ManagedWebSocketServer");
		goto out;
	}
	ns->inst->live_servers++;
	napi_value name;
	napi_create_string_utf8(env, "managedws.server", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, ns,
	                                    mws__server_tsfn_finalize, ns, mws__server_call_js,
	                                    &ns->tsfn) != napi_ok) {
		mws_node_throw_last(env);
		mws_server_free(ns->s);
		ns->inst->live_servers--;
		free(ns);
		ns = NULL;
		goto out;
	}
	ns->holds = 1;
	napi_unref_threadsafe_function(env, ns->tsfn);
	if (napi_add_env_cleanup_hook(env, mws__server_cleanup_hook, ns) == napi_ok)
		ns->hook_added = 1;
	mws_server_callbacks cbs = {sizeof cbs, NULL, mws__server_on_connect,
	                            mws__server_on_message, mws__server_on_disconnect};
	rc = mws_server_set_callbacks(ns->s, &cbs, ns, NULL);
	if (rc == 0 && napi_wrap(env, owner, ns, mws__server_wrap_finalize, NULL, NULL) != napi_ok)
		rc = -1000;
	if (rc == 0 && napi_create_reference(env, owner, 0, &ns->owner) != napi_ok) {
		napi_remove_wrap(env, owner, NULL);
		rc = -1000;
	}
	if (rc) {
		if (rc == -1000)
			mws_node_throw_last(env);
		else
			mws_node_throw_mws(env, rc, "ManagedWebSocketServer");
		mws_server_free(ns->s);
		ns->s = NULL;
		ns->inst->live_servers--;
		mws__server_release(ns, napi_tsfn_abort);
		ns = NULL;
		goto out;
	}
	ns->holds++;
	napi_get_undefined(env, &result);
out:
	mws_node_opts_free(mws__server_opts, N_OPTS, &cfg);
	if (origins)
		for (uint32_t i = 0; i < norigins; i++)
			free(origins[i]);
	free(origins);
	return result;
}

/* serverStart(owner) -> port */
static napi_value mws__server_start(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, NULL, 1);
	if (!ns)
		return NULL;
	int rc = mws_server_start(ns->s);
	if (rc)
		return mws_node_throw_mws(env, rc, "listen");
	ns->listening = 1;
	mws__server_update_pin(ns);
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, mws_server_port(ns->s), &v));
	return v;
}

static napi_value mws__server_port(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, NULL, 0);
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

/* serverSend(owner, id, data, binary?) ; id < 0: broadcast */
static napi_value mws__server_send(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, argv, 1);
	if (!ns)
		return NULL;
	napi_valuetype t;
	int broadcast = napi_typeof(env, argv[0], &t) == napi_ok && t == napi_null;
	mws_conn_id id = 0;
	if (!broadcast && mws__conn_id(env, argv[0], &id))
		return NULL;
	mws_node_msg m;
	if (mws_node_msg_get(env, argv[1], argv[2], &m))
		return NULL;
	int rc = broadcast ? mws_server_broadcast(ns->s, m.data, m.len, m.type)
	                   : mws_server_send(ns->s, id, m.data, m.len, m.type);
	mws_node_msg_free(&m);
	return mws_node_check(env, rc, broadcast ? "broadcast" : "send");
}

/* serverCloseConn(owner, id, code, reason) */
static napi_value mws__server_close_conn(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, argv, 1);
	if (!ns)
		return NULL;
	mws_conn_id id;
	if (mws__conn_id(env, argv[0], &id))
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

static napi_value mws__server_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, NULL, 0);
	if (!ns)
		return NULL;
	mws_server_stats s = {.size = sizeof s};
	int rc = ns->s ? mws_server_stats_get(ns->s, &s) : MWS_ECLOSED;
	if (rc)
		return mws_node_throw_mws(env, rc, "stats");
	napi_value o, r;
	NAPI_OK(env, napi_create_object(env, &o));
	NAPI_OK(env, napi_create_object(env, &r));
#define N(js, field) mws_node_set_num(env, o, js, (double)s.field)
	N("connections", connections);
	N("accepted", accepted);
	N("refusedTotal", refused_total);
	N("reaped", reaped);
	N("tooBig", too_big);
	N("disconnects", disconnects);
	N("msgsIn", msgs_in);
	N("bytesIn", bytes_in);
	N("msgsOut", msgs_out);
	N("bytesOut", bytes_out);
	N("heartbeatsIn", heartbeats_in);
	N("pingsSent", pings_sent);
	N("pongsIn", pongs_in);
	N("sendDropped", send_dropped);
	N("rttP50Us", rtt_p50_us);
	N("rttP90Us", rtt_p90_us);
	N("rttP99Us", rtt_p99_us);
	N("durationP50Ms", duration_p50_ms);
	N("durationP90Ms", duration_p90_ms);
	N("durationP99Ms", duration_p99_ms);
#undef N
	napi_value b;
	napi_get_boolean(env, s.shutting_down != 0, &b);
	napi_set_named_property(env, o, "shuttingDown", b);
	mws_node_set_num(env, r, "rateLimited", (double)s.refused[MWS_REFUSE_RATE_LIMITED]);
	mws_node_set_num(env, r, "maxConnections", (double)s.refused[MWS_REFUSE_MAX_CONNECTIONS]);
	mws_node_set_num(env, r, "origin", (double)s.refused[MWS_REFUSE_ORIGIN]);
	mws_node_set_num(env, r, "auth", (double)s.refused[MWS_REFUSE_AUTH]);
	mws_node_set_num(env, r, "shutdown", (double)s.refused[MWS_REFUSE_SHUTDOWN]);
	napi_set_named_property(env, o, "refused", r);
	return o;
}

/* ---- close and shutdown run on a libuv worker: both wait for peers ---- */

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
	if (ns->work_kind == WORK_CLOSE) {
		ns->s = NULL;
		ns->inst->live_servers--;
		ns->listening = 0;
		/* The last event: after every disconnect already queued. */
		mws_node_sev *ev = calloc(1, sizeof *ev);
		if (ev) {
			ev->kind = SEV_CLOSED;
			if (!ns->tsfn ||
			    napi_call_threadsafe_function(ns->tsfn, ev, napi_tsfn_nonblocking) != napi_ok) {
				free(ev);
				ns->closing = 0;
				mws__server_update_pin(ns);
				mws__server_release(ns, napi_tsfn_release);
			}
		}
		napi_get_undefined(env, &v);
		napi_resolve_deferred(env, d, v);
		return;
	}
	if (status != napi_ok) {
		napi_reject_deferred(env, d, mws_node_error(env, NULL, "shutdown cancelled"));
		return;
	}
	if (ns->work_rc == 0 || ns->work_rc == MWS_ETIMEDOUT) {
		napi_get_boolean(env, ns->work_rc == 0, &v);
		napi_resolve_deferred(env, d, v);
	} else {
		napi_reject_deferred(env, d,
		                     mws_node_error(env, mws_err_name(ns->work_rc),
		                                    mws_strerror(ns->work_rc)));
	}
}

static napi_value mws__server_queue_work(napi_env env, mws_node_server *ns, int kind)
{
	napi_value promise, name;
	NAPI_OK(env, napi_create_promise(env, &ns->deferred, &promise));
	napi_create_string_utf8(env, "managedws.server.close", NAPI_AUTO_LENGTH, &name);
	ns->work_kind = kind;
	if (napi_create_async_work(env, NULL, name, mws__server_work_exec, mws__server_work_done,
	                           ns, &ns->work) != napi_ok ||
	    napi_queue_async_work(env, ns->work) != napi_ok) {
		mws_node_throw_last(env);
		return NULL;
	}
	return promise;
}

/* serverShutdown(owner, code, spreadWindowMs, deadlineMs) -> Promise<bool> */
static napi_value mws__server_shutdown(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, argv, 1);
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
	size_t argc = 0;
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, NULL, 1);
	if (!ns)
		return NULL;
	if (ns->work)
		return mws_node_throw_mws(env, MWS_ESTATE, "close (a shutdown is running)");
	ns->closing = 1;
	mws__server_update_pin(ns); /* held until the closed event */
	return mws__server_queue_work(env, ns, WORK_CLOSE);
}

static napi_value mws__server_ref(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	mws_node_server *ns = mws__server_unwrap(env, info, &argc, argv, 0);
	if (!ns)
		return NULL;
	bool b = true;
	napi_get_value_bool(env, argv[0], &b);
	ns->user_ref = b;
	mws__server_update_pin(ns);
	return NULL;
}

napi_value mws_node_server_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
#define F(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
		F("serverNew", mws__server_new),
		F("serverStart", mws__server_start),
		F("serverPort", mws__server_port),
		F("serverSend", mws__server_send),
		F("serverCloseConn", mws__server_close_conn),
		F("serverStats", mws__server_stats),
		F("serverShutdown", mws__server_shutdown),
		F("serverClose", mws__server_close),
		F("serverRef", mws__server_ref),
#undef F
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return exports;
}

#else /* no server in the C library this was built against */

napi_value mws_node_server_init(napi_env env, napi_value exports)
{
	(void)env;
	return exports;
}

#endif
