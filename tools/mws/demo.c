/* mws demo: the story of a connection that stays up, told live on
 * 127.0.0.1 in one process: a server, the fault proxy, and a client that
 * sends numbered messages through the proxy while faults are injected. The
 * server and the client share one context (one I/O thread), as many
 * clients and servers of an application would. The server's side counts what arrived,
 * so every act ends with delivered, reordered and lost figures.
 *
 * Threads: the main thread runs the script and sends; the I/O thread
 * runs the callbacks, which log events under a lock and wake the script. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo_ledger.h"
#include "demo_report.h"
#include "fault_proxy.h"
#include "flags.h"
#include "managedws.h"
#include "subcommands.h"
#include "util.h"

enum { EV_CLIENT, EV_SRV_CONNECT, EV_SRV_DISCONNECT };
/* What an expected time allows for a TCP connect and handshake on 127.0.0.1. */
enum { CONNECT_MS = 100 };
#define MAX_EVENTS 2048

typedef struct demo_event {
	int kind;
	uint64_t at;    /* ms */
	uint64_t at_us; /* the same instant in microseconds */
	int from, to, code, delay_ms, why; /* client: from/to/code/delay; server: code/why */
	uint32_t attempt;
	mws_conn_id id;
	char reason[128];
} demo_event;

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
static const cli_choice color_choices[] = {
	{"auto", COLOR_AUTO}, {"always", COLOR_ALWAYS}, {"never", COLOR_NEVER}, {NULL, 0}};

static struct {
	int rate, hb_interval, hb_timeout, base_delay, max_delay, down_ms, spread_ms, slack_ms;
	int color;
	uint64_t seed;
} o;

static const cli_flag demo_flags[] = {
	{"rate", "PER_SEC", CLI_INT, &o.rate, 1, 1000, NULL, "numbered messages sent per second"},
	{"heartbeat-interval", "MS", CLI_INT, &o.hb_interval, 50, 10000, NULL,
	 "client heartbeat interval"},
	{"heartbeat-timeout", "MS", CLI_INT, &o.hb_timeout, 50, 10000, NULL,
	 "client heartbeat timeout"},
	{"base-delay", "MS", CLI_INT, &o.base_delay, 10, 10000, NULL, "client backoff base delay"},
	{"max-delay", "MS", CLI_INT, &o.max_delay, 10, 10000, NULL, "client backoff cap"},
	{"down", "MS", CLI_INT, &o.down_ms, 100, 20000, NULL,
	 "act 3: how long the crashed server stays down"},
	{"spread", "MS", CLI_INT, &o.spread_ms, 0, 10000, NULL,
	 "act 4: window the server spreads retry-after over"},
	{"slack", "MS", CLI_INT, &o.slack_ms, 0, 10000, NULL,
	 "scheduling slack allowed on every measured time"},
	{"seed", "N", CLI_U64, &o.seed, 0, 0, NULL, "client jitter seed, 0 = from the OS"},
	{"color", "WHEN", CLI_CHOICE, &o.color, 0, 0, color_choices,
	 "ANSI colours (auto: when stdout is a terminal and NO_COLOR is unset)"},
};

static const cli_command demo_cmd = {
	"demo", "",
	"A live tour of what managedws is for, on 127.0.0.1 in one process: a\n"
	"server, a fault-injecting proxy and a client sending numbered messages.\n"
	"  act 1  steady traffic\n"
	"  act 2  the connection turns into a zombie; the heartbeat catches it\n"
	"  act 3  the server crashes and restarts; backoff with jitter, queued\n"
	"         messages wait and go out in order\n"
	"  act 4  graceful restart: 1012 with a spread retry-after, honoured\n"
	"  act 5  the server refuses the client with 1008: it stops (FAILED)\n"
	"Ends with a table per act: detection and reconnect times against what\n"
	"the configuration promises, and messages sent, delivered, reordered\n"
	"and lost. Takes about 20 seconds.",
	demo_flags, CLI_NFLAGS(demo_flags),
	"exit status:\n"
	"  0  every act behaved as expected\n"
	"  1  some act did not (the table says which and why)\n"
	"  2  bad flag\n",
};

/* The demo's shared state. Events are appended under `lock` by the I/O
 * threads and read by the script. */
static struct demo {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	demo_event ev[MAX_EVENTS];
	int nev;

	demo_ledger ledger;
	mws_ctx *ctx;           /* one I/O thread for the server and the client */
	mws_server *srv;
	int port;
	mws_fault_proxy *proxy;
	mws_client *client;
	atomic_int muted;       /* teardown: no more event lines */
	int64_t last_seq;       /* last message accepted by send */
	uint64_t next_send_at;
	uint32_t refused_sends;
	demo_act acts[DEMO_ACTS];
} D;

/* ---- events (I/O threads) ------------------------------------------- */

static void push_event(const demo_event *e)
{
	pthread_mutex_lock(&D.lock);
	if (D.nev < MAX_EVENTS)
		D.ev[D.nev++] = *e;
	pthread_cond_broadcast(&D.cond);
	pthread_mutex_unlock(&D.lock);
}

static void on_client_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	(void)ud;
	uint64_t us = cli_now_us();
	demo_event e = {.kind = EV_CLIENT, .at = us / 1000, .at_us = us, .from = ch->from, .to = ch->to,
	                .code = ch->close_code, .delay_ms = ch->retry_delay_ms,
	                .attempt = ch->attempt};
	snprintf(e.reason, sizeof e.reason, "%s", ch->reason);
	push_event(&e);

	if (atomic_load(&D.muted))
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

static const char *why_text(int why)
{
	switch (why) {
	case MWS_DISCONNECT_PEER_CLOSED: return "the client closed it";
	case MWS_DISCONNECT_REAPED: return "reaped (silent too long)";
	case MWS_DISCONNECT_TOO_BIG: return "message too big";
	case MWS_DISCONNECT_SHUTDOWN: return "shutdown";
	case MWS_DISCONNECT_SERVER_CLOSED: return "closed by the server";
	case MWS_DISCONNECT_ERROR: return "lost (no close frame)";
	default: return "?";
	}
}

static void on_srv_connect(mws_server *srv, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)srv;
	(void)info;
	(void)ud;
	demo_event e = {.kind = EV_SRV_CONNECT, .at = cli_now_ms(), .id = id};
	push_event(&e);
	if (!atomic_load(&D.muted))
		say_event("server", "connection %" PRIu64 " open", id);
}

static void on_srv_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                           int type, void *ud)
{
	(void)srv;
	(void)id;
	(void)type;
	(void)ud;
	ledger_received(&D.ledger, data, len);
}

static void on_srv_disconnect(mws_server *srv, mws_conn_id id, int code, const char *reason,
                              int why, void *ud)
{
	(void)srv;
	(void)ud;
	demo_event e = {.kind = EV_SRV_DISCONNECT, .at = cli_now_ms(), .id = id, .code = code,
	                .why = why};
	snprintf(e.reason, sizeof e.reason, "%s", reason);
	push_event(&e);
	if (atomic_load(&D.muted))
		return;
	say_event("server", "connection %" PRIu64 " closed: %s, code %d%s%s%s", id, why_text(why),
	          code, *reason ? " \"" : "", reason, *reason ? "\"" : "");
}

/* ---- traffic and waiting (main thread) ------------------------------ */

/* Sends the next numbered message of `act` if one is due. */
static void pump(int act)
{
	uint64_t now = cli_now_ms();
	char text[64];
	size_t len;

	if (act <= 0 || now < D.next_send_at)
		return;
	uint64_t step = 1000u / (unsigned)o.rate;
	D.next_send_at = D.next_send_at + step < now ? now + step : D.next_send_at + step;
	int64_t seq = ledger_next(&D.ledger, act, cli_now_us(), text, sizeof text, &len);
	if (seq < 0)
		return;
	int rc = mws_client_send(D.client, text, len, MWS_MSG_TEXT);
	if (rc) {
		ledger_refused(&D.ledger, seq);
		D.refused_sends++;
	} else {
		D.last_seq = seq;
	}
}

typedef bool (*ev_match)(const demo_event *e, const void *arg);

/* Waits for an event at index >= from that matches, sending traffic for
 * `act` meanwhile (0: none). Returns its index, or -1 after timeout_ms. */
static int wait_event(int from, ev_match match, const void *arg, int timeout_ms, int act)
{
	uint64_t deadline = cli_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	pthread_mutex_lock(&D.lock);
	for (;;) {
		for (int i = from; match && i < D.nev; i++)
			if (match(&D.ev[i], arg)) {
				pthread_mutex_unlock(&D.lock);
				return i;
			}
		from = D.nev;
		uint64_t now = cli_now_ms();
		if (now >= deadline)
			break;
		pthread_mutex_unlock(&D.lock);
		pump(act);
		pthread_mutex_lock(&D.lock);
		if (D.nev > from)
			continue;
		uint64_t until = deadline;
		if (act > 0 && D.next_send_at < until)
			until = D.next_send_at;
		now = cli_now_ms();
		if (until > now) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (until - now) * 1000000u;
			ts.tv_sec += (time_t)(ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&D.cond, &D.lock, &ts);
		}
	}
	pthread_mutex_unlock(&D.lock);
	return -1;
}

static void run_traffic(int ms, int act)
{
	wait_event(0, NULL, NULL, ms, act);
}

static int event_count(void)
{
	pthread_mutex_lock(&D.lock);
	int n = D.nev;
	pthread_mutex_unlock(&D.lock);
	return n;
}

static demo_event event_at(int i)
{
	pthread_mutex_lock(&D.lock);
	demo_event e = D.ev[i];
	pthread_mutex_unlock(&D.lock);
	return e;
}

static bool m_client_to(const demo_event *e, const void *arg)
{
	return e->kind == EV_CLIENT && e->to == *(const int *)arg;
}

static bool m_client_left_connected(const demo_event *e, const void *arg)
{
	(void)arg;
	return e->kind == EV_CLIENT && e->from == MWS_STATE_CONNECTED;
}

static bool m_client_any(const demo_event *e, const void *arg)
{
	(void)arg;
	return e->kind == EV_CLIENT;
}

static bool m_srv_disconnect(const demo_event *e, const void *arg)
{
	return e->kind == EV_SRV_DISCONNECT && (!arg || e->why == *(const int *)arg);
}

static bool m_srv_connect(const demo_event *e, const void *arg)
{
	(void)arg;
	return e->kind == EV_SRV_CONNECT;
}

static int wait_client_state(int from, int state, int timeout_ms, int act)
{
	return wait_event(from, m_client_to, &state, timeout_ms, act);
}

/* Waits (bounded) until the last accepted message arrived and nothing is
 * queued: then what is missing is lost for good. */
static void settle(void)
{
	uint64_t end = cli_now_ms() + 3000;
	mws_client_stats st = {.size = sizeof st};

	while (cli_now_ms() < end) {
		mws_client_stats_get(D.client, &st);
		if ((D.last_seq < 0 || ledger_has(&D.ledger, D.last_seq)) && st.queue_messages == 0)
			return;
		cli_sleep_ms(10);
	}
}

static void finish_act(demo_act *a, int act, uint64_t detect_at_us)
{
	settle();
	ledger_count(&D.ledger, act, detect_at_us, &a->counts);
	const demo_counts *c = &a->counts;
	if (c->reordered)
		act_fail(a, "%u messages arrived out of order", c->reordered);
	if (c->duplicates)
		act_fail(a, "%u messages arrived twice", c->duplicates);
	if (c->lost_after)
		act_fail(a, "%u messages sent after detection were lost", c->lost_after);
	say("%u sent, %u delivered, %u reordered, %u lost in the zombie window, %u lost after "
	    "detection", c->sent, c->delivered, c->reordered, c->lost_window, c->lost_after);
}

/* ---- servers ---------------------------------------------------------- */

static int server_start(int port, mws_server **out)
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
	int rc = mws_server_new(&srv, D.ctx, &cfg);
	if (!rc)
		rc = mws_server_set_callbacks(srv, &cbs, NULL, NULL);
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

/* A restarted server gets the same port. It waits until the old listening
 * socket is really gone: libwebsockets would otherwise hand the new server
 * the listener of the one still being torn down. */
static int server_restart_on(int port, mws_server **out)
{
	uint64_t end = cli_now_ms() + 3000;
	int rc;

	while (!port_is_free(port) && cli_now_ms() < end)
		cli_sleep_ms(20);
	if (!port_is_free(port))
		say("warning: port %d is still held by the old server", port);
	while ((rc = server_start(port, out)) == MWS_ELISTEN && cli_now_ms() < end)
		cli_sleep_ms(50);
	return rc;
}

static mws_conn_id last_server_conn(void)
{
	mws_conn_id id = 0;

	pthread_mutex_lock(&D.lock);
	for (int i = D.nev - 1; i >= 0 && !id; i--)
		if (D.ev[i].kind == EV_SRV_CONNECT)
			id = D.ev[i].id;
	pthread_mutex_unlock(&D.lock);
	return id;
}

/* ---- the acts --------------------------------------------------------- */

static bool client_connected(void)
{
	return mws_client_state(D.client) == MWS_STATE_CONNECTED;
}

static void act1_steady(demo_act *a)
{
	say_act(1, a->title, "the client sends a numbered message every few milliseconds; the "
	                     "server checks the numbers");
	int from = event_count();
	run_traffic(3000, 1);
	if (wait_event(from, m_client_any, NULL, 0, 0) >= 0)
		act_fail(a, "the client changed state during steady traffic");
	finish_act(a, 1, 0);
	if (a->counts.lost_after)
		act_fail(a, "messages were lost on a healthy connection");
}

static void act2_zombie(demo_act *a)
{
	int bound = o.hb_interval + o.hb_timeout;

	say_act(2, a->title, "a middlebox forgets the connection: its bytes now vanish, no FIN, "
	                     "no RST (proxy: blackhole, then pass for new connections)");
	snprintf(a->detect_bound, sizeof a->detect_bound, "<=%d", bound);
	/* the first backoff wait, drawn from [0, base], and a loopback connect */
	int rbound = o.base_delay + CONNECT_MS;
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "<=%d", rbound);
	int from = event_count();
	mws_fault_proxy_set_mode(D.proxy, MWS_FAULT_BLACKHOLE, 0);
	uint64_t t_fault = cli_now_ms();
	mws_fault_proxy_set_mode(D.proxy, MWS_FAULT_PASS, 0);
	say("the connection is a zombie now: the socket looks open and writes still succeed");
	int i = wait_event(from, m_client_left_connected, NULL, bound + 3000, 2);
	if (i < 0) {
		act_fail(a, "the heartbeat did not catch the zombie");
		return;
	}
	demo_event det = event_at(i);
	a->detect_ms = (long)(det.at - t_fault);
	say("the heartbeat caught it after %ld ms (promise: within interval + timeout = %d ms)",
	    a->detect_ms, bound);
	if (det.code != 4000)
		act_fail(a, "closed with %d, expected 4000 (heartbeat timeout)", det.code);
	if (a->detect_ms > bound + o.slack_ms)
		act_fail(a, "detection took %ld ms, promised %d", a->detect_ms, bound);
	int j = wait_client_state(i, MWS_STATE_CONNECTED, o.max_delay + 5000, 2);
	if (j < 0) {
		act_fail(a, "the client did not reconnect");
		return;
	}
	a->reconnect_ms = (long)(event_at(j).at - det.at);
	say("reconnected %ld ms after detection (backoff wait %d ms, drawn from [0, %d])",
	    a->reconnect_ms, det.delay_ms, o.base_delay);
	if (a->reconnect_ms > rbound + o.slack_ms)
		act_fail(a, "reconnecting took %ld ms, expected <= %d", a->reconnect_ms, rbound);
	int why = MWS_DISCONNECT_REAPED;
	int k = wait_event(from, m_srv_disconnect, &why, 4000, 2);
	if (k >= 0)
		say("the server reaped its end of the zombie after %ld ms of silence",
		    (long)(event_at(k).at - t_fault));
	run_traffic(1000, 2);
	finish_act(a, 2, det.at_us);
}

static void act3_crash(demo_act *a)
{
	char bound[24];

	say_act(3, a->title, "the server process dies: its connections are reset and nothing "
	                     "listens for a while");
	snprintf(a->detect_bound, sizeof a->detect_bound, "<=%d", 100);
	/* at most one backoff wait, capped at max, and a loopback connect */
	int rbound = o.max_delay + CONNECT_MS;
	snprintf(bound, sizeof bound, "<=%d", rbound);
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "%s", bound);
	int from = event_count();
	uint64_t t_fault = cli_now_ms();
	mws_fault_proxy_set_mode(D.proxy, MWS_FAULT_RESET, 0);
	mws_server_free(D.srv);
	D.srv = NULL;
	mws_fault_proxy_set_mode(D.proxy, MWS_FAULT_PASS, 0);
	int i = wait_event(from, m_client_left_connected, NULL, 2000, 3);
	if (i < 0) {
		act_fail(a, "the client did not notice the crash");
		return;
	}
	demo_event det = event_at(i);
	a->detect_ms = (long)(det.at - t_fault);
	if (a->detect_ms > 100 + o.slack_ms)
		act_fail(a, "noticing a reset took %ld ms", a->detect_ms);
	say("the client keeps sending; messages wait in its queue while it backs off");
	long left = o.down_ms - (long)(cli_now_ms() - t_fault);
	run_traffic(left > 0 ? (int)left : 0, 3);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(D.client, &st);
	int rc = server_restart_on(D.port, &D.srv);
	if (rc) {
		act_fail(a, "the server could not restart on port %d: %s", D.port, mws_strerror(rc));
		return;
	}
	uint64_t t_back = cli_now_ms();
	say("the server is back on port %d after %ld ms; %u messages are queued", D.port,
	    (long)(t_back - t_fault), st.queue_messages);
	int j = wait_client_state(i, MWS_STATE_CONNECTED, o.max_delay + 5000, 3);
	if (j < 0) {
		act_fail(a, "the client did not come back");
		return;
	}
	demo_event con = event_at(j);
	a->reconnect_ms = con.at > t_back ? (long)(con.at - t_back) : 0;
	say("the client came back %ld ms after the server did (its backoff wait is capped at "
	    "%d ms); the queue goes out first, in order", a->reconnect_ms, o.max_delay);
	if (a->reconnect_ms > rbound + o.slack_ms)
		act_fail(a, "coming back took %ld ms, expected <= %d", a->reconnect_ms, rbound);
	run_traffic(1000, 3);
	finish_act(a, 3, det.at_us);
}

static void act4_graceful(demo_act *a)
{
	say_act(4, a->title, "a new server takes over behind the proxy; the old one shuts down "
	                     "gracefully: 1012 with a retry-after spread over the window");
	snprintf(a->detect_bound, sizeof a->detect_bound, "<=%d", 100);
	mws_server *next = NULL;
	int rc = server_start(0, &next);
	if (!rc)
		rc = mws_fault_proxy_set_upstream(D.proxy, "127.0.0.1", mws_server_port(next));
	if (rc) {
		mws_server_free(next);
		act_fail(a, "could not start the new server");
		return;
	}
	say("new server on port %d; the proxy now sends new connections there",
	    mws_server_port(next));
	int from = event_count();
	uint64_t t_fault = cli_now_ms();
	rc = mws_server_shutdown(D.srv, 1012, o.spread_ms, 3000);
	if (rc)
		act_fail(a, "the shutdown did not complete: %s", mws_err_name(rc));
	mws_server_free(D.srv);
	D.srv = next;
	D.port = mws_server_port(next);
	int why = MWS_DISCONNECT_SHUTDOWN;
	int k = wait_event(from, m_srv_disconnect, &why, 1000, 4);
	int told = -1;
	if (k >= 0)
		sscanf(event_at(k).reason, "code=%*d retry-after=%d", &told);
	int i = wait_event(from, m_client_left_connected, NULL, 2000, 4);
	if (i < 0 || told < 0) {
		act_fail(a, "the client was not told to come back later");
		return;
	}
	demo_event det = event_at(i);
	a->detect_ms = (long)(det.at - t_fault);
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "~%d", told);
	say("the server told the client retry-after=%d ms; the client waits %d ms (attempt not "
	    "counted)", told, det.delay_ms);
	if (det.code != 1012)
		act_fail(a, "closed with %d, expected 1012", det.code);
	if (det.delay_ms != told)
		act_fail(a, "told %d ms, the client chose %d ms", told, det.delay_ms);
	if (a->detect_ms > 100 + o.slack_ms)
		act_fail(a, "the close took %ld ms to reach the client", a->detect_ms);
	int j = wait_client_state(i, MWS_STATE_CONNECTED, o.spread_ms + o.max_delay + 5000, 4);
	if (j < 0) {
		act_fail(a, "the client did not reconnect");
		return;
	}
	a->reconnect_ms = (long)(event_at(j).at - det.at);
	say("reconnected %ld ms after the close, to the new server", a->reconnect_ms);
	if (a->reconnect_ms + 50 < told || a->reconnect_ms > told + o.slack_ms)
		act_fail(a, "reconnected after %ld ms, told %d", a->reconnect_ms, told);
	run_traffic(1000, 4);
	finish_act(a, 4, det.at_us);
}

static void act5_refused(demo_act *a)
{
	say_act(5, a->title, "the server refuses this client for good: close 1008 (policy "
	                     "violation). A client must not hammer a server that said no.");
	snprintf(a->detect_bound, sizeof a->detect_bound, "<=%d", 100);
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "none");
	settle();
	int from = event_count();
	mws_client_stats before = {.size = sizeof before}, after = {.size = sizeof after};
	mws_client_stats_get(D.client, &before);
	uint64_t t_fault = cli_now_ms();
	int rc = mws_server_close(D.srv, last_server_conn(), 1008, "demo: not welcome here");
	if (rc) {
		act_fail(a, "mws_server_close: %s", mws_err_name(rc));
		return;
	}
	int i = wait_client_state(from, MWS_STATE_FAILED, 2000, 0);
	if (i < 0) {
		act_fail(a, "the client did not stop");
		return;
	}
	demo_event det = event_at(i);
	a->detect_ms = (long)(det.at - t_fault);
	if (det.code != 1008)
		act_fail(a, "failed with %d, expected 1008", det.code);
	say("the client is FAILED; watching for 1500 ms that it makes no attempt");
	if (wait_event(i + 1, m_client_any, NULL, 1500, 0) >= 0)
		act_fail(a, "the client changed state after FAILED");
	mws_client_stats_get(D.client, &after);
	if (after.attempts_total != before.attempts_total)
		act_fail(a, "the client made %" PRIu64 " more attempts",
		         after.attempts_total - before.attempts_total);
	a->reconnect_ms = -1;
	uint32_t refused = D.refused_sends;
	for (int n = 0; n < 3; n++) {
		D.next_send_at = 0;
		pump(5);
	}
	say("%u attempts made; %u sends refused with MWS_EFAILED (refused, never dropped "
	    "silently)", (unsigned)(after.attempts_total - before.attempts_total),
	    D.refused_sends - refused);
	if (D.refused_sends - refused != 3)
		act_fail(a, "sends were not refused");
	finish_act(a, 5, det.at_us);
}

/* ---- setup ------------------------------------------------------------ */

static int setup(void)
{
	mws_ctx_config cc;
	int rc;

	mws_ctx_config_init(&cc);
	if ((rc = mws_ctx_new(&D.ctx, &cc))) {
		fprintf(stderr, "mws demo: %s\n", mws_strerror(rc));
		return -1;
	}
	if ((rc = server_start(0, &D.srv))) {
		fprintf(stderr, "mws demo: cannot start the server: %s\n", mws_strerror(rc));
		return -1;
	}
	D.port = mws_server_port(D.srv);
	if ((rc = mws_fault_proxy_start(&D.proxy, "127.0.0.1", 0, "127.0.0.1", D.port))) {
		fprintf(stderr, "mws demo: cannot start the proxy: %s\n", strerror(-rc));
		return -1;
	}
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/demo", mws_fault_proxy_port(D.proxy));
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_interval_ms = o.hb_interval;
	cfg.heartbeat_timeout_ms = o.hb_timeout;
	cfg.base_delay_ms = o.base_delay;
	cfg.max_delay_ms = o.max_delay;
	cfg.connect_timeout_ms = 1000;
	cfg.handshake_timeout_ms = 1000;
	cfg.min_uptime_ms = 1000;
	cfg.random_seed = o.seed;
	mws_client_callbacks cbs = {sizeof cbs, on_client_state, NULL, NULL};
	if ((rc = mws_client_new(&D.client, D.ctx, url, &cfg)) ||
	    (rc = mws_client_set_callbacks(D.client, &cbs, NULL, NULL))) {
		fprintf(stderr, "mws demo: client: %s\n", mws_strerror(rc));
		return -1;
	}
	say("server  ws://127.0.0.1:%d/  (managedws, in this process)", D.port);
	say("proxy   127.0.0.1:%d -> 127.0.0.1:%d  (injects the faults)",
	    mws_fault_proxy_port(D.proxy), D.port);
	say("client  %s  heartbeat every %d ms, timeout %d ms; backoff %d..%d ms, full jitter; "
	    "%d messages/s", url, o.hb_interval, o.hb_timeout, o.base_delay, o.max_delay, o.rate);
	int from = event_count();
	mws_client_connect(D.client);
	if (wait_client_state(from, MWS_STATE_CONNECTED, 5000, 0) < 0 ||
	    wait_event(from, m_srv_connect, NULL, 2000, 0) < 0) {
		fprintf(stderr, "mws demo: the client could not connect\n");
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	atomic_store(&D.muted, 1);
	mws_client_free(D.client);
	mws_server_free(D.srv);
	mws_fault_proxy_stop(D.proxy);
	if (D.ctx)
		mws_ctx_free(D.ctx);
	ledger_free(&D.ledger);
	pthread_cond_destroy(&D.cond);
	pthread_mutex_destroy(&D.lock);
}

int mws_cmd_demo(int argc, char **argv)
{
	const char *pos;
	int npos;

	o.rate = 50;
	o.hb_interval = 500;
	o.hb_timeout = 500;
	o.base_delay = 250;
	o.max_delay = 2000;
	o.down_ms = 2500;
	o.spread_ms = 2000;
	o.slack_ms = 300;
	o.seed = 0;
	o.color = COLOR_AUTO;
	int rc = cli_parse(&demo_cmd, argc, argv, &pos, 0, &npos);
	if (rc != CLI_PARSE_OK)
		return rc == CLI_PARSE_HELP ? 0 : 2;
	if (o.base_delay > o.max_delay)
		return cli_usage_error(&demo_cmd, "--base-delay is above --max-delay");

	int color = o.color == COLOR_ALWAYS ||
	            (o.color == COLOR_AUTO && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	static const char *const titles[DEMO_ACTS] = {
		"steady traffic", "zombie connection", "server crash and restart",
		"graceful restart (1012)", "refused for good (1008)"};
	memset(&D, 0, sizeof D);
	pthread_mutex_init(&D.lock, NULL);
	pthread_cond_init(&D.cond, NULL);
	D.last_seq = -1;
	for (int i = 0; i < DEMO_ACTS; i++) {
		D.acts[i] = (demo_act){.title = titles[i], .detect_ms = -1, .reconnect_ms = -1,
		                       .ok = 1};
		snprintf(D.acts[i].detect_bound, sizeof D.acts[i].detect_bound, "-");
		snprintf(D.acts[i].reconnect_bound, sizeof D.acts[i].reconnect_bound, "-");
	}
	signal(SIGPIPE, SIG_IGN);
	report_init(cli_now_ms(), color);
	if (ledger_init(&D.ledger, 1u << 16)) {
		fprintf(stderr, "mws demo: out of memory\n");
		return 1;
	}
	printf("%smanagedws demo%s: a server, a fault-injecting proxy and a client on 127.0.0.1\n\n",
	       color ? "\033[1m" : "", color ? "\033[0m" : "");
	if (setup()) {
		teardown();
		return 1;
	}
	void (*acts[DEMO_ACTS])(demo_act *) = {act1_steady, act2_zombie, act3_crash,
	                                       act4_graceful, act5_refused};
	for (int i = 0; i < DEMO_ACTS; i++) {
		if (i > 0 && !client_connected())
			break; /* the story cannot go on; the table shows what did not run */
		D.acts[i].ran = 1;
		acts[i](&D.acts[i]);
	}
	int status = report_table(D.acts, DEMO_ACTS, o.slack_ms);
	teardown();
	return status;
}
