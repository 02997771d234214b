/* mws connect URL: a managed client in a terminal or a pipeline.
 *
 * The main thread reads stdin and sends each line; the I/O thread prints
 * received messages on stdout and state changes on stderr, and wakes the
 * main thread through a pipe when the client reaches FAILED or CLOSED. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"
#include "managedws.h"
#include "subcommands.h"
#include "util.h"

enum {
	EXIT_CLOSED_BY_US = 0,
	EXIT_INTERNAL = 1,
	EXIT_USAGE = 2,
	EXIT_FAILED = 3,
	EXIT_CIRCUIT_OPEN = 4,
	EXIT_MAX_ATTEMPTS = 5,
	EXIT_SERVER_CLOSED = 6,
	EXIT_UNFLUSHED = 7,
};

typedef struct connect_app {
	int wake_w;
	int quiet;
	pthread_mutex_t lock;
	int ended;       /* FAILED or CLOSED reached */
	int end_state;
	int end_code;
	char end_reason[160];
} connect_app;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	connect_app *app = ud;
	char ts[40];

	if (!app->quiet) {
		cli_timestamp(ts, sizeof ts);
		flockfile(stderr);
		fprintf(stderr, "%s %s -> %s code=%d reason=\"%s\"", ts, mws_state_name(ch->from),
		        mws_state_name(ch->to), ch->close_code, ch->reason);
		if (ch->to == MWS_STATE_RECONNECTING)
			fprintf(stderr, " retry_in=%dms attempt=%u", ch->retry_delay_ms, ch->attempt);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	if (ch->to == MWS_STATE_FAILED || ch->to == MWS_STATE_CLOSED) {
		pthread_mutex_lock(&app->lock);
		app->ended = 1;
		app->end_state = ch->to;
		app->end_code = ch->close_code;
		snprintf(app->end_reason, sizeof app->end_reason, "%s", ch->reason);
		pthread_mutex_unlock(&app->lock);
		cli_wake(app->wake_w);
	}
}

static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	(void)ud;
	flockfile(stdout);
	fwrite(data, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	funlockfile(stdout);
}

static void on_log(int level, const char *msg, void *ud)
{
	(void)ud;
	static const char *names[] = {"", "error", "warn", "info", "debug"};
	char ts[40];

	cli_timestamp(ts, sizeof ts);
	fprintf(stderr, "%s log %s: %s\n", ts, level >= 1 && level <= 4 ? names[level] : "?", msg);
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
	int binary, quiet, verbose, stats;
	int flush_timeout_ms, linger_ms;
} o;

#define MS 1, 86400000 /* 0 would mean "the library default" */
#define MS0 0, 86400000
static const cli_flag connect_flags[] = {
	{"binary", NULL, CLI_BOOL, &o.binary, 0, 0, NULL, "send each stdin line as a binary message"},
	{"subprotocol", "NAME", CLI_STRING, &o.cfg.subprotocol, 0, 0, NULL,
	 "Sec-WebSocket-Protocol to request"},
	{"origin", "ORIGIN", CLI_STRING, &o.cfg.origin, 0, 0, NULL, "Origin header to send"},
	{"header", "'NAME: VALUE'", CLI_LIST, &o.headers, 0, 0, NULL,
	 "extra handshake header"},
	{"connect-timeout", "MS", CLI_INT, &o.cfg.connect_timeout_ms, MS, NULL,
	 "TCP (and TLS) connect timeout"},
	{"handshake-timeout", "MS", CLI_INT, &o.cfg.handshake_timeout_ms, MS, NULL,
	 "HTTP upgrade timeout"},
	{"base-delay", "MS", CLI_INT, &o.cfg.base_delay_ms, MS, NULL,
	 "first backoff delay: delay(n) = min(max, base * 2^n)"},
	{"max-delay", "MS", CLI_INT, &o.cfg.max_delay_ms, MS, NULL, "backoff cap"},
	{"jitter", "KIND", CLI_CHOICE, &o.cfg.jitter, 0, 0, jitter_choices, "backoff jitter"},
	{"jitter-proportion", "P", CLI_DOUBLE, &o.cfg.jitter_proportion, 0, 10, NULL,
	 "p for proportional jitter: d + uniform [0, p*d]"},
	{"restart-spread", "MS", CLI_INT, &o.cfg.restart_spread_ms, MS, NULL,
	 "random wait after 1001/1012 without a retry-after"},
	{"min-uptime", "MS", CLI_INT, &o.cfg.min_uptime_ms, MS, NULL,
	 "a connection up this long resets the attempt counter"},
	{"max-attempts", "N", CLI_INT, &o.cfg.max_attempts, 0, 1000000000, NULL,
	 "attempts before FAILED, 0 = unlimited"},
	{"breaker-failures", "N", CLI_INT, &o.cfg.breaker_failures, 0, 1000000, NULL,
	 "circuit breaker: N failures within --breaker-window -> FAILED, 0 = off"},
	{"breaker-window", "MS", CLI_INT, &o.cfg.breaker_window_ms, MS, NULL,
	 "circuit breaker window"},
	{"heartbeat", "MODE", CLI_CHOICE, &o.cfg.heartbeat_mode, 0, 0, heartbeat_choices,
	 "liveness check"},
	{"heartbeat-interval", "MS", CLI_INT, &o.cfg.heartbeat_interval_ms, MS, NULL,
	 "time between heartbeats"},
	{"heartbeat-timeout", "MS", CLI_INT, &o.cfg.heartbeat_timeout_ms, MS, NULL,
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
	{"close-rule", "CODE=ACTION", CLI_LIST, &o.close_rules, 0, 0, NULL,
	 "override the close-code policy; ACTION is reconnect|restart|fail|close"},
	{"seed", "N", CLI_U64, &o.cfg.random_seed, 0, 0, NULL,
	 "jitter random seed, 0 = from the OS"},
	{"flush-timeout", "MS", CLI_INT, &o.flush_timeout_ms, MS0, NULL,
	 "at stdin EOF, wait this long for queued messages to be written"},
	{"linger", "MS", CLI_INT, &o.linger_ms, MS0, NULL,
	 "after the flush, keep reading replies this long before closing"},
	{"stats", NULL, CLI_BOOL, &o.stats, 0, 0, NULL, "print the client's statistics at exit"},
	{"quiet", NULL, CLI_BOOL, &o.quiet, 0, 0, NULL, "no state lines on stderr"},
	{"verbose", NULL, CLI_BOOL, &o.verbose, 0, 0, NULL, "library log lines on stderr"},
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
	"  5  FAILED: --max-attempts reached\n"
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

/* Pending stdin bytes, split into lines as they come. */
typedef struct line_buf {
	char *data;
	size_t len, cap;
} line_buf;

static int line_buf_read(line_buf *b, int fd)
{
	if (b->cap - b->len < 65536) {
		size_t cap = b->cap ? b->cap * 2 : 131072;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	b->len += (size_t)n;
	return n == 0 ? 0 : 1;
}

/* Sends every complete line (and at EOF the unterminated rest). Returns 0
 * when all went, MWS_EQUEUEFULL when the queue pushed back (the line stays),
 * or the error that refused a send. */
static int send_lines(mws_client *c, line_buf *b, int eof)
{
	size_t start = 0;
	int rc = 0;

	while (start < b->len) {
		char *nl = memchr(b->data + start, '\n', b->len - start);
		if (!nl && !eof)
			break;
		size_t end = nl ? (size_t)(nl - b->data) : b->len, len = end - start;
		if (len && b->data[start + len - 1] == '\r')
			len--;
		rc = mws_client_send(c, b->data + start, len, o.binary ? MWS_MSG_BINARY : MWS_MSG_TEXT);
		if (rc == MWS_EQUEUEFULL) {
			mws_client_stats st = {.size = sizeof st};
			mws_client_stats_get(c, &st);
			if (st.queue_messages > 0)
				break;
			/* Nothing waits, yet it does not fit: it never will. */
			fprintf(stderr, "mws connect: a line of %zu bytes exceeds --queue-max-bytes; "
			                "skipped\n", len);
			rc = 0;
		} else if (rc) {
			break;
		}
		start = nl ? end + 1 : b->len;
	}
	memmove(b->data, b->data + start, b->len - start);
	b->len -= start;
	return rc;
}

static int exit_status_for(connect_app *app)
{
	int status;

	pthread_mutex_lock(&app->lock);
	if (app->end_state == MWS_STATE_CLOSED)
		status = EXIT_SERVER_CLOSED;
	else if (!strcmp(app->end_reason, "circuit open"))
		status = EXIT_CIRCUIT_OPEN;
	else if (!strcmp(app->end_reason, "max attempts reached"))
		status = EXIT_MAX_ATTEMPTS;
	else
		status = EXIT_FAILED;
	pthread_mutex_unlock(&app->lock);
	return status;
}

static int app_ended(connect_app *app)
{
	pthread_mutex_lock(&app->lock);
	int ended = app->ended;
	pthread_mutex_unlock(&app->lock);
	return ended;
}

/* Closes with 1000 and waits (bounded) for CLOSED. */
static void close_and_wait(mws_client *c, connect_app *app, int wake_r)
{
	mws_client_close(c, 1000, "bye");
	uint64_t end = cli_now_ms() + 2000;
	while (!app_ended(app) && cli_now_ms() < end) {
		struct pollfd p = {.fd = wake_r, .events = POLLIN};
		poll(&p, 1, 50);
		cli_drain(wake_r);
	}
}

/* The stdin loop. Returns the exit status. */
static int run(mws_client *c, connect_app *app, int wake_r, int sig_r)
{
	line_buf in = {0};
	int eof = 0, blocked = 0, status = -1;
	uint64_t flush_end = 0, linger_end = 0;

	while (status < 0) {
		struct pollfd p[3] = {{.fd = wake_r, .events = POLLIN},
		                      {.fd = sig_r, .events = POLLIN},
		                      {.fd = eof || blocked ? -1 : 0, .events = POLLIN}};
		int timeout = blocked || eof ? 10 : -1;
		if (poll(p, 3, timeout) < 0 && errno != EINTR) {
			status = EXIT_INTERNAL;
			break;
		}
		cli_drain(wake_r);
		if (app_ended(app)) {
			status = exit_status_for(app);
			break;
		}
		if (cli_signal_take(sig_r)) {
			cli_signals_stopping();
			close_and_wait(c, app, wake_r);
			status = EXIT_CLOSED_BY_US;
			break;
		}
		if (p[2].revents) {
			int r = line_buf_read(&in, 0);
			if (r <= 0) {
				if (r < 0)
					fprintf(stderr, "mws connect: reading stdin: %s\n", strerror(-r));
				eof = 1;
				flush_end = cli_now_ms() + (uint64_t)o.flush_timeout_ms;
			}
		}
		int rc = send_lines(c, &in, eof);
		blocked = rc == MWS_EQUEUEFULL;
		if (rc && !blocked)
			continue; /* FAILED or CLOSED: the wake pipe tells which */
		if (!eof || in.len)
			continue;
		mws_client_stats st = {.size = sizeof st};
		mws_client_stats_get(c, &st);
		uint64_t now = cli_now_ms();
		if (st.queue_messages > 0) {
			if (now >= flush_end) {
				fprintf(stderr, "mws connect: stdin ended; %u messages still queued after "
				                "--flush-timeout %d ms, discarded\n", st.queue_messages,
				        o.flush_timeout_ms);
				close_and_wait(c, app, wake_r);
				status = EXIT_UNFLUSHED;
			}
			continue;
		}
		if (!linger_end)
			linger_end = now + (uint64_t)o.linger_ms;
		if (now >= linger_end) {
			close_and_wait(c, app, wake_r);
			status = EXIT_CLOSED_BY_US;
		}
	}
	free(in.data);
	return status;
}

int mws_cmd_connect(int argc, char **argv)
{
	const char *url = NULL;
	int npos, rc, status = EXIT_INTERNAL;
	char *headers = NULL;
	mws_close_rule *rules = NULL;
	mws_ctx *ctx = NULL;
	mws_client *c = NULL;
	connect_app app = {.wake_w = -1};
	int wake[2] = {-1, -1};

	set_defaults();
	rc = cli_parse(&connect_cmd, argc, argv, &url, 1, &npos);
	if (rc != CLI_PARSE_OK) {
		cli_lists_free(&connect_cmd);
		return rc == CLI_PARSE_HELP ? 0 : EXIT_USAGE;
	}
	if (!npos)
		rc = cli_usage_error(&connect_cmd, "missing URL");
	else if (strncmp(url, "ws://", 5) && strncmp(url, "wss://", 6))
		rc = cli_usage_error(&connect_cmd, "'%s' is not a ws:// or wss:// URL", url);
	if (!rc)
		rc = build_headers(&headers);
	if (!rc)
		rc = build_close_rules(&rules);
	if (rc)
		goto out_usage;
	o.cfg.headers = headers;
	o.cfg.close_rules = rules;
	o.cfg.close_rule_count = o.close_rules.count;

	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	if (o.verbose) {
		cc.log_cb = on_log;
		cc.log_level = MWS_LOG_DEBUG;
	}
	if ((rc = mws_ctx_new(&ctx, &cc))) {
		fprintf(stderr, "mws connect: %s\n", mws_strerror(rc));
		goto out;
	}
	rc = mws_client_new(&c, ctx, url, &o.cfg);
	if (rc == MWS_EINVAL) {
		mws_ctx_free(ctx);
		rc = cli_usage_error(&connect_cmd, "'%s' is not a valid URL, or a flag is out of "
		                                   "range (%s)", url, mws_strerror(rc));
		goto out_usage;
	}
	if (rc) {
		fprintf(stderr, "mws connect: %s\n", mws_strerror(rc));
		goto out;
	}
	int sig_r = cli_signals_install();
	if (sig_r < 0 || cli_pipe(wake) < 0) {
		fprintf(stderr, "mws connect: %s\n", strerror(errno));
		goto out;
	}
	pthread_mutex_init(&app.lock, NULL);
	app.wake_w = wake[1];
	app.quiet = o.quiet;
	mws_client_callbacks cbs = {sizeof cbs, on_state, on_message, NULL};
	if ((rc = mws_client_set_callbacks(c, &cbs, &app, NULL)) || (rc = mws_client_connect(c))) {
		fprintf(stderr, "mws connect: %s\n", mws_strerror(rc));
		goto out;
	}
	status = run(c, &app, wake[0], sig_r);
	if (o.stats)
		print_stats(c);
out:
	mws_client_free(c);
	if (ctx)
		mws_ctx_free(ctx);
	if (app.wake_w >= 0)
		pthread_mutex_destroy(&app.lock);
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
	}
	free(headers);
	free(rules);
	cli_lists_free(&connect_cmd);
	return status;
out_usage:
	free(headers);
	free(rules);
	cli_lists_free(&connect_cmd);
	return EXIT_USAGE;
}
