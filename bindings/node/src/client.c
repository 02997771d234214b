/* The client half of the addon.
 *
 * Lifetime. A native client (mws_node_client) is owned twice: by the JS
 * object it is wrapped onto (napi_wrap finalizer) and by its thread-safe
 * function (finalize callback); it is freed when both have let go. The C
 * client itself is freed, and the thread-safe function released, at the
 * first of: the CLOSED state reaching JS, the JS object's finalizer, or the
 * environment's teardown (a cleanup hook registered after the thread-safe
 * function, so it runs before Node tears that function down, while the I/O
 * thread may still call it).
 *
 * Keeping alive. While the client is active (connecting, connected or
 * waiting to reconnect) and the application has not called unref(), the
 * thread-safe function is ref'd (the process stays up) and the JS object is
 * held by a strong reference (it is not collected while it may still emit
 * events). Otherwise both are released: an idle client neither keeps the
 * process alive nor itself. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "errors.h"

typedef struct mws_node_client {
	napi_env env;
	mws_node_inst *inst;
	mws_client *c;                 /* NULL once freed */
	napi_threadsafe_function tsfn; /* NULL once released */
	napi_ref owner;                /* weak, or strong while pinned */
	int holds;                     /* wrap + tsfn */
	int pinned;
	int user_ref;                  /* 0 after unref() */
	int state;                     /* as last seen in JS */
	int connects_pending;          /* connect() calls not yet seen as CONNECTING */
	int hook_added;
	pthread_mutex_t creds_lock;    /* application thread vs I/O thread */
	char *creds_headers;           /* "Name: value\n" lines */
	char *creds_query;
} mws_node_client;

typedef struct mws_node_ev {
	int kind;
	/* state */
	int from, to, code, retry_delay_ms;
	uint32_t attempt;
	/* message */
	int type;
	size_t len;
	char data[]; /* reason (NUL-terminated) or message bytes */
} mws_node_ev;

static int mws__active(int st)
{
	return st == MWS_STATE_CONNECTING || st == MWS_STATE_CONNECTED ||
	       st == MWS_STATE_RECONNECTING;
}

static void mws__client_update_pin(mws_node_client *nc)
{
	napi_env env = nc->env;
	int want = nc->c && nc->owner && nc->tsfn && nc->user_ref &&
	           (mws__active(nc->state) || nc->connects_pending > 0);
	if (want == nc->pinned)
		return;
	uint32_t n;
	if (want) {
		napi_reference_ref(env, nc->owner, &n);
		napi_ref_threadsafe_function(env, nc->tsfn);
	} else {
		if (nc->owner)
			napi_reference_unref(env, nc->owner, &n);
		if (nc->tsfn)
			napi_unref_threadsafe_function(env, nc->tsfn);
	}
	nc->pinned = want;
}

static void mws__client_maybe_free_struct(mws_node_client *nc)
{
	if (--nc->holds > 0)
		return;
	pthread_mutex_destroy(&nc->creds_lock);
	free(nc->creds_headers);
	free(nc->creds_query);
	free(nc);
}

static void mws__client_cleanup_hook(void *arg);

/* Frees the C client and lets the thread-safe function go. Main thread. */
static void mws__client_shutdown(mws_node_client *nc, napi_threadsafe_function_release_mode mode)
{
	if (nc->pinned) {
		nc->user_ref = 0;
		mws__client_update_pin(nc);
	}
	if (nc->c) {
		/* Returns when the I/O thread no longer references the client, so
		 * no callback can reach the thread-safe function after this. */
		mws_client_free(nc->c);
		nc->c = NULL;
		nc->inst->live_clients--;
	}
	if (nc->hook_added) {
		nc->hook_added = 0;
		napi_remove_env_cleanup_hook(nc->env, mws__client_cleanup_hook, nc);
	}
	if (nc->tsfn) {
		napi_threadsafe_function t = nc->tsfn;
		nc->tsfn = NULL; /* its finalizer drops the hold */
		napi_release_threadsafe_function(t, mode);
	}
}

static void mws__client_cleanup_hook(void *arg)
{
	mws_node_client *nc = arg;
	nc->hook_added = 0; /* Node removes it as it runs it */
	if (nc->c) {
		mws_client_free(nc->c);
		nc->c = NULL;
		nc->inst->live_clients--;
	}
	/* The thread-safe function is torn down by Node right after us; its
	 * queued events reach call_js with env == NULL and are freed there. */
}

static void mws__client_tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	mws_node_client *nc = data;
	nc->tsfn = NULL;
	mws__client_maybe_free_struct(nc);
}

static void mws__client_wrap_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	mws_node_client *nc = data;
	nc->pinned = 0; /* a pinned object is never collected; be safe anyway */
	mws__client_shutdown(nc, napi_tsfn_abort);
	if (nc->owner) {
		napi_delete_reference(env, nc->owner);
		nc->owner = NULL;
	}
	mws__client_maybe_free_struct(nc);
}

/* ---- the I/O thread's side ---- */

static void mws__client_post(mws_node_client *nc, mws_node_ev *ev)
{
	/* Non-blocking, unbounded queue: the I/O thread never waits on JS. */
	if (!nc->tsfn ||
	    napi_call_threadsafe_function(nc->tsfn, ev, napi_tsfn_nonblocking) != napi_ok)
		free(ev);
}

static void mws__client_on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	mws_node_client *nc = ud;
	size_t rl = strlen(ch->reason);
	mws_node_ev *ev = malloc(sizeof *ev + rl + 1);
	if (!ev)
		return;
	ev->kind = MWS_NODE_EV_STATE;
	ev->from = ch->from;
	ev->to = ch->to;
	ev->code = ch->close_code;
	ev->retry_delay_ms = ch->retry_delay_ms;
	ev->attempt = ch->attempt;
	ev->len = rl;
	memcpy(ev->data, ch->reason, rl + 1);
	mws__client_post(nc, ev);
}

static void mws__client_on_message(mws_client *c, const void *data, size_t len, int type,
                                   void *ud)
{
	(void)c;
	mws_node_client *nc = ud;
	mws_node_ev *ev = malloc(sizeof *ev + len + 1);
	if (!ev)
		return;
	ev->kind = MWS_NODE_EV_MESSAGE;
	ev->type = type;
	ev->len = len;
	if (len)
		memcpy(ev->data, data, len);
	ev->data[len] = 0;
	mws__client_post(nc, ev);
}

static int mws__client_on_credentials(mws_client *c, mws_credentials *creds, void *ud)
{
	(void)c;
	mws_node_client *nc = ud;
	int rc = 0;
	pthread_mutex_lock(&nc->creds_lock);
	if (nc->creds_query)
		rc = mws_credentials_set_query(creds, nc->creds_query);
	for (char *line = nc->creds_headers; rc == 0 && line && *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *colon = memchr(line, ':', n);
		if (colon) {
			char name[256], value[4096];
			size_t nn = (size_t)(colon - line), vn = n - nn - 1;
			const char *v = colon + 1;
			while (vn && *v == ' ')
				v++, vn--;
			if (nn < sizeof name && vn < sizeof value) {
				memcpy(name, line, nn);
				name[nn] = 0;
				memcpy(value, v, vn);
				value[vn] = 0;
				rc = mws_credentials_set_header(creds, name, value);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	pthread_mutex_unlock(&nc->creds_lock);
	return rc ? -1 : 0;
}

/* ---- the JS thread's side ---- */

static void mws__client_call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	mws_node_client *nc = context;
	mws_node_ev *ev = data;
	if (!env || !nc->owner) { /* teardown, or the owner is gone */
		free(ev);
		return;
	}
	napi_handle_scope scope;
	if (napi_open_handle_scope(env, &scope) != napi_ok) {
		free(ev);
		return;
	}
	napi_value owner = NULL;
	napi_get_reference_value(env, nc->owner, &owner);
	if (ev->kind == MWS_NODE_EV_STATE) {
		nc->state = ev->to;
		if (ev->to == MWS_STATE_CONNECTING && nc->connects_pending > 0)
			nc->connects_pending--;
		if (ev->to == MWS_STATE_CLOSED)
			nc->connects_pending = 0;
	}
	if (owner) {
		napi_value argv[7];
		size_t argc = 0;
		if (ev->kind == MWS_NODE_EV_STATE) {
			napi_create_int32(env, MWS_NODE_EV_STATE, &argv[0]);
			napi_create_int32(env, ev->from, &argv[1]);
			napi_create_int32(env, ev->to, &argv[2]);
			napi_create_string_utf8(env, ev->data, ev->len, &argv[3]);
			napi_create_int32(env, ev->code, &argv[4]);
			napi_create_int32(env, ev->retry_delay_ms, &argv[5]);
			napi_create_uint32(env, ev->attempt, &argv[6]);
			argc = 7;
		} else {
			napi_create_int32(env, MWS_NODE_EV_MESSAGE, &argv[0]);
			if (ev->type == MWS_MSG_TEXT) {
				napi_create_string_utf8(env, ev->data, ev->len, &argv[1]);
				napi_get_boolean(env, false, &argv[2]);
			} else {
				napi_create_buffer_copy(env, ev->len, ev->data, NULL, &argv[1]);
				napi_get_boolean(env, true, &argv[2]);
			}
			argc = 3;
		}
		mws_node_dispatch(env, owner, argc, argv);
	}
	if (ev->kind == MWS_NODE_EV_STATE && ev->to == MWS_STATE_CLOSED)
		mws__client_shutdown(nc, napi_tsfn_release); /* terminal */
	else
		mws__client_update_pin(nc);
	free(ev);
	napi_close_handle_scope(env, scope);
}

static mws_node_client *mws__client_unwrap(napi_env env, napi_callback_info info, size_t *argc,
                                           napi_value *argv, int need_live)
{
	napi_value self;
	size_t want = *argc + 1;
	napi_value args[8];
	if (want > 8)
		want = 8;
	if (napi_get_cb_info(env, info, &want, args, NULL, NULL) != napi_ok) {
		mws_node_throw_last(env);
		return NULL;
	}
	self = args[0];
	mws_node_client *nc = NULL;
	if (want < 1 || napi_unwrap(env, self, (void **)&nc) != napi_ok || !nc) {
		napi_throw_type_error(env, "ERR_INVALID_THIS", "not a managedws client");
		return NULL;
	}
	size_t got = want - 1;
	for (size_t i = 0; i < *argc; i++)
		napi_get_undefined(env, &argv[i]);
	for (size_t i = 0; i < got && i < *argc; i++)
		argv[i] = args[i + 1];
	*argc = got;
	if (need_live && !nc->c) {
		mws_node_throw_mws(env, MWS_ECLOSED, "client");
		return NULL;
	}
	return nc;
}

/* The options of mws_client_config, read in this order. */
#define OPT(js, kind, field) MWS_NODE_OPT(js, kind, mws_client_config, field)
static const mws_node_opt mws__client_opts[] = {
	OPT("subprotocol", STRING, subprotocol),
	OPT("origin", STRING, origin),
	OPT("headers", STRING, headers),
	OPT("caFile", STRING, ca_file),
	OPT("connectTimeoutMs", INT, connect_timeout_ms),
	OPT("handshakeTimeoutMs", INT, handshake_timeout_ms),
	OPT("baseDelayMs", INT, base_delay_ms),
	OPT("maxDelayMs", INT, max_delay_ms),
	OPT("jitter", INT, jitter),
	OPT("jitterProportion", DOUBLE, jitter_proportion),
	OPT("restartSpreadMs", INT, restart_spread_ms),
	OPT("minUptimeMs", INT, min_uptime_ms),
	OPT("maxAttempts", INT, max_attempts),
	OPT("breakerFailures", INT, breaker_failures),
	OPT("breakerWindowMs", INT, breaker_window_ms),
	OPT("heartbeatMode", INT, heartbeat_mode),
	OPT("heartbeatIntervalMs", INT, heartbeat_interval_ms),
	OPT("heartbeatTimeoutMs", INT, heartbeat_timeout_ms),
	OPT("queueMaxMessages", INT, queue_max_messages),
	OPT("queueMaxBytes", SIZE, queue_max_bytes),
	OPT("maxMessageBytes", SIZE, max_message_bytes),
	OPT("insecure", BOOL, insecure),
	OPT("randomSeed", SEED, random_seed),
};
#undef OPT
#define N_OPTS (sizeof mws__client_opts / sizeof *mws__client_opts)

/* clientNew(owner, url, options) */
static napi_value mws__client_new(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 3)
		return mws_node_throw_type(env, "clientNew(owner, url, options)");
	napi_value owner = argv[0], opts = argv[2];
	napi_valuetype t;
	NAPI_OK(env, napi_typeof(env, argv[1], &t));
	if (t != napi_string)
		return mws_node_throw_type(env, "url must be a string");
	NAPI_OK(env, napi_typeof(env, opts, &t));
	if (t != napi_object)
		return mws_node_throw_type(env, "options must be an object");

	mws_client_config cfg;
	mws_client_config_init(&cfg);
	char *url = NULL;
	mws_close_rule *rules = NULL;
	mws_node_client *nc = NULL;
	napi_value result = NULL;

	url = mws_node_string(env, argv[1], NULL);
	if (!url || mws_node_opts_read(env, opts, mws__client_opts, N_OPTS, &cfg))
		goto out;

	/* closeRules: [[code, action], ...] (index.js normalises) */
	bool has_rules = false;
	if (napi_has_named_property(env, opts, "closeRules", &has_rules) == napi_ok && has_rules) {
		napi_value arr;
		bool is_arr = false;
		uint32_t n = 0;
		napi_get_named_property(env, opts, "closeRules", &arr);
		napi_is_array(env, arr, &is_arr);
		if (!is_arr) {
			mws_node_throw_type(env, "option closeRules must be an array");
			goto out;
		}
		napi_get_array_length(env, arr, &n);
		if (n) {
			rules = calloc(n, sizeof *rules);
			if (!rules) {
				mws_node_throw_mws(env, MWS_ENOMEM, "closeRules");
				goto out;
			}
			for (uint32_t i = 0; i < n; i++) {
				napi_value pair, a, b;
				int32_t code = 0, action = 0;
				napi_get_element(env, arr, i, &pair);
				if (napi_get_element(env, pair, 0, &a) != napi_ok ||
				    napi_get_element(env, pair, 1, &b) != napi_ok ||
				    napi_get_value_int32(env, a, &code) != napi_ok ||
				    napi_get_value_int32(env, b, &action) != napi_ok) {
					mws_node_throw_type(env, "closeRules entries are [code, action]");
					goto out;
				}
				rules[i].code = code;
				rules[i].action = action;
			}
			cfg.close_rules = rules;
			cfg.close_rule_count = n;
		}
	}

	nc = calloc(1, sizeof *nc);
	if (!nc) {
		mws_node_throw_mws(env, MWS_ENOMEM, "ManagedWebSocket");
		goto out;
	}
	nc->env = env;
	nc->inst = mws_node_inst_get(env);
	nc->user_ref = 1;
	nc->state = MWS_STATE_DISCONNECTED;
	pthread_mutex_init(&nc->creds_lock, NULL);

	int rc = mws_client_new(&nc->c, NULL, url, &cfg);
	if (rc) {
		pthread_mutex_destroy(&nc->creds_lock);
		free(nc);
		nc = NULL;
		mws_node_throw_mws(env, rc, "ManagedWebSocket");
		goto out;
	}
	nc->inst->live_clients++;

	napi_value name;
	napi_create_string_utf8(env, "managedws.client", NAPI_AUTO_LENGTH, &name);
	if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, nc,
	                                    mws__client_tsfn_finalize, nc, mws__client_call_js,
	                                    &nc->tsfn) != napi_ok) {
		mws_node_throw_last(env);
		mws_client_free(nc->c);
		nc->inst->live_clients--;
		pthread_mutex_destroy(&nc->creds_lock);
		free(nc);
		nc = NULL;
		goto out;
	}
	nc->holds = 1; /* the tsfn; the wrap adds one below */
	napi_unref_threadsafe_function(env, nc->tsfn);
	/* After the tsfn: hooks run in reverse order of registration. */
	if (napi_add_env_cleanup_hook(env, mws__client_cleanup_hook, nc) == napi_ok)
		nc->hook_added = 1;

	mws_client_callbacks cbs = {sizeof cbs, mws__client_on_state, mws__client_on_message,
	                            mws__client_on_credentials};
	rc = mws_client_set_callbacks(nc->c, &cbs, nc, NULL);
	if (rc == 0 && napi_wrap(env, owner, nc, mws__client_wrap_finalize, NULL, NULL) != napi_ok)
		rc = -1000;
	if (rc == 0 && napi_create_reference(env, owner, 0, &nc->owner) != napi_ok) {
		napi_remove_wrap(env, owner, NULL);
		rc = -1000;
	}
	if (rc) {
		if (rc == -1000)
			mws_node_throw_last(env);
		else
			mws_node_throw_mws(env, rc, "ManagedWebSocket");
		mws__client_shutdown(nc, napi_tsfn_abort); /* frees nc via tsfn finalize */
		nc = NULL;
		goto out;
	}
	nc->holds++;
	napi_get_undefined(env, &result);
out:
	free(url);
	mws_node_opts_free(mws__client_opts, N_OPTS, &cfg);
	free(rules);
	return result;
}

static napi_value mws__client_connect(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, NULL, 1);
	if (!nc)
		return NULL;
	int rc = mws_client_connect(nc->c);
	if (rc)
		return mws_node_throw_mws(env, rc, "connect");
	nc->connects_pending++;
	mws__client_update_pin(nc);
	return NULL;
}

/* clientSend(owner, data, binary?) -> undefined; binary defaults to
 * "not a string". */
static napi_value mws__client_send(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, argv, 1);
	if (!nc)
		return NULL;
	mws_node_msg m;
	if (mws_node_msg_get(env, argv[0], argv[1], &m))
		return NULL;
	int rc = mws_client_send(nc->c, m.data, m.len, m.type);
	mws_node_msg_free(&m);
	return mws_node_check(env, rc, "send");
}

static napi_value mws__client_close_common(napi_env env, napi_callback_info info, int for_good)
{
	size_t argc = 2;
	napi_value argv[2];
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, argv, 0);
	if (!nc)
		return NULL;
	if (!nc->c) /* already closed and freed: nothing to do */
		return NULL;
	int32_t code = 0;
	char *reason;
	mws_node_int32_or(env, argv[0], &code);
	if (mws_node_string_or_null(env, argv[1], &reason))
		return NULL;
	int rc = for_good ? mws_client_close(nc->c, code, reason)
	                  : mws_client_disconnect(nc->c, code, reason);
	free(reason);
	if (rc == MWS_ECLOSED)
		rc = 0; /* closing a closed client does nothing, as in browsers */
	return mws_node_check(env, rc, for_good ? "close" : "disconnect");
}

static napi_value mws__client_close(napi_env env, napi_callback_info info)
{
	return mws__client_close_common(env, info, 1);
}

static napi_value mws__client_disconnect(napi_env env, napi_callback_info info)
{
	return mws__client_close_common(env, info, 0);
}

static napi_value mws__client_reconnect_now(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, NULL, 1);
	if (!nc)
		return NULL;
	return mws_node_check(env, mws_client_reconnect_now(nc->c), "reconnectNow");
}

/* The live state from the C client (may be ahead of the events). */
static napi_value mws__client_state(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, NULL, 0);
	if (!nc)
		return NULL;
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, nc->c ? mws_client_state(nc->c) : MWS_STATE_CLOSED, &v));
	return v;
}

static napi_value mws__client_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 0;
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, NULL, 1);
	if (!nc)
		return NULL;
	mws_client_stats s = {.size = sizeof s};
	int rc = mws_client_stats_get(nc->c, &s);
	if (rc)
		return mws_node_throw_mws(env, rc, "stats");
	napi_value o;
	NAPI_OK(env, napi_create_object(env, &o));
#define N(js, field) mws_node_set_num(env, o, js, (double)s.field)
	N("state", state);
	N("connectionId", connection_id);
	N("attempt", attempt);
	N("attemptsTotal", attempts_total);
	N("connects", connects);
	N("reconnects", reconnects);
	N("refusedEvents", refused_events);
	N("heartbeatsSent", heartbeats_sent);
	N("heartbeatTimeouts", heartbeat_timeouts);
	N("rttP50Us", rtt_p50_us);
	N("rttP90Us", rtt_p90_us);
	N("rttP99Us", rtt_p99_us);
	N("uptimeP50Ms", uptime_p50_ms);
	N("uptimeP90Ms", uptime_p90_ms);
	N("uptimeP99Ms", uptime_p99_ms);
	N("queueMessages", queue_messages);
	N("queueBytes", queue_bytes);
	N("queueFull", queue_full);
	N("msgsOut", msgs_out);
	N("bytesOut", bytes_out);
	N("msgsIn", msgs_in);
	N("bytesIn", bytes_in);
	N("msgsDiscarded", msgs_discarded);
#undef N
	return o;
}

/* clientRef(owner, bool): ref() / unref() as on net.Socket. */
static napi_value mws__client_ref(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, argv, 0);
	if (!nc)
		return NULL;
	bool b = true;
	napi_get_value_bool(env, argv[0], &b);
	nc->user_ref = b;
	mws__client_update_pin(nc);
	return NULL;
}

/* clientSetCredentials(owner, headerLines|null, query|null): used by the
 * next connection attempt, and every one after, until changed. */
static napi_value mws__client_set_credentials(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	mws_node_client *nc = mws__client_unwrap(env, info, &argc, argv, 0);
	if (!nc)
		return NULL;
	char *h, *q;
	if (mws_node_string_or_null(env, argv[0], &h))
		return NULL;
	if (mws_node_string_or_null(env, argv[1], &q)) {
		free(h);
		return NULL;
	}
	if ((h && strchr(h, '\r')) || (q && strpbrk(q, "\r\n"))) {
		free(h);
		free(q);
		return mws_node_throw_mws(env, MWS_EINVAL, "setCredentials");
	}
	pthread_mutex_lock(&nc->creds_lock);
	free(nc->creds_headers);
	free(nc->creds_query);
	nc->creds_headers = h;
	nc->creds_query = q;
	pthread_mutex_unlock(&nc->creds_lock);
	return NULL;
}

napi_value mws_node_client_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
#define F(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}
		F("clientNew", mws__client_new),
		F("clientConnect", mws__client_connect),
		F("clientSend", mws__client_send),
		F("clientClose", mws__client_close),
		F("clientDisconnect", mws__client_disconnect),
		F("clientReconnectNow", mws__client_reconnect_now),
		F("clientState", mws__client_state),
		F("clientStats", mws__client_stats),
		F("clientRef", mws__client_ref),
		F("clientSetCredentials", mws__client_set_credentials),
#undef F
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return exports;
}
