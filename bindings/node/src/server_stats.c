/* serverStats(owner): mws_server_stats as a plain object, names in
 * camelCase, the refusals by reason under `refused`. */
#include "addon.h"
#include "args.h"
#include "errors.h"
#include "server.h"

#ifndef MWS_NODE_HAS_SERVER
#include "mws_node_features.h"
#endif

#if MWS_NODE_HAS_SERVER

napi_value mws_node_server_stats(napi_env env, napi_callback_info info)
{
	mws_node_server *ns = mws_node_server_this(env, info, 0, NULL, 0);
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
	N("invalidMessages", invalid_messages);
	N("sendQueueFull", send_queue_full);
	N("handshakesOverAddressLimit", handshakes_over_address_limit);
	N("headersTooLarge", headers_too_large);
	N("sessionsActive", sessions_active);
	N("sessionsSuspended", sessions_suspended);
	N("sessionsCreated", sessions_created);
	N("sessionsResumed", sessions_resumed);
	N("sessionsExpired", sessions_expired);
	N("protocolErrors", protocol_errors);
	N("replayed", replayed);
	N("duplicatesDropped", duplicates_dropped);
	N("batchesOut", batches_out);
	N("goawaysSent", goaways_sent);
	N("pausedConnections", paused_connections);
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

#endif
