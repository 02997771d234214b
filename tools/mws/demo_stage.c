/* The demo's cast on 127.0.0.1, in one process: a server, the fault proxy
 * in front of it and a client through the proxy. The server and the
 * client share one context (one I/O thread), as many clients and servers
 * of an application would. Their callbacks log events for the script and
 * print a dimmed line each; the server's side counts what arrived. */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"
#include "util.h"

/* ---- callbacks (I/O thread) ------------------------------------------ */

static void on_client_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	demo *d = ud;
	uint64_t us = cli_now_us();
	demo_event e = {.kind = EV_CLIENT, .at = us / 1000, .at_us = us, .from = ch->from,
	                .to = ch->to, .code = ch->close_code, .delay_ms = ch->retry_delay_ms,
	                .attempt = ch->attempt};
	snprintf(e.reason, sizeof e.reason, "%s", ch->reason);
	events_push(&d->events, &e);

	if (atomic_load(&d->muted))
		return;
	char code[24] = "", retry[48] = "";
	if (ch->close_code)
		snprintf(code, sizeof code, "code %d, ", ch->close_code);
	if (ch->to == MWS_STATE_RECONNECTING)
		snprintf(retry, sizeof retry, ", retry in %d ms (attempt %u)", ch->retry_delay_ms,
		         ch->attempt);
	say_event("client", "%-12s -> %-12s %s%s%s", mws_state_name(ch->from),
	          mws_state_name(ch->to), code, ch->reason, retry);
}

static void on_client_session(mws_client *c, const mws_session_info *info, void *ud)
{
	(void)c;
	demo *d = ud;
	if (atomic_load(&d->muted) || info->event == MWS_SESSION_STARTED)
		return;
	if (info->event == MWS_SESSION_RESUMED)
		say_event("client", "session resumed: what the server had not acknowledged is "
		                    "written again, the server drops what it already had");
	else if (info->event == MWS_SESSION_LOST)
		say_event("client", "session lost (the server no longer has it): %" PRIu64
		                    " unacknowledged, %" PRIu64 " re-sent (possibly duplicated), %" PRIu64
		                    " never written", info->unacked, info->resent, info->unsent);
}

static const char *why_text(int why)
{
	switch (why) {
	case MWS_DISCONNECT_PEER_CLOSED: return "the client closed it";
	case MWS_DISCONNECT_REAPED: return "reaped (silent too long)";
	case MWS_DISCONNECT_TOO_BIG: return "message too big";
	case MWS_DISCONNECT_SHUTDOWN: return "shutdown";
	case MWS_DISCONNECT_SERVER_CLOSED: return "closed by the server";
	case MWS_DISCONNECT_ERROR: return "lost (no close frame)";
	case MWS_DISCONNECT_EXPIRED: return "session expired";
	case MWS_DISCONNECT_PROTOCOL_ERROR: return "protocol error";
	default: return "?";
	}
}

static void on_srv_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv;
	(void)info;
	demo *d = ud;
	demo_event e = {.kind = EV_SRV_CONNECT, .at = cli_now_ms(), .id = id};
	events_push(&d->events, &e);
	if (!atomic_load(&d->muted))
		say_event("server", "connection %" PRIu64 " open", id);
}

static void on_srv_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                           int type, void *ud)
{
	(void)srv;
	(void)id;
	(void)type;
	demo *d = ud;
	ledger_received(&d->ledger, data, len);
}

static void on_srv_disconnect(mws_server *srv, mws_conn_id id, int code, const char *reason,
                              int why, void *ud)
{
	(void)srv;
	demo *d = ud;
	demo_event e = {.kind = EV_SRV_DISCONNECT, .at = cli_now_ms(), .id = id, .code = code,
	                .why = why};
	snprintf(e.reason, sizeof e.reason, "%s", reason);
	events_push(&d->events, &e);
	if (atomic_load(&d->muted))
		return;
	say_event("server", "connection %" PRIu64 " closed: %s, code %d%s%s%s", id, why_text(why),
	          code, *reason ? " \"" : "", reason, *reason ? "\"" : "");
}

/* ---- servers (main thread) ------------------------------------------- */

int stage_server_start(demo *d, int port, mws_server **out)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.port = port;
	cfg.heartbeat_timeout_ms = 2000; /* reaps its end of a zombie */
	cfg.check_interval_ms = 250;
	cfg.rate_per_sec = -1;
	mws_server_callbacks cbs = {sizeof cbs, NULL, on_srv_connect, on_srv_message,
	                            on_srv_disconnect};
	mws_server *srv = NULL;
	int rc = mws_server_new(&srv, d->ctx, &cfg);
	if (!rc)
		rc = mws_server_set_callbacks(srv, &cbs, d, NULL);
	if (!rc)
		rc = mws_server_start(srv);
	if (rc) {
		mws_server_free(srv);
		return rc;
	}
	*out = srv;
	return 0;
}

/* Whether nothing listens on 127.0.0.1:port any more. */
static bool port_is_free(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return true;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	bool free_now = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return free_now;
}

/* It waits until the old listening socket is really gone: libwebsockets
 * would otherwise hand the new server the listener of the one still being
 * torn down. */
int stage_server_restart_on(demo *d, int port, mws_server **out)
{
	uint64_t end = cli_now_ms() + 3000;
	int rc;

	while (!port_is_free(port) && cli_now_ms() < end)
		cli_sleep_ms(20);
	if (!port_is_free(port))
		say("warning: port %d is still held by the old server", port);
	while ((rc = stage_server_start(d, port, out)) == MWS_ELISTEN && cli_now_ms() < end)
		cli_sleep_ms(50);
	return rc;
}

/* ---- setup and teardown (main thread) -------------------------------- */

static int client_start(demo *d, const char *url)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_interval_ms = d->opt.hb_interval;
	cfg.heartbeat_timeout_ms = d->opt.hb_timeout;
	cfg.base_delay_ms = d->opt.base_delay;
	cfg.max_delay_ms = d->opt.max_delay;
	cfg.connect_timeout_ms = 1000;
	cfg.handshake_timeout_ms = 1000;
	cfg.min_uptime_ms = 1000;
	cfg.random_seed = d->opt.seed;
	/* mws.v1 required: the demo shows it, a fallback would hide a fault. */
	cfg.protocol_mode = d->opt.plain ? MWS_PROTOCOL_PLAIN : MWS_PROTOCOL_REQUIRE;
	mws_client_callbacks cbs = {sizeof cbs, on_client_state, NULL, NULL, NULL,
	                            on_client_session};
	int rc = mws_client_new(&d->client, d->ctx, url, &cfg);
	if (!rc)
		rc = mws_client_set_callbacks(d->client, &cbs, d, NULL);
	return rc;
}

int stage_setup(demo *d)
{
	const demo_opts *o = &d->opt;
	char url[64];
	int rc;

	if ((rc = cli_ctx_new(&d->ctx, NULL))) {
		fprintf(stderr, "mws demo: %s\n", mws_strerror(rc));
		return -1;
	}
	if ((rc = stage_server_start(d, 0, &d->srv))) {
		fprintf(stderr, "mws demo: cannot start the server: %s\n", mws_strerror(rc));
		return -1;
	}
	d->port = mws_server_port(d->srv);
	if ((rc = mws_fault_proxy_start(&d->proxy, "127.0.0.1", 0, "127.0.0.1", d->port))) {
		fprintf(stderr, "mws demo: cannot start the proxy: %s\n", strerror(-rc));
		return -1;
	}
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/demo", mws_fault_proxy_port(d->proxy));
	if ((rc = client_start(d, url))) {
		fprintf(stderr, "mws demo: client: %s\n", mws_strerror(rc));
		return -1;
	}
	say("server  ws://127.0.0.1:%d/  (managedws, in this process)", d->port);
	say("proxy   127.0.0.1:%d -> 127.0.0.1:%d  (injects the faults)",
	    mws_fault_proxy_port(d->proxy), d->port);
	say("client  %s  heartbeat every %d ms, timeout %d ms; backoff %d..%d ms, full jitter; "
	    "%d messages/s", url, o->hb_interval, o->hb_timeout, o->base_delay, o->max_delay,
	    o->rate);
	say("protocol %s", o->plain ? "plain WebSocket (no acknowledgements: --protocol plain)"
	                            : "mws.v1: numbered messages, acknowledged, kept until "
	                              "acknowledged, resumed sessions");
	int from = events_count(&d->events), connected = MWS_STATE_CONNECTED;
	mws_client_connect(d->client);
	if (traffic_wait(d, from, ev_client_to, &connected, 5000, 0) < 0 ||
	    traffic_wait(d, from, ev_srv_connect, NULL, 2000, 0) < 0) {
		fprintf(stderr, "mws demo: the client could not connect\n");
		return -1;
	}
	return 0;
}

void stage_teardown(demo *d)
{
	atomic_store(&d->muted, 1);
	mws_client_free(d->client);
	mws_server_free(d->srv);
	mws_fault_proxy_stop(d->proxy);
	if (d->ctx)
		mws_ctx_free(d->ctx);
}
