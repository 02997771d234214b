/* mws connect URL: a managed client in a terminal or a pipeline. This
 * file is the command: its flags, how they become the client's
 * configuration, and the start and end; connect_session.c runs it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect_session.h"
#include "flags.h"
#include "json_lines.h"
#include "managedws.h"
#include "subcommands.h"
#include "util.h"

static void on_log(int level, const char *msg, void *ud)
{
	(void)ud;
	static const char *names[] = {"", "error", "warn", "info", "debug"};

	cli_log_line("log %s: %s", level >= 1 && level <= 4 ? names[level] : "?", msg);
}

static const cli_choice heartbeat_choices[] = {
	{"ping", MWS_HEARTBEAT_PING}, {"json", MWS_HEARTBEAT_JSON}, {"off", MWS_HEARTBEAT_OFF},
	{NULL, 0}};
static const cli_choice jitter_choices[] = {
	{"full", MWS_JITTER_FULL},
	{"equal", MWS_JITTER_EQUAL},
	{"decorrelated", MWS_JITTER_DECORRELATED},
	{"proportional", MWS_JITTER_PROPORTIONAL},
	{"none", MWS_JITTER_NONE},
	{NULL, 0}};
static const cli_choice action_choices[] = {
	{"reconnect", MWS_CLOSE_ACTION_RECONNECT},
	{"restart", MWS_CLOSE_ACTION_RESTART},
	{"fail", MWS_CLOSE_ACTION_FAIL},
	{"close", MWS_CLOSE_ACTION_CLOSE},
	{NULL, 0}};

/* Everything the flags set. Defaults are the library's, written out so
 * that --help shows them. */
static struct {
	mws_client_config cfg;
	cli_list headers, close_rules;
	int binary, quiet, verbose, stats, json;
	int flush_timeout_ms, linger_ms;
} o;

static const cli_flag connect_flags[] = {
	{"binary", NULL, CLI_BOOL, &o.binary, 0, 0, NULL, "send each stdin line as a binary message"},
	{"subprotocol", "NAME", CLI_STRING, &o.cfg.subprotocol, 0, 0, NULL,
	 "Sec-WebSocket-Protocol to request"},
	{"origin", "ORIGIN", CLI_STRING, &o.cfg.origin, 0, 0, NULL, "Origin header to send"},
	{"header", "'NAME: VALUE'", CLI_LIST, &o.headers, 0, 0, NULL,
	 "extra handshake header"},
	{"connect-timeout", "MS", CLI_INT, &o.cfg.connect_timeout_ms, CLI_MS, NULL,
	 "TCP (and TLS) connect timeout"},
	{"handshake-timeout", "MS", CLI_INT, &o.cfg.handshake_timeout_ms, CLI_MS, NULL,
	 "HTTP upgrade timeout"},
	{"base-delay", "MS", CLI_INT, &o.cfg.base_delay_ms, CLI_MS, NULL,
	 "first backoff delay: delay(n) = min(max, base * 2^n)"},
	{"max-delay", "MS", CLI_INT, &o.cfg.max_delay_ms, CLI_MS, NULL, "backoff cap"},
	{"backoff-factor", "F", CLI_DOUBLE, &o.cfg.backoff_factor, 1, 1000, NULL,
	 "backoff growth per attempt (base * F^n instead of base * 2^n)"},
	{"jitter", "KIND", CLI_CHOICE, &o.cfg.jitter, 0, 0, jitter_choices, "backoff jitter"},
	{"jitter-proportion", "P", CLI_DOUBLE, &o.cfg.jitter_proportion, 0, 10, NULL,
	 "p for proportional jitter: d + uniform [0, p*d]"},
	{"restart-spread", "MS", CLI_INT, &o.cfg.restart_spread_ms, CLI_MS, NULL,
	 "random wait after 1001/1012 without a retry-after"},
	{"min-uptime", "MS", CLI_INT, &o.cfg.min_uptime_ms, CLI_MS, NULL,
	 "a connection up this long resets the attempt counter"},
	{"max-attempts", "N", CLI_INT, &o.cfg.max_attempts, 0, 1000000000, NULL,
	 "failed attempts in a row before FAILED, 0 = unlimited"},
	{"no-reconnect", NULL, CLI_BOOL, &o.cfg.no_reconnect, 0, 0, NULL,
	 "one connection: when it fails or ends (but with 1000) -> FAILED"},
	{"no-offline-queue", NULL, CLI_BOOL, &o.cfg.no_offline_queue, 0, 0, NULL,
	 "lines read while not connected are dropped (a note on stderr each), not queued"},
	{"breaker-failures", "N", CLI_INT, &o.cfg.breaker_failures, 0, 1000000, NULL,
	 "circuit breaker: N failures within --breaker-window -> FAILED, 0 = off"},
	{"breaker-window", "MS", CLI_INT, &o.cfg.breaker_window_ms, CLI_MS, NULL,
	 "circuit breaker window"},
	{"heartbeat", "MODE", CLI_CHOICE, &o.cfg.heartbeat_mode, 0, 0, heartbeat_choices,
	 "liveness check"},
	{"heartbeat-interval", "MS", CLI_INT, &o.cfg.heartbeat_interval_ms, CLI_MS, NULL,
	 "time between heartbeats"},
	{"heartbeat-timeout", "MS", CLI_INT, &o.cfg.heartbeat_timeout_ms, CLI_MS, NULL,
	 "no answer within this -> close 4000 and reconnect"},
	{"queue-max-messages", "N", CLI_INT, &o.cfg.queue_max_messages, 1, 100000000, NULL,
	 "messages waiting to be written, at most"},
	{"queue-max-bytes", "SIZE", CLI_SIZE, &o.cfg.queue_max_bytes, 0, 0, NULL,
	 "bytes waiting to be written, at most"},
	{"max-message-bytes", "SIZE", CLI_SIZE, &o.cfg.max_message_bytes, 0, 0, NULL,
	 "largest message received; larger closes with 1009"},
	{"ca-file", "PEM", CLI_STRING, &o.cfg.ca_file, 0, 0, NULL,
	 "CA certificates for wss:// (none: the system's)"},
	{"insecure", NULL, CLI_BOOL, &o.cfg.insecure, 0, 0, NULL,
	 "accept any server certificate (testing only)"},
	{"local-address", "IP", CLI_STRING, &o.cfg.local_address, 0, 0, NULL,
	 "leave from this source address (an IP literal)"},
	{"close-rule", "CODE=ACTION", CLI_LIST, &o.close_rules, 0, 0, NULL,
	 "override the close-code policy; ACTION is reconnect|restart|fail|close"},
	CLI_FLAG_SEED(&o.cfg.random_seed, "jitter random seed"),
	{"flush-timeout", "MS", CLI_INT, &o.flush_timeout_ms, CLI_MS0, NULL,
	 "at stdin EOF, wait this long for queued messages to be written"},
	{"linger", "MS", CLI_INT, &o.linger_ms, CLI_MS0, NULL,
	 "after the flush, keep reading replies this long before closing"},
	{"stats", NULL, CLI_BOOL, &o.stats, 0, 0, NULL, "print the client's statistics at exit"},
	{"quiet", NULL, CLI_BOOL, &o.quiet, 0, 0, NULL, "no state lines on stderr"},
	{"json", NULL, CLI_BOOL, &o.json, 0, 0, NULL,
	 "stdout carries one JSON object per line: {\"event\":\"state\"|\"message\"|\"summary\",...}"},
	CLI_FLAG_VERBOSE(&o.verbose),
};

static const cli_command connect_cmd = {
	"connect", "URL",
	"A managed WebSocket client. Each stdin line is sent as a message (in order,\n"
	"queued while disconnected); each received message is printed on stdout,\n"
	"one per line. Every state change goes to stderr with a timestamp, the\n"
	"close code, the reason and, when reconnecting, the next retry delay.\n"
	"URL is ws://HOST[:PORT]/PATH or wss://...",
	connect_flags, CLI_NFLAGS(connect_flags),
	"exit status:\n"
	"  0  closed by us: stdin ended and every queued message was written\n"
	"     (then --linger, then close 1000), or SIGINT/SIGTERM\n"
	"  1  internal error (the I/O thread could not start)\n"
	"  2  bad flag or URL\n"
	"  3  FAILED: the server refused for good (1003, 1007, 1008, 1009, 1010,\n"
	"     4001, HTTP 401/403 twice, or a close rule 'fail')\n"
	"  4  FAILED: circuit open (--breaker-failures within --breaker-window)\n"
	"  5  FAILED: --max-attempts reached, or the connection ended with\n"
	"     --no-reconnect\n"
	"  6  CLOSED by the server (1000, or a close rule 'close')\n"
	"  7  stdin ended but messages were still queued after --flush-timeout\n"
	"     (they were discarded)\n\n"
	"example:\n"
	"  mws connect --heartbeat-interval 2000 --heartbeat-timeout 1000 ws://127.0.0.1:8080/\n",
};

static void set_defaults(void)
{
	memset(&o, 0, sizeof o);
	mws_client_config_init(&o.cfg);
	o.cfg.connect_timeout_ms = 10000;
	o.cfg.handshake_timeout_ms = 10000;
	o.cfg.base_delay_ms = 500;
	o.cfg.max_delay_ms = 30000;
	o.cfg.jitter = MWS_JITTER_FULL;
	o.cfg.jitter_proportion = 0.3;
	o.cfg.backoff_factor = 2.0;
	o.cfg.restart_spread_ms = 5000;
	o.cfg.min_uptime_ms = 5000;
	o.cfg.breaker_window_ms = 60000;
	o.cfg.heartbeat_mode = MWS_HEARTBEAT_PING;
	o.cfg.heartbeat_interval_ms = 20000;
	o.cfg.heartbeat_timeout_ms = 10000;
	o.cfg.queue_max_messages = 1024;
	o.cfg.queue_max_bytes = 4u << 20;
	o.cfg.max_message_bytes = 16u << 20;
	o.flush_timeout_ms = 5000;
	o.linger_ms = 500;
}

/* Headers joined by '\n' (malloc'ed into *out), or a usage error. */
static int build_headers(char **out)
{
	size_t total = 1;

	*out = NULL;
	for (size_t i = 0; i < o.headers.count; i++) {
		const char *h = o.headers.items[i], *colon = strchr(h, ':');
		if (!colon || colon == h || strpbrk(h, "\r\n"))
			return cli_usage_error(&connect_cmd, "--header '%s' is not 'Name: value'", h);
		total += strlen(h) + 1;
	}
	if (!o.headers.count)
		return 0;
	char *s = calloc(1, total);
	if (!s)
		return cli_usage_error(&connect_cmd, "out of memory");
	for (size_t i = 0; i < o.headers.count; i++) {
		strcat(s, o.headers.items[i]);
		if (i + 1 < o.headers.count)
			strcat(s, "\n");
	}
	*out = s;
	return 0;
}

static int build_close_rules(mws_close_rule **out)
{
	*out = NULL;
	if (!o.close_rules.count)
		return 0;
	mws_close_rule *r = calloc(o.close_rules.count, sizeof *r);
	if (!r)
		return cli_usage_error(&connect_cmd, "out of memory");
	for (size_t i = 0; i < o.close_rules.count; i++) {
		const char *s = o.close_rules.items[i];
		char action[32];
		int code, n = 0;
		r[i].action = -1;
		if (sscanf(s, "%d=%31[a-z]%n", &code, action, &n) == 2 && !s[n] && code >= 1000 &&
		    code <= 4999)
			for (const cli_choice *c = action_choices; c->name; c++)
				if (!strcmp(c->name, action))
					r[i].action = c->value;
		if (r[i].action < 0) {
			free(r);
			return cli_usage_error(&connect_cmd,
			                       "--close-rule '%s' is not CODE=reconnect|restart|fail|"
			                       "close with CODE in 1000..4999", s);
		}
		r[i].code = code;
	}
	*out = r;
	return 0;
}

static void print_stats(const mws_client *c)
{
	mws_client_stats st = {.size = sizeof st};

	if (mws_client_stats_get(c, &st))
		return;
	fprintf(stderr,
	        "stats state=%s connects=%" PRIu64 " reconnects=%" PRIu64 " attempts=%" PRIu64
	        " heartbeats=%" PRIu64 " heartbeat_timeouts=%" PRIu64 " rtt_p50=%uus rtt_p99=%uus"
	        " msgs_out=%" PRIu64 " msgs_in=%" PRIu64 " queued=%u queue_full=%" PRIu64
	        " discarded=%" PRIu64 "\n",
	        mws_state_name(st.state), st.connects, st.reconnects, st.attempts_total,
	        st.heartbeats_sent, st.heartbeat_timeouts, st.rtt_p50_us, st.rtt_p99_us,
	        st.msgs_out, st.msgs_in, st.queue_messages, st.queue_full, st.msgs_discarded);
}

int mws_cmd_connect(int argc, char **argv)
{
	const char *url = NULL;
	int npos, rc, status = CONNECT_EXIT_INTERNAL;
	char *headers = NULL;
	mws_close_rule *rules = NULL;
	mws_ctx *ctx = NULL;
	mws_client *c = NULL;
	connect_session session = {0};

	set_defaults();
	rc = cli_parse(&connect_cmd, argc, argv, &url, 1, &npos);
	if (rc != CLI_PARSE_OK)
		return cli_parse_status(rc);
	if (!npos)
		rc = cli_usage_error(&connect_cmd, "missing URL");
	else if (strncmp(url, "ws://", 5) && strncmp(url, "wss://", 6))
		rc = cli_usage_error(&connect_cmd, "'%s' is not a ws:// or wss:// URL", url);
	if (!rc)
		rc = build_headers(&headers);
	if (!rc)
		rc = build_close_rules(&rules);
	if (rc) {
		status = CONNECT_EXIT_USAGE;
		goto out;
	}
	o.cfg.headers = headers;
	o.cfg.close_rules = rules;
	o.cfg.close_rule_count = o.close_rules.count;

	if ((rc = cli_ctx_new(&ctx, o.verbose ? on_log : NULL))) {
		cli_error(&connect_cmd, "%s", mws_strerror(rc));
		goto out;
	}
	rc = mws_client_new(&c, ctx, url, &o.cfg);
	if (rc == MWS_EINVAL) {
		status = cli_usage_error(&connect_cmd, "'%s' is not a valid URL, or a flag is out "
		                                       "of range (%s)", url, mws_strerror(rc));
		goto out;
	}
	if (rc) {
		cli_error(&connect_cmd, "%s", mws_strerror(rc));
		goto out;
	}
	int sig_r = cli_signals_install();
	if (sig_r < 0 || connect_session_open(&session) < 0) {
		cli_error(&connect_cmd, "%s", strerror(errno));
		goto out;
	}
	session.binary = o.binary;
	session.quiet = o.quiet;
	session.json = o.json;
	session.flush_timeout_ms = o.flush_timeout_ms;
	session.linger_ms = o.linger_ms;
	if ((rc = connect_session_attach(&session, c)) || (rc = mws_client_connect(c))) {
		cli_error(&connect_cmd, "%s", mws_strerror(rc));
		goto out;
	}
	status = connect_session_run(&session, c, sig_r);
	if (o.json) {
		mws_client_stats st = {.size = sizeof st};
		if (mws_client_stats_get(c, &st) == 0)
			jl_client_summary(&st, status);
	} else if (o.stats) {
		print_stats(c);
	}
out:
	mws_client_free(c);
	if (ctx)
		mws_ctx_free(ctx);
	connect_session_close(&session);
	free(headers);
	free(rules);
	cli_lists_free(&connect_cmd);
	return status;
}
