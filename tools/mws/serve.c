/* mws serve: our server in a terminal. One line per connect and disconnect
 * on stderr, a periodic summary, and a graceful shutdown on SIGTERM/SIGINT.
 * stdout carries only the "PORT n" line of --print-port, so that scripts
 * can read it and need not drain anything else. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "json_lines.h"
#include "managedws.h"
#include "subcommands.h"
#include "util.h"

enum { MODE_ECHO, MODE_BROADCAST, MODE_SINK };

static const cli_choice mode_choices[] = {
	{"echo", MODE_ECHO}, {"broadcast", MODE_BROADCAST}, {"sink", MODE_SINK}, {NULL, 0}};

static const cli_choice loop_choices[] = {{"default", MWS_EVENT_LOOP_DEFAULT},
                                          {"poll", MWS_EVENT_LOOP_POLL},
                                          {"epoll", MWS_EVENT_LOOP_EPOLL},
                                          {NULL, 0}};

static struct {
	mws_server_config cfg;
	int event_loop;
	const char *host;
	cli_list origins;
	int mode, print_port, summary_ms, quiet, verbose, json, tick_ms;
	int shutdown_code, shutdown_spread_ms, shutdown_deadline_ms;
} o;

static const cli_flag serve_flags[] = {
	{"host", "ADDR", CLI_STRING, &o.host, 0, 0, NULL,
	 "address or interface to listen on; '*' = every interface"},
	{"port", "N", CLI_INT, &o.cfg.port, 0, 65535, NULL, "port; 0 picks a free one"},
	{"mode", "MODE", CLI_CHOICE, &o.mode, 0, 0, mode_choices,
	 "echo to the sender, broadcast to everyone, or sink (count and drop)"},
	{"print-port", NULL, CLI_BOOL, &o.print_port, 0, 0, NULL,
	 "print 'PORT n' as the first line on stdout once listening"},
	{"cert", "PEM", CLI_STRING, &o.cfg.cert_file, 0, 0, NULL,
	 "certificate for wss:// (with --key)"},
	{"key", "PEM", CLI_STRING, &o.cfg.key_file, 0, 0, NULL, "private key for wss://"},
	{"heartbeat-timeout", "MS", CLI_INT, &o.cfg.heartbeat_timeout_ms, CLI_MS, NULL,
	 "a client silent this long is reaped with 4000"},
	{"check-interval", "MS", CLI_INT, &o.cfg.check_interval_ms, CLI_MS, NULL,
	 "how often silence is checked"},
	{"ping-interval", "MS", CLI_INT, &o.cfg.ping_interval_ms, -1, 86400000, NULL,
	 "RFC 6455 pings to each client; 0 or -1 = none"},
	{"json-protocol", NULL, CLI_BOOL, &o.cfg.json_protocol, 0, 0, NULL,
	 "send {\"type\":\"connection_ack\",...} on connect; text that is not JSON closes with 1003"},
	{"json-allow-invalid", NULL, CLI_BOOL, &o.cfg.json_allow_invalid, 0, 0, NULL,
	 "with --json-protocol, deliver text that is not JSON instead of closing"},
	{"max-message-bytes", "SIZE", CLI_SIZE, &o.cfg.max_message_bytes, 0, 0, NULL,
	 "largest message received; larger closes with 1009"},
	{"max-connections", "N", CLI_INT, &o.cfg.max_connections, 1, 10000000, NULL,
	 "connections at once; more are refused with 503"},
	{"rate", "PER_SEC", CLI_DOUBLE, &o.cfg.rate_per_sec, -1, 1e9, NULL,
	 "handshakes per second per address (token bucket); 0 or -1 = off"},
	{"rate-burst", "N", CLI_INT, &o.cfg.rate_burst, 1, 1000000000, NULL,
	 "token bucket size"},
	{"origin", "ORIGIN", CLI_LIST, &o.origins, 0, 0, NULL,
	 "allowed Origin (none given: any)"},
	{"handshake-timeout", "MS", CLI_INT, &o.cfg.handshake_timeout_ms, CLI_MS, NULL,
	 "HTTP upgrade must finish within this"},
	{"max-handshakes-per-address", "N", CLI_INT, &o.cfg.max_handshakes_per_address, -1,
	 1000000, NULL, "upgrades in progress per peer address; more are closed at once; -1 = no bound"},
	{"send-queue-max-bytes", "SIZE", CLI_SIZE, &o.cfg.send_queue_max_bytes, 0, 0, NULL,
	 "bytes waiting per connection"},
	{"max-sessions", "N", CLI_INT, &o.cfg.max_sessions, 1, 10000000, NULL,
	 "mws.v1 sessions held at once (suspended ones too); more are closed with 4013"},
	{"rx-buffer-bytes", "SIZE", CLI_SIZE, &o.cfg.rx_buffer_bytes, 0, 0, NULL,
	 "receive buffer each connection holds (128..1M; 0 = 512); 4096 reads big messages faster"},
	CLI_FLAG_SEED(&o.cfg.random_seed, "random seed for the retry-after spread"),
	{"session-store", "URL", CLI_STRING, &o.cfg.session_store_url, 0, 0, NULL,
	 "keep mws.v1 sessions in Redis (redis://127.0.0.1:6379/0): they resume on any node using it"},
	{"session-ttl", "MS", CLI_INT, &o.cfg.session_ttl_ms, CLI_MS, NULL,
	 "how long a suspended mws.v1 session is kept"},
	{"shutdown-code", "CODE", CLI_INT, &o.shutdown_code, 1000, 4999, NULL,
	 "close code sent on SIGTERM/SIGINT (1012 restart, 1001 going away)"},
	{"shutdown-spread", "MS", CLI_INT, &o.shutdown_spread_ms, CLI_MS0, NULL,
	 "retry-after hints spread uniformly over this window"},
	{"shutdown-deadline", "MS", CLI_INT, &o.shutdown_deadline_ms, CLI_MS, NULL,
	 "wait this long for close handshakes, then drop the rest"},
	{"shutdown-release-port", NULL, CLI_BOOL, &o.cfg.release_port_on_shutdown, 0, 0, NULL,
	 "close the listening socket when the shutdown begins, so a successor can\n"
	 "listen on the port while this server drains"},
	{"tick", "MS", CLI_INT, &o.tick_ms, CLI_MS0, NULL,
	 "broadcast 'tick=N' (N = 1, 2, ...) every MS to every client; 0 = none"},
	{"summary-interval", "MS", CLI_INT, &o.summary_ms, CLI_MS0, NULL,
	 "a one-line summary every MS; 0 = none"},
	{"quiet", NULL, CLI_BOOL, &o.quiet, 0, 0, NULL, "no connect/disconnect lines"},
	{"json", NULL, CLI_BOOL, &o.json, 0, 0, NULL,
	 "stdout carries one JSON object per line: listening, connect, disconnect,\n"
	 "refused, summary, shutdown"},
	{"event-loop", "LOOP", CLI_CHOICE, &o.event_loop, 0, 0, loop_choices,
	 "what the I/O thread waits in: poll, epoll (libev; needs libwebsockets-evlib-ev;\n"
	 "idles far cheaper with many connections), or default ($MWS_EVENT_LOOP, else poll)"},
	CLI_FLAG_VERBOSE(&o.verbose),
};

static const cli_command serve_cmd = {
	"serve", "",
	"A managedws server. Answers pings and JSON heartbeats, reaps silent\n"
	"clients, limits handshake floods, serves /healthz and /metrics on the\n"
	"same port. Connects, disconnects (with why), refusals and a periodic\n"
	"summary go to stderr. SIGTERM or SIGINT shuts down gracefully: new\n"
	"handshakes get 503, every client is closed with --shutdown-code and a\n"
	"'retry-after' spread over --shutdown-spread; a second signal exits at once.",
	serve_flags, CLI_NFLAGS(serve_flags),
	"exit status:\n"
	"  0  shut down gracefully: every client closed in time\n"
	"  1  cannot listen, or internal error\n"
	"  2  bad flag\n"
	"  3  shut down, but some clients were dropped at --shutdown-deadline\n\n"
	"example:\n"
	"  mws serve --port 8080 --mode broadcast --summary-interval 10000\n",
};

static void set_defaults(void)
{
	memset(&o, 0, sizeof o);
	mws_server_config_init(&o.cfg);
	o.host = "127.0.0.1";
	o.cfg.heartbeat_timeout_ms = 60000;
	o.cfg.check_interval_ms = 5000;
	o.cfg.ping_interval_ms = 25000;
	o.cfg.max_message_bytes = 1u << 20;
	o.cfg.max_connections = 10000;
	o.cfg.rate_per_sec = 10;
	o.cfg.rate_burst = 20;
	o.cfg.handshake_timeout_ms = 10000;
	o.cfg.send_queue_max_bytes = 8u << 20;
	o.cfg.max_handshakes_per_address = 64;
	o.cfg.session_ttl_ms = 120000;
	o.mode = MODE_ECHO;
	o.summary_ms = 5000;
	o.shutdown_code = 1012;
	o.shutdown_spread_ms = 5000;
	o.shutdown_deadline_ms = 10000;
}

static const char *why_name(int why)
{
	switch (why) {
	case MWS_DISCONNECT_PEER_CLOSED: return "peer-closed";
	case MWS_DISCONNECT_REAPED: return "reaped";
	case MWS_DISCONNECT_TOO_BIG: return "too-big";
	case MWS_DISCONNECT_SHUTDOWN: return "shutdown";
	case MWS_DISCONNECT_SERVER_CLOSED: return "server-closed";
	case MWS_DISCONNECT_ERROR: return "lost";
	case MWS_DISCONNECT_INVALID_MESSAGE: return "invalid-message";
	case MWS_DISCONNECT_EXPIRED: return "expired";
	case MWS_DISCONNECT_PROTOCOL_ERROR: return "protocol-error";
	case MWS_DISCONNECT_MOVED: return "moved";
	default: return "?";
	}
}

static const char *const refuse_names[MWS_REFUSE_COUNT] = {
	"rate-limited", "max-connections", "origin", "auth", "shutting-down"};

static void on_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv;
	(void)ud;
	if (o.json) {
		cJSON *j = jl_event("connect");
		if (j) {
			jl_add_u64(j, "id", id);
			cJSON_AddStringToObject(j, "peer", info->peer_ip);
			cJSON_AddStringToObject(j, "path", info->path);
			cJSON_AddStringToObject(j, "origin", info->origin);
		}
		jl_emit(j);
	}
	if (!o.quiet)
		cli_log_line("connect id=%" PRIu64 " peer=%s path=%s%s%s", id, info->peer_ip,
		             info->path, *info->origin ? " origin=" : "", info->origin);
}

static void on_disconnect(mws_server *srv, mws_conn_id id, int code, const char *reason,
                          int why, void *ud)
{
	(void)srv;
	(void)ud;
	if (o.json) {
		cJSON *j = jl_event("disconnect");
		if (j) {
			jl_add_u64(j, "id", id);
			cJSON_AddNumberToObject(j, "code", code);
			cJSON_AddStringToObject(j, "why", why_name(why));
			cJSON_AddStringToObject(j, "reason", reason);
		}
		jl_emit(j);
	}
	if (!o.quiet)
		cli_log_line("disconnect id=%" PRIu64 " code=%d why=%s reason=\"%s\"", id, code,
		             why_name(why), reason);
}

static void on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len, int type,
                       void *ud)
{
	(void)ud;
	if (o.mode == MODE_ECHO)
		mws_server_send(srv, id, data, len, type);
	else if (o.mode == MODE_BROADCAST)
		mws_server_broadcast(srv, data, len, type);
}

static void on_log(int level, const char *msg, void *ud)
{
	(void)ud;
	cli_log_line("log %d: %s", level, msg);
}

static void print_refusals(const mws_server_stats *now, const mws_server_stats *before)
{
	for (int i = 0; i < MWS_REFUSE_COUNT; i++) {
		if (now->refused[i] != before->refused[i] && o.json) {
			cJSON *j = jl_event("refused");
			if (j) {
				cJSON_AddStringToObject(j, "why", refuse_names[i]);
				jl_add_u64(j, "count", now->refused[i] - before->refused[i]);
				jl_add_u64(j, "total", now->refused[i]);
			}
			jl_emit(j);
		}
		if (now->refused[i] != before->refused[i] && !o.quiet)
			cli_log_line("refused why=%s count=+%" PRIu64 " total=%" PRIu64,
			             refuse_names[i], now->refused[i] - before->refused[i],
			             now->refused[i]);
	}
}

static void print_summary(const mws_server_stats *st, const mws_server_stats *last,
                          uint64_t elapsed_ms)
{
	double secs = elapsed_ms ? (double)elapsed_ms / 1000.0 : 1.0;

	if (o.json) {
		cJSON *j = jl_event("summary");
		if (j) {
			jl_add_u64(j, "connections", st->connections);
			jl_add_u64(j, "accepted", st->accepted);
			jl_add_u64(j, "disconnects", st->disconnects);
			jl_add_u64(j, "refused", st->refused_total);
			jl_add_u64(j, "reaped", st->reaped);
			jl_add_u64(j, "msgs_in", st->msgs_in);
			jl_add_u64(j, "msgs_out", st->msgs_out);
			cJSON_AddNumberToObject(j, "msgs_in_per_s", (double)(st->msgs_in - last->msgs_in) / secs);
			cJSON_AddNumberToObject(j, "msgs_out_per_s", (double)(st->msgs_out - last->msgs_out) / secs);
			jl_add_u64(j, "dropped", st->send_dropped);
			jl_add_u64(j, "queue_full", st->send_queue_full);
			jl_add_u64(j, "rtt_p50_us", st->rtt_p50_us);
			jl_add_u64(j, "rtt_p99_us", st->rtt_p99_us);
		}
		jl_emit(j);
	}

	cli_log_line("summary connections=%u accepted=%" PRIu64 " disconnects=%" PRIu64
	        " refused=%" PRIu64 " reaped=%" PRIu64 " msgs_in=%" PRIu64 " (%.0f/s) msgs_out=%" PRIu64
	        " (%.0f/s) dropped=%" PRIu64 " queue_full=%" PRIu64 " rtt_p50=%uus rtt_p99=%uus",
	        st->connections, st->accepted, st->disconnects, st->refused_total, st->reaped,
	        st->msgs_in, (double)(st->msgs_in - last->msgs_in) / secs, st->msgs_out,
	        (double)(st->msgs_out - last->msgs_out) / secs, st->send_dropped,
	        st->send_queue_full, st->rtt_p50_us, st->rtt_p99_us);
}

static int run(mws_server *srv, int sig_r)
{
	mws_server_stats seen = {.size = sizeof seen}, at_summary, st = {.size = sizeof st};
	uint64_t summary_at = cli_now_ms();

	uint64_t tick_at = summary_at + (uint64_t)o.tick_ms, ticks = 0;

	mws_server_stats_get(srv, &seen);
	at_summary = seen;
	for (;;) {
		struct pollfd p = {.fd = sig_r, .events = POLLIN};
		if (poll(&p, 1, o.tick_ms > 0 && o.tick_ms < 250 ? o.tick_ms : 250) < 0 &&
		    errno != EINTR)
			return 1;
		int signo = cli_signal_take(sig_r);
		/* A numbered stream from the server side (mws cluster-client checks
		 * it for gaps); a tick that could not be queued keeps its number. */
		while (o.tick_ms > 0 && !signo && cli_now_ms() >= tick_at) {
			char text[32];
			int len = snprintf(text, sizeof text, "tick=%" PRIu64, ticks + 1);
			tick_at += (uint64_t)o.tick_ms;
			if (mws_server_broadcast(srv, text, (size_t)len, MWS_MSG_TEXT) == 0)
				ticks++;
		}
		mws_server_stats_get(srv, &st);
		print_refusals(&st, &seen);
		seen = st;
		uint64_t now = cli_now_ms();
		if (o.summary_ms > 0 && now - summary_at >= (uint64_t)o.summary_ms) {
			print_summary(&st, &at_summary, now - summary_at);
			at_summary = st;
			summary_at = now;
		}
		if (!signo)
			continue;
		cli_signals_stopping();
		cli_log_line("shutdown signal=%s connections=%u code=%d spread=%dms deadline=%dms",
		             signo == SIGINT ? "SIGINT" : "SIGTERM", st.connections, o.shutdown_code,
		             o.shutdown_spread_ms, o.shutdown_deadline_ms);
		int rc = mws_server_shutdown(srv, o.shutdown_code, o.shutdown_spread_ms,
		                             o.shutdown_deadline_ms);
		if (o.json) {
			cJSON *j = jl_event("shutdown");
			if (j) {
				cJSON_AddBoolToObject(j, "clean", rc == 0);
				cJSON_AddNumberToObject(j, "code", o.shutdown_code);
				jl_add_u64(j, "connections", st.connections);
			}
			jl_emit(j);
		}
		cli_log_line("shutdown done: %s",
		             rc == 0                ? "every client closed"
		             : rc == MWS_ETIMEDOUT ? "some clients dropped at the deadline"
		                                   : mws_strerror(rc));
		return rc == 0 ? 0 : 3;
	}
}

int mws_cmd_serve(int argc, char **argv)
{
	const char *pos;
	int npos, rc, status = 1;
	mws_ctx *ctx = NULL;
	mws_server *srv = NULL;

	set_defaults();
	rc = cli_parse(&serve_cmd, argc, argv, &pos, 0, &npos);
	if (rc != CLI_PARSE_OK)
		return cli_parse_status(rc);
	if (!o.cfg.cert_file != !o.cfg.key_file) {
		cli_lists_free(&serve_cmd);
		return cli_usage_error(&serve_cmd, "--cert and --key go together");
	}
	if (o.cfg.ping_interval_ms == 0)
		o.cfg.ping_interval_ms = -1;
	if (o.cfg.rate_per_sec == 0)
		o.cfg.rate_per_sec = -1;
	o.cfg.iface = strcmp(o.host, "*") ? o.host : NULL;
	o.cfg.origins = o.origins.items;
	o.cfg.origin_count = o.origins.count;

	int sig_r = cli_signals_install();
	if (sig_r < 0 || (rc = cli_ctx_new_on(&ctx, o.verbose ? on_log : NULL, o.event_loop))) {
		if (rc == MWS_EUNSUPPORTED)
			cli_error(&serve_cmd, "--event-loop epoll: %s (it needs libev and the Debian "
			          "package libwebsockets-evlib-ev)", mws_strerror(rc));
		else
			cli_error(&serve_cmd, "%s", sig_r < 0 ? strerror(errno) : mws_strerror(rc));
		goto out;
	}
	rc = mws_server_new(&srv, ctx, &o.cfg);
	if (rc == MWS_EINVAL && o.cfg.session_store_url) {
		status = cli_usage_error(&serve_cmd, "--session-store wants redis://HOST[:PORT][/DB], "
		                         "and a build with Redis (hiredis); or a flag is out of range");
		goto out;
	}
	if (rc == MWS_EINVAL) {
		status = cli_usage_error(&serve_cmd, "a flag is out of range (%s)", mws_strerror(rc));
		goto out;
	}
	if (rc == MWS_ESTORE) {
		cli_error(&serve_cmd, "cannot reach the session store %s", o.cfg.session_store_url);
		goto out;
	}
	mws_server_callbacks cbs = {sizeof cbs, NULL, on_connect, on_message, on_disconnect};
	if (rc || (rc = mws_server_set_callbacks(srv, &cbs, NULL, NULL)) ||
	    (rc = mws_server_start(srv))) {
		cli_error(&serve_cmd, "cannot listen on %s:%d: %s", o.host, o.cfg.port,
		          mws_strerror(rc));
		goto out;
	}
	int port = mws_server_port(srv);
	if (o.print_port) {
		printf("PORT %d\n", port);
		fflush(stdout);
	}
	if (o.json) {
		cJSON *j = jl_event("listening");
		if (j) {
			cJSON_AddNumberToObject(j, "port", port);
			cJSON_AddStringToObject(j, "host", o.cfg.iface ? o.host : "*");
			cJSON_AddBoolToObject(j, "tls", o.cfg.cert_file != NULL);
		}
		jl_emit(j);
	}
	cli_log_line("listening on %s://%s:%d/ mode=%s (also /healthz, /metrics)",
	        o.cfg.cert_file ? "wss" : "ws", o.cfg.iface ? o.host : "*", port,
	        cli_choice_name(mode_choices, o.mode));
	status = run(srv, sig_r);
out:
	mws_server_free(srv);
	if (ctx)
		mws_ctx_free(ctx);
	cli_lists_free(&serve_cmd);
	return status;
}
