/* The demo's script: five acts, each a fault injected while the client
 * sends, what the configuration promises about it, and the checks. An act
 * records its times and counts in its demo_act; act_fail() keeps the first
 * expectation that did not hold. */
#include <inttypes.h>
#include <stdio.h>

#include "demo.h"
#include "util.h"

/* A close or a reset on 127.0.0.1 reaches the client within this. */
enum { NOTICE_MS = 100 };

const char *const demo_act_titles[DEMO_ACTS] = {
	"steady traffic", "zombie connection", "server crash and restart",
	"graceful restart (1012)", "refused for good (1008)"};

/* Waits for the client to leave CONNECTED, sending act's traffic; the
 * event goes to *det. Returns its index, or -1 after act_fail(a, fail). */
static int await_detection(demo *d, demo_act *a, int from, int timeout_ms, int act,
                           const char *fail, demo_event *det)
{
	int i = traffic_wait(d, from, ev_client_left_connected, NULL, timeout_ms, act);

	if (i < 0)
		act_fail(a, "%s", fail);
	else
		*det = events_at(&d->events, i);
	return i;
}

/* Waits for CONNECTED after event `from`, sending act's traffic, and
 * records the time from `since_ms`. False after act_fail(a, fail). */
static bool await_reconnect(demo *d, demo_act *a, int from, int timeout_ms, int act,
                            uint64_t since_ms, const char *fail)
{
	int connected = MWS_STATE_CONNECTED;
	int j = traffic_wait(d, from, ev_client_to, &connected, timeout_ms, act);

	if (j < 0) {
		act_fail(a, "%s", fail);
		return false;
	}
	uint64_t at = events_at(&d->events, j).at;
	a->reconnect_ms = at > since_ms ? (long)(at - since_ms) : 0;
	return true;
}

/* An act's opening: its heading, what is about to happen and the bounds
 * it promises (-1: none, the cell keeps "-"). Returns the position in the
 * event log the act starts from. */
static int act_begin(demo *d, demo_act *a, int n, const char *what, int detect_le,
                     int reconnect_le)
{
	say_act(n, a->title, what);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(d->client, &st);
	d->resent_at_act = st.lost_resent;
	if (detect_le >= 0)
		snprintf(a->detect_bound, sizeof a->detect_bound, "<=%d", detect_le);
	if (reconnect_le >= 0)
		snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "<=%d", reconnect_le);
	return events_count(&d->events);
}

/* Counts the act's messages once they have settled, and checks them. */
static void finish_act(demo *d, demo_act *a, int act, uint64_t detect_at_us)
{
	traffic_settle(d);
	ledger_count(&d->ledger, act, detect_at_us, &a->counts);
	const demo_counts *c = &a->counts;
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(d->client, &st);
	uint64_t resent = st.lost_resent - d->resent_at_act;
	if (c->reordered)
		act_fail(a, "%u messages arrived out of order", c->reordered);
	/* After a lost session the library re-sends what the old server had
	 * not acknowledged and says so: only more duplicates than that fail. */
	if (c->duplicates > resent)
		act_fail(a, "%u messages arrived twice (%" PRIu64 " reported as re-sent)",
		         c->duplicates, resent);
	if (c->lost_after)
		act_fail(a, "%u messages sent after detection were lost", c->lost_after);
	if (!d->opt.plain && c->lost_window)
		act_fail(a, "%u messages lost in the zombie window despite mws.v1", c->lost_window);
	say("%u sent, %u delivered, %u reordered, %u duplicated, %u lost in the zombie window, "
	    "%u lost after detection", c->sent, c->delivered, c->reordered, c->duplicates,
	    c->lost_window, c->lost_after);
	if (resent)
		say("%" PRIu64 " re-sent after the session was lost (reported by the library as "
		    "possibly duplicated); %u of them had arrived before", resent, c->duplicates);
}

/* A second of traffic on the new connection, then the count. */
static void after_reconnect(demo *d, demo_act *a, int act, uint64_t detect_at_us)
{
	traffic_run(d, 1000, act);
	finish_act(d, a, act, detect_at_us);
}

static void act1_steady(demo *d, demo_act *a)
{
	int from = act_begin(d, a, 1, "the client sends a numbered message every few "
	                              "milliseconds; the server checks the numbers", -1, -1);
	traffic_run(d, 3000, 1);
	if (traffic_wait(d, from, ev_client_any, NULL, 0, 0) >= 0)
		act_fail(a, "the client changed state during steady traffic");
	finish_act(d, a, 1, 0);
	if (a->counts.lost_after)
		act_fail(a, "messages were lost on a healthy connection");
}

static void act2_zombie(demo *d, demo_act *a)
{
	const demo_opts *o = &d->opt;
	int bound = o->hb_interval + o->hb_timeout;
	/* the first backoff wait, drawn from [0, base], and a loopback connect */
	int rbound = o->base_delay + DEMO_CONNECT_MS;
	demo_event det;

	int from = act_begin(d, a, 2, "a middlebox forgets the connection: its bytes now vanish, "
	                              "no FIN, no RST (proxy: blackhole, then pass for new "
	                              "connections)", bound, rbound);
	mws_fault_proxy_set_mode(d->proxy, MWS_FAULT_BLACKHOLE, 0);
	uint64_t t_fault = cli_now_ms();
	mws_fault_proxy_set_mode(d->proxy, MWS_FAULT_PASS, 0);
	say("the connection is a zombie now: the socket looks open and writes still succeed");
	int i = await_detection(d, a, from, bound + 3000, 2,
	                        "the heartbeat did not catch the zombie", &det);
	if (i < 0)
		return;
	a->detect_ms = (long)(det.at - t_fault);
	say("the heartbeat caught it after %ld ms (promise: within interval + timeout = %d ms)",
	    a->detect_ms, bound);
	if (det.code != 4000)
		act_fail(a, "closed with %d, expected 4000 (heartbeat timeout)", det.code);
	if (a->detect_ms > bound + o->slack_ms)
		act_fail(a, "detection took %ld ms, promised %d", a->detect_ms, bound);
	if (!await_reconnect(d, a, i, o->max_delay + 5000, 2, det.at,
	                     "the client did not reconnect"))
		return;
	say("reconnected %ld ms after detection (backoff wait %d ms, drawn from [0, %d])",
	    a->reconnect_ms, det.delay_ms, o->base_delay);
	if (a->reconnect_ms > rbound + o->slack_ms)
		act_fail(a, "reconnecting took %ld ms, expected <= %d", a->reconnect_ms, rbound);
	int why = MWS_DISCONNECT_REAPED;
	int k = traffic_wait(d, from, ev_srv_disconnect, &why, 4000, 2);
	if (k >= 0)
		say("the server reaped its end of the zombie after %ld ms of silence",
		    (long)(events_at(&d->events, k).at - t_fault));
	after_reconnect(d, a, 2, det.at_us);
}

static void act3_crash(demo *d, demo_act *a)
{
	const demo_opts *o = &d->opt;
	/* at most one backoff wait, capped at max, and a loopback connect */
	int rbound = o->max_delay + DEMO_CONNECT_MS;
	demo_event det;

	int from = act_begin(d, a, 3, "the server process dies: its connections are reset and "
	                              "nothing listens for a while", NOTICE_MS, rbound);
	uint64_t t_fault = cli_now_ms();
	mws_fault_proxy_set_mode(d->proxy, MWS_FAULT_RESET, 0);
	mws_server_free(d->srv);
	d->srv = NULL;
	mws_fault_proxy_set_mode(d->proxy, MWS_FAULT_PASS, 0);
	int i = await_detection(d, a, from, 2000, 3, "the client did not notice the crash", &det);
	if (i < 0)
		return;
	a->detect_ms = (long)(det.at - t_fault);
	if (a->detect_ms > NOTICE_MS + o->slack_ms)
		act_fail(a, "noticing a reset took %ld ms", a->detect_ms);
	say("the client keeps sending; messages wait in its queue while it backs off");
	long left = o->down_ms - (long)(cli_now_ms() - t_fault);
	traffic_run(d, left > 0 ? (int)left : 0, 3);
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(d->client, &st);
	int rc = stage_server_restart_on(d, d->port, &d->srv);
	if (rc) {
		act_fail(a, "the server could not restart on port %d: %s", d->port, mws_strerror(rc));
		return;
	}
	uint64_t t_back = cli_now_ms();
	say("the server is back on port %d after %ld ms; %u messages are queued", d->port,
	    (long)(t_back - t_fault), st.queue_messages);
	if (!await_reconnect(d, a, i, o->max_delay + 5000, 3, t_back, "the client did not come back"))
		return;
	say("the client came back %ld ms after the server did (its backoff wait is capped at "
	    "%d ms); the queue goes out first, in order", a->reconnect_ms, o->max_delay);
	if (a->reconnect_ms > rbound + o->slack_ms)
		act_fail(a, "coming back took %ld ms, expected <= %d", a->reconnect_ms, rbound);
	after_reconnect(d, a, 3, det.at_us);
}

static void act4_graceful(demo *d, demo_act *a)
{
	const demo_opts *o = &d->opt;
	const char *untold = "the client was not told to come back later";
	demo_event det;

	act_begin(d, a, 4, "a new server takes over behind the proxy; the old one shuts down "
	                   "gracefully: 1012 with a retry-after spread over the window", NOTICE_MS,
	          -1);
	mws_server *next = NULL;
	int rc = stage_server_start(d, 0, &next);
	if (!rc)
		rc = mws_fault_proxy_set_upstream(d->proxy, "127.0.0.1", mws_server_port(next));
	if (rc) {
		mws_server_free(next);
		act_fail(a, "could not start the new server");
		return;
	}
	say("new server on port %d; the proxy now sends new connections there",
	    mws_server_port(next));
	int from = events_count(&d->events);
	uint64_t t_fault = cli_now_ms();
	rc = mws_server_shutdown(d->srv, 1012, o->spread_ms, 3000);
	if (rc)
		act_fail(a, "the shutdown did not complete: %s", mws_err_name(rc));
	mws_server_free(d->srv);
	d->srv = next;
	d->port = mws_server_port(next);
	int why = MWS_DISCONNECT_SHUTDOWN;
	int k = traffic_wait(d, from, ev_srv_disconnect, &why, 1000, 4);
	int told = -1;
	if (k >= 0)
		sscanf(events_at(&d->events, k).reason, "code=%*d retry-after=%d", &told);
	int i = await_detection(d, a, from, 2000, 4, untold, &det);
	if (i < 0 || told < 0) {
		act_fail(a, "%s", untold);
		return;
	}
	a->detect_ms = (long)(det.at - t_fault);
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "~%d", told);
	say("the server told the client retry-after=%d ms; the client waits %d ms (attempt not "
	    "counted)", told, det.delay_ms);
	if (det.code != 1012)
		act_fail(a, "closed with %d, expected 1012", det.code);
	if (det.delay_ms != told)
		act_fail(a, "told %d ms, the client chose %d ms", told, det.delay_ms);
	if (a->detect_ms > NOTICE_MS + o->slack_ms)
		act_fail(a, "the close took %ld ms to reach the client", a->detect_ms);
	if (!await_reconnect(d, a, i, o->spread_ms + o->max_delay + 5000, 4, det.at,
	                     "the client did not reconnect"))
		return;
	say("reconnected %ld ms after the close, to the new server", a->reconnect_ms);
	if (a->reconnect_ms + 50 < told || a->reconnect_ms > told + o->slack_ms)
		act_fail(a, "reconnected after %ld ms, told %d", a->reconnect_ms, told);
	after_reconnect(d, a, 4, det.at_us);
}

static void act5_refused(demo *d, demo_act *a)
{
	act_begin(d, a, 5, "the server refuses this client for good: close 1008 (policy "
	                   "violation). A client must not hammer a server that said no.",
	          NOTICE_MS, -1);
	snprintf(a->reconnect_bound, sizeof a->reconnect_bound, "none");
	traffic_settle(d);
	int from = events_count(&d->events), failed = MWS_STATE_FAILED;
	mws_client_stats before = {.size = sizeof before}, after = {.size = sizeof after};
	mws_client_stats_get(d->client, &before);
	uint64_t t_fault = cli_now_ms();
	int rc = mws_server_close(d->srv, events_last_server_conn(&d->events), 1008,
	                          "demo: not welcome here");
	if (rc) {
		act_fail(a, "mws_server_close: %s", mws_err_name(rc));
		return;
	}
	int i = traffic_wait(d, from, ev_client_to, &failed, 2000, 0);
	if (i < 0) {
		act_fail(a, "the client did not stop");
		return;
	}
	demo_event det = events_at(&d->events, i);
	a->detect_ms = (long)(det.at - t_fault);
	if (det.code != 1008)
		act_fail(a, "failed with %d, expected 1008", det.code);
	say("the client is FAILED; watching for 1500 ms that it makes no attempt");
	if (traffic_wait(d, i + 1, ev_client_any, NULL, 1500, 0) >= 0)
		act_fail(a, "the client changed state after FAILED");
	mws_client_stats_get(d->client, &after);
	if (after.attempts_total != before.attempts_total)
		act_fail(a, "the client made %" PRIu64 " more attempts",
		         after.attempts_total - before.attempts_total);
	a->reconnect_ms = -1;
	uint32_t refused = d->refused_sends;
	for (int n = 0; n < 3; n++) {
		d->next_send_at = 0;
		traffic_pump(d, 5);
	}
	say("%u attempts made; %u sends refused with MWS_EFAILED (refused, never dropped "
	    "silently)", (unsigned)(after.attempts_total - before.attempts_total),
	    d->refused_sends - refused);
	if (d->refused_sends - refused != 3)
		act_fail(a, "sends were not refused");
	finish_act(d, a, 5, det.at_us);
}

void demo_act_play(demo *d, int n, demo_act *a)
{
	static void (*const acts[DEMO_ACTS])(demo *, demo_act *) = {
		act1_steady, act2_zombie, act3_crash, act4_graceful, act5_refused};

	acts[n](d, a);
}
