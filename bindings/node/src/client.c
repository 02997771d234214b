/* The client half of the addon: ManagedWebSocket's binding calls over an
 * mws_client. Its lifetime is the handle's (handle.h); it is active, and
 * pinned unless unref()'d, while connecting, connected or waiting to
 * reconnect, and its terminal event is the CLOSED state reaching JS. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "errors.h"
#include "events.h"
#include "handle.h"
#include "client.h"

/* ---- the handle's operations ---- */

static int mws__client_is_live(const mws_node_handle *h)
{
	return ((const mws_node_client *)h)->c != NULL;
}

static int mws__client_wants_pin(const mws_node_handle *h)
{
	const mws_node_client *nc = (const mws_node_client *)h;
	int active = nc->state == MWS_STATE_CONNECTING || nc->state == MWS_STATE_CONNECTED ||
	             nc->state == MWS_STATE_RECONNECTING;
	return nc->c && h->user_ref && (active || nc->connects_pending > 0);
}

static void mws__client_free_native(mws_node_handle *h)
{
	mws_node_client *nc = (mws_node_client *)h;
	if (!nc->c)
		return;
	mws_client_free(nc->c);
	nc->c = NULL;
	h->inst->live_clients--;
}

static void mws__client_destroy(mws_node_handle *h)
{
	mws_node_client *nc = (mws_node_client *)h;
	pthread_mutex_destroy(&nc->creds_lock);
	free(nc->creds_headers);
	free(nc->creds_query);
	free(nc->creds_url);
	free(nc);
}

/* dispatcher(owner, EV_STATE, from, to, reason, code, retryDelayMs, attempt,
 * session), (owner, EV_MESSAGES, [data, isBinary, ...]), (owner,
 * EV_SESSION, event, sessionIdHex, unacked, resent, discarded, unsent,
 * discardedFirst, discardedLast), (owner, EV_ACKED, number) or (owner,
 * EV_SENT, written, discarded, queueMessages, queueBytes); after CLOSED the
 * client is shut down. */
static void mws__client_deliver(mws_node_handle *h, napi_env env, napi_value owner,
                                const mws_node_ev *ev)
{
	mws_node_client *nc = (mws_node_client *)h;
	int state = ev->kind == MWS_NODE_EV_STATE;
	if (state) {
		nc->state = ev->to;
		if (ev->to == MWS_STATE_CONNECTING && nc->connects_pending > 0)
			nc->connects_pending--;
		if (ev->to == MWS_STATE_CLOSED)
			nc->connects_pending = 0;
	}
	if (owner) {
		napi_value argv[10];
		size_t argc = 3;
		napi_create_int32(env, ev->kind, &argv[0]);
		if (state) {
			napi_create_int32(env, ev->from, &argv[1]);
			napi_create_int32(env, ev->to, &argv[2]);
			napi_create_string_utf8(env, ev->data, ev->len, &argv[3]);
			napi_create_int32(env, ev->code, &argv[4]);
			napi_create_int32(env, ev->retry_delay_ms, &argv[5]);
			napi_create_uint32(env, ev->attempt, &argv[6]);
			napi_create_int32(env, ev->why, &argv[7]);
			argc = 8;
		} else if (ev->kind == MWS_NODE_EV_SESSION) {
			napi_create_int32(env, ev->why, &argv[1]);
			napi_create_string_utf8(env, ev->data, ev->len, &argv[2]);
			for (int i = 0; i < 6; i++)
				napi_create_double(env, (double)ev->counts[i], &argv[3 + i]);
			argc = 9;
		} else if (ev->kind == MWS_NODE_EV_ACKED) {
			napi_create_double(env, (double)ev->id, &argv[1]);
			argc = 2;
		} else if (ev->kind == MWS_NODE_EV_MESSAGES) {
			mws_node_ev_messages_array(env, ev, &argv[1]);
			argc = 2;
		} else if (ev->kind == MWS_NODE_EV_SENT) {
			for (int i = 0; i < 4; i++)
				napi_create_double(env, (double)ev->counts[i], &argv[1 + i]);
			argc = 5;
		} else if (ev->kind == MWS_NODE_EV_CREDENTIALS) {
			napi_create_double(env, (double)ev->id, &argv[1]);
			napi_create_uint32(env, ev->attempt, &argv[2]);
			napi_create_int32(env, ev->code, &argv[3]);
			argc = 4;
		} else {
			mws_node_ev_message(env, ev, &argv[1]);
		}
		mws_node_dispatch(env, owner, argc, argv);
	}
	if (state && ev->to == MWS_STATE_CLOSED)
		mws_node_handle_shutdown(h, napi_tsfn_release); /* terminal */
	else
		mws_node_handle_update_pin(h);
}

static const mws_node_handle_ops mws__client_ops = {
	.name = "client",
	.what = "ManagedWebSocket",
	.is_live = mws__client_is_live,
	.wants_pin = mws__client_wants_pin,
	.free_native = mws__client_free_native,
	.deliver = mws__client_deliver,
	.destroy = mws__client_destroy,
};

/* ---- the I/O thread's side ---- */

static void mws__client_on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_STATE, ch->reason, strlen(ch->reason));
	if (ev) {
		ev->from = ch->from;
		ev->to = ch->to;
		ev->code = ch->close_code;
		ev->retry_delay_ms = ch->retry_delay_ms;
		ev->attempt = ch->attempt;
		ev->why = ch->session;
	}
	mws_node_post(ud, ev);
}

static void mws__client_on_session(mws_client *c, const mws_session_info *info, void *ud)
{
	(void)c;
	char hex[2 * sizeof info->session_id + 1];
	for (size_t i = 0; i < sizeof info->session_id; i++)
		snprintf(hex + 2 * i, 3, "%02x", info->session_id[i]);
	mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_SESSION, hex, strlen(hex));
	if (ev) {
		ev->why = info->event;
		ev->counts[0] = info->unacked;
		ev->counts[1] = info->resent;
		ev->counts[2] = info->discarded;
		ev->counts[3] = info->unsent;
		ev->counts[4] = info->discarded_first;
		ev->counts[5] = info->discarded_last;
	}
	mws_node_post(ud, ev);
}

static void mws__client_on_acked(mws_client *c, uint64_t number, void *ud)
{
	(void)c;
	mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_ACKED, NULL, 0);
	if (ev)
		ev->id = number;
	mws_node_post(ud, ev);
}

/* One thread-safe call per batch: JS pays one crossing for all of them. */
static void mws__client_on_messages(mws_client *c, const mws_message *msgs, size_t count,
                                    void *ud)
{
	(void)c;
	mws_node_post(ud, mws_node_ev_messages(msgs, count));
}

/* Only while JS waits for it: a send callback pending, or 'drain' wanted. */
static void mws__client_on_sent(mws_client *c, const mws_send_progress *p, void *ud)
{
	(void)c;
	mws_node_client *nc = ud;
	if (!atomic_load(&nc->want_sent))
		return;
	mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_SENT, NULL, 0);
	if (ev) {
		ev->counts[0] = p->written;
		ev->counts[1] = p->discarded;
		ev->counts[2] = p->queue_messages;
		ev->counts[3] = p->queue_bytes;
	}
	mws_node_post(ud, ev);
}

/* ---- the JS thread's side ---- */

/* The client of a binding call's `this`, and its arguments after it. */
mws_node_client *mws_node_client_this(napi_env env, napi_callback_info info, size_t argc,
                                         napi_value *argv, int need_live)
{
	return (mws_node_client *)mws_node_handle_unwrap(env, info, &mws__client_ops, argc, argv,
	                                                 need_live);
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
	OPT("noReconnect", BOOL, no_reconnect),
	OPT("noOfflineQueue", BOOL, no_offline_queue),
	OPT("holdQueueOnConnect", BOOL, hold_queue_on_connect),
	OPT("backoffFactor", DOUBLE, backoff_factor),
	OPT("protocolMode", INT, protocol_mode),
	OPT("sessionLostMode", INT, session_lost_mode),
	OPT("ackEvery", INT, ack_every),
	OPT("ackDelayMs", INT, ack_delay_ms),
	OPT("localAddress", STRING, local_address),
};
#undef OPT
#define N_OPTS (sizeof mws__client_opts / sizeof *mws__client_opts)

/* options.closeRules: [[code, action], ...] (index.js normalises) into
 * cfg, in *rules (free it). 0, or -1 after throwing. */
static int mws__close_rules_read(napi_env env, napi_value opts, mws_client_config *cfg,
                                 mws_close_rule **rules)
{
	bool has = false, is_arr = false;
	napi_value arr;
	uint32_t n = 0;
	if (napi_has_named_property(env, opts, "closeRules", &has) != napi_ok || !has)
		return 0;
	napi_get_named_property(env, opts, "closeRules", &arr);
	napi_is_array(env, arr, &is_arr);
	if (!is_arr) {
		mws_node_throw_type(env, "option closeRules must be an array");
		return -1;
	}
	napi_get_array_length(env, arr, &n);
	if (!n)
		return 0;
	if (!(*rules = calloc(n, sizeof **rules))) {
		mws_node_throw_mws(env, MWS_ENOMEM, "closeRules");
		return -1;
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
			return -1;
		}
		(*rules)[i].code = code;
		(*rules)[i].action = action;
	}
	cfg->close_rules = *rules;
	cfg->close_rule_count = n;
	return 0;
}

static int mws__client_create(napi_env env, napi_value owner, const char *url,
                              const mws_client_config *cfg)
{
	mws_node_client *nc =
		(mws_node_client *)mws_node_handle_new(env, &mws__client_ops, sizeof *nc);
	if (!nc)
		return -1;
	nc->state = MWS_STATE_DISCONNECTED;
	pthread_mutex_init(&nc->creds_lock, NULL);
	int rc = mws_client_new(&nc->c, NULL, url, cfg);
	if (rc == 0) {
		nc->h.inst->live_clients++;
		mws_client_callbacks cbs = {.size = sizeof cbs,
		                            .on_state = mws__client_on_state,
		                            .on_credentials = mws_node_client_on_credentials,
		                            .on_acked = mws__client_on_acked,
		                            .on_session = mws__client_on_session,
		                            .on_messages = mws__client_on_messages,
		                            .on_sent = mws__client_on_sent};
		rc = mws_client_set_callbacks(nc->c, &cbs, nc, NULL);
	}
	return mws_node_handle_attach(&nc->h, owner, rc);
}

/* clientNew(owner, url, options) */
static napi_value mws__client_new(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	if (argc < 3)
		return mws_node_throw_type(env, "clientNew(owner, url, options)");
	napi_valuetype t;
	NAPI_OK(env, napi_typeof(env, argv[1], &t));
	if (t != napi_string)
		return mws_node_throw_type(env, "url must be a string");
	NAPI_OK(env, napi_typeof(env, argv[2], &t));
	if (t != napi_object)
		return mws_node_throw_type(env, "options must be an object");

	mws_client_config cfg;
	mws_client_config_init(&cfg);
	mws_close_rule *rules = NULL;
	char *url = mws_node_string(env, argv[1], NULL);
	if (url && !mws_node_opts_read(env, argv[2], mws__client_opts, N_OPTS, &cfg) &&
	    !mws__close_rules_read(env, argv[2], &cfg, &rules))
		mws__client_create(env, argv[0], url, &cfg);
	free(url);
	mws_node_opts_free(mws__client_opts, N_OPTS, &cfg);
	free(rules);
	return NULL;
}

static napi_value mws__client_connect(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 1);
	if (!nc)
		return NULL;
	int rc = mws_client_connect(nc->c);
	if (rc)
		return mws_node_throw_mws(env, rc, "connect");
	nc->connects_pending++;
	mws_node_handle_update_pin(&nc->h);
	return NULL;
}

/* clientSend(owner, data, binary?) -> the message's send number (delivery
 * receipts); binary defaults to "not a string". */
static napi_value mws__client_send(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	mws_node_client *nc = mws_node_client_this(env, info, 2, argv, 1);
	mws_node_msg m;
	if (!nc || mws_node_msg_get(env, argv[0], argv[1], &m))
		return NULL;
	uint64_t number = 0;
	int rc = mws_client_send_seq(nc->c, m.data, m.len, m.type, &number);
	mws_node_msg_free(&m);
	if (rc)
		return mws_node_throw_mws(env, rc, "send");
	napi_value v;
	NAPI_OK(env, napi_create_double(env, (double)number, &v));
	return v;
}

/* clientClose(owner, code?, reason?) and clientDisconnect(...). */
static napi_value mws__client_close_common(napi_env env, napi_callback_info info, int for_good)
{
	napi_value argv[2];
	mws_node_client *nc = mws_node_client_this(env, info, 2, argv, 0);
	if (!nc || !nc->c) /* already closed and freed: nothing to do */
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
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 1);
	return nc ? mws_node_check(env, mws_client_reconnect_now(nc->c), "reconnectNow") : NULL;
}

static napi_value mws__client_clear_queue(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 1);
	return nc ? mws_node_check(env, mws_client_clear_queue(nc->c), "clearQueue") : NULL;
}

static napi_value mws__client_release_queue(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 1);
	return nc ? mws_node_check(env, mws_client_release_queue(nc->c), "releaseQueue") : NULL;
}

/* The live state from the C client (may be ahead of the events). */
static napi_value mws__client_state(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 0);
	if (!nc)
		return NULL;
	napi_value v;
	NAPI_OK(env, napi_create_int32(env, nc->c ? mws_client_state(nc->c) : MWS_STATE_CLOSED, &v));
	return v;
}

static napi_value mws__client_stats(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 1);
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
	N("managed", managed);
	N("sendNumber", send_number);
	N("ackedNumber", acked_number);
	N("unacked", unacked);
	N("replayed", replayed);
	N("duplicatesDropped", duplicates_dropped);
	N("sessionsStarted", sessions_started);
	N("sessionsResumed", sessions_resumed);
	N("sessionsLost", sessions_lost);
	N("lostResent", lost_resent);
	N("lostDiscarded", lost_discarded);
	N("protocolErrors", protocol_errors);
	N("batchesOut", batches_out);
	N("goaways", goaways);
#undef N
	return o;
}

/* clientRef(owner, bool): ref() / unref() as on net.Socket. */
static napi_value mws__client_ref(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 0);
	if (nc)
		mws_node_handle_ref(&nc->h, argv[0]);
	return NULL;
}

/* clientCork(owner, bool): mws_client_cork; nothing once the client is freed. */
static napi_value mws__client_cork(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 0);
	if (!nc || !nc->c)
		return NULL;
	bool on = false;
	napi_get_value_bool(env, argv[0], &on);
	return mws_node_check(env, mws_client_cork(nc->c, on ? 1 : 0), "cork");
}

/* clientWantSent(owner, bool): EV_SENT events on (a send callback waits,
 * or 'drain' is wanted) or off. Set before the send it is for, so that no
 * write of that message can come before it. */
static napi_value mws__client_want_sent(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 0);
	if (!nc)
		return NULL;
	bool on = false;
	napi_get_value_bool(env, argv[0], &on);
	atomic_store(&nc->want_sent, on ? 1 : 0);
	return NULL;
}

/* clientServerConnectionId(owner) -> the id from the server's JSON
 * connection_ack, or null. */
static napi_value mws__client_server_connection_id(napi_env env, napi_callback_info info)
{
	mws_node_client *nc = mws_node_client_this(env, info, 0, NULL, 0);
	if (!nc)
		return NULL;
	char buf[256];
	int n = nc->c ? mws_client_server_connection_id(nc->c, buf, sizeof buf) : 0;
	if (n < 0)
		return mws_node_throw_mws(env, n, "serverConnectionId");
	napi_value v;
	if (n == 0)
		NAPI_OK(env, napi_get_null(env, &v));
	else
		NAPI_OK(env, napi_create_string_utf8(env, buf, (size_t)n, &v));
	return v;
}

napi_value mws_node_client_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		MWS_NODE_FN("clientNew", mws__client_new),
		MWS_NODE_FN("clientConnect", mws__client_connect),
		MWS_NODE_FN("clientSend", mws__client_send),
		MWS_NODE_FN("clientClose", mws__client_close),
		MWS_NODE_FN("clientDisconnect", mws__client_disconnect),
		MWS_NODE_FN("clientReconnectNow", mws__client_reconnect_now),
		MWS_NODE_FN("clientState", mws__client_state),
		MWS_NODE_FN("clientClearQueue", mws__client_clear_queue),
		MWS_NODE_FN("clientReleaseQueue", mws__client_release_queue),
		MWS_NODE_FN("clientStats", mws__client_stats),
		MWS_NODE_FN("clientServerConnectionId", mws__client_server_connection_id),
		MWS_NODE_FN("clientRef", mws__client_ref),
		MWS_NODE_FN("clientWantSent", mws__client_want_sent),
		MWS_NODE_FN("clientCork", mws__client_cork),
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return mws_node_client_creds_init(env, exports);
}
