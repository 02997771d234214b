/* mws cluster-client: N managed (mws.v1) clients through a load balancer,
 * each sending numbered messages at a bounded rate to an echoing cluster
 * and checking what comes back: sent, delivered, lost, duplicated,
 * reordered, resumes, sessions lost, time to reconnect. scripts/cluster.sh
 * runs it while it kills and stops nodes; the verdict is its exit status.
 * Files: this one (flags, the run), cluster_tally.c (bookkeeping per
 * client), cluster_report.c (the lines and the verdict). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_report.h"
#include "cluster_tally.h"
#include "flags.h"
#include "subcommands.h"
#include "util.h"

static struct {
	int clients, seconds, rate, drain_ms, connect_ms, base_delay, max_delay;
	int restart_spread, hb_interval, hb_timeout, json, verbose, ticks;
	size_t size;
	uint64_t seed;
} o;

/* Set once the run is over and the clients are being closed by us. */
static volatile int closing;

static const cli_flag cluster_flags[] = {
	{"clients", "N", CLI_INT, &o.clients, 1, 5000, NULL, "clients, each with its own session"},
	{"seconds", "S", CLI_INT, &o.seconds, 1, 86400, NULL,
	 "how long they send, from when all are connected"},
	{"rate", "PER_SEC", CLI_INT, &o.rate, 1, 10000, NULL, "numbered messages per second per client"},
	{"size", "BYTES", CLI_SIZE, &o.size, 0, 0, NULL, "pad each message to this size (at most 4k)"},
	{"drain", "MS", CLI_INT, &o.drain_ms, CLI_MS0, NULL,
	 "after sending, wait this long at most for the last echoes"},
	{"connect-timeout", "MS", CLI_INT, &o.connect_ms, CLI_MS, NULL,
	 "every client must be connected within this, or the run fails"},
	{"base-delay", "MS", CLI_INT, &o.base_delay, 10, 60000, NULL, "client backoff base delay"},
	{"max-delay", "MS", CLI_INT, &o.max_delay, 10, 600000, NULL, "client backoff cap"},
	{"restart-spread", "MS", CLI_INT, &o.restart_spread, 1, 600000, NULL,
	 "reconnect spread after a graceful restart (1001/1012)"},
	{"heartbeat-interval", "MS", CLI_INT, &o.hb_interval, CLI_MS, NULL, "client heartbeat interval"},
	{"heartbeat-timeout", "MS", CLI_INT, &o.hb_timeout, CLI_MS, NULL, "client heartbeat timeout"},
	{"ticks", NULL, CLI_BOOL, &o.ticks, 0, 0, NULL,
	 "check the 'tick=N' broadcast of a node (mws serve --tick): each client gets all"},
	CLI_FLAG_SEED(&o.seed, "client jitter seed (client i gets seed + i)"),
	{"json", NULL, CLI_BOOL, &o.json, 0, 0, NULL,
	 "stdout: one JSON object per client, then {\"event\":\"total\",...}"},
	CLI_FLAG_VERBOSE(&o.verbose),
};

static const cli_command cluster_cmd = {
	"cluster-client", "URL",
	"N mws.v1 clients (mws.v1 required) against an echoing server or cluster\n"
	"(mws serve --mode echo), usually through a load balancer. Each sends\n"
	"'c=I n=N' at --rate for --seconds, then waits up to --drain for the last\n"
	"echoes. Every client's echoes are checked: delivered once each, in order,\n"
	"none missing. With --ticks, so are the 'tick=N' messages a node broadcasts\n"
	"(mws serve --tick): every client must get every tick from 0.5 s after all\n"
	"are connected until the drain ends (less the last 10). Reconnections are\n"
	"logged on stderr with their time and whether the session resumed; a line\n"
	"per client and a total go to stdout.",
	cluster_flags, CLI_NFLAGS(cluster_flags),
	"exit status:\n"
	"  0  every client connected, nothing was lost, duplicated or reordered,\n"
	"     and every reconnection resumed its session\n"
	"  1  otherwise (also: a client never connected, a send was refused)\n"
	"  2  bad flag\n\n"
	"example:\n"
	"  mws cluster-client --clients 20 --seconds 30 ws://127.0.0.1:8080/\n",
};

static void set_defaults(void)
{
	memset(&o, 0, sizeof o);
	o.clients = 10;
	o.seconds = 30;
	o.rate = 20;
	o.drain_ms = 20000;
	o.connect_ms = 20000;
	o.base_delay = 200;
	o.max_delay = 2000;
	o.restart_spread = 1000;
	o.hb_interval = 5000;
	o.hb_timeout = 5000;
}

static const char *session_name(int ev)
{
	return ev == MWS_SESSION_RESUMED ? "resumed"
	       : ev == MWS_SESSION_LOST  ? "LOST"
	       : ev == MWS_SESSION_STARTED ? "started"
	                                   : "plain";
}

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	cluster_tally *t = ud;
	uint64_t now = cli_now_ms(), down = t->down_at_ms;

	(void)c;
	tally_state(t, ch, now);
	if (ch->from == MWS_STATE_CONNECTED && !closing)
		cli_log_line("client %u: connection ended (%s, code %d)", t->index, ch->reason,
		             ch->close_code);
	if (ch->to == MWS_STATE_CONNECTED && down)
		cli_log_line("client %u: reconnected in %llu ms, session %s", t->index,
		             (unsigned long long)(now - down), session_name(ch->session));
	if (ch->to == MWS_STATE_FAILED)
		cli_log_line("client %u: FAILED (%s)", t->index, ch->reason);
}

static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	tally_received(ud, data, len, cli_now_ms());
}

static void on_log(int level, const char *msg, void *ud)
{
	(void)ud;
	cli_log_line("log %d: %s", level, msg);
}

static int start_clients(mws_ctx *ctx, const char *url, cluster_tally *t)
{
	uint64_t cap = (uint64_t)o.rate * (uint64_t)o.seconds + (uint64_t)o.rate * 2 + 16;
	mws_client_config cfg;

	mws_client_config_init(&cfg);
	cfg.protocol_mode = MWS_PROTOCOL_REQUIRE;
	cfg.base_delay_ms = o.base_delay;
	cfg.max_delay_ms = o.max_delay;
	cfg.restart_spread_ms = o.restart_spread;
	cfg.heartbeat_interval_ms = o.hb_interval;
	cfg.heartbeat_timeout_ms = o.hb_timeout;
	for (int i = 0; i < o.clients; i++) {
		mws_client_callbacks cbs = {.size = sizeof cbs, .on_state = on_state,
		                            .on_message = on_message};
		int rc;
		if (tally_init(&t[i], (unsigned)i, cap))
			return MWS_ENOMEM;
		cfg.random_seed = o.seed ? o.seed + (uint64_t)i : 0;
		if ((rc = mws_client_new(&t[i].client, ctx, url, &cfg)) ||
		    (rc = mws_client_set_callbacks(t[i].client, &cbs, &t[i], NULL)) ||
		    (rc = mws_client_connect(t[i].client)))
			return rc;
	}
	return 0;
}

/* Waits until every client has been connected once, or the timeout. */
static int wait_connected(cluster_tally *t, int sig_r)
{
	uint64_t end = cli_now_ms() + (uint64_t)o.connect_ms;

	while (cli_now_ms() < end && !cli_signal_take(sig_r)) {
		int up = 0;
		for (int i = 0; i < o.clients; i++) {
			pthread_mutex_lock(&t[i].lock);
			up += t[i].connected;
			pthread_mutex_unlock(&t[i].lock);
		}
		if (up == o.clients)
			return 1;
		cli_sleep_ms(20);
	}
	return 0;
}

/* Sends what is due to one client by now (elapsed_ms into the run). */
static void pump(cluster_tally *t, uint64_t elapsed_ms)
{
	uint64_t due = elapsed_ms * (uint64_t)o.rate / 1000 + 1;
	char buf[4200];

	if (due >= t->cap)
		due = t->cap - 1;
	while (!t->send_errors && t->next_number < due) {
		size_t len = tally_format(t, t->next_number + 1, o.size, buf, sizeof buf);
		int rc = mws_client_send(t->client, buf, len, MWS_MSG_TEXT);
		if (rc == MWS_EQUEUEFULL)
			return; /* not numbered: tried again at the next tick */
		if (rc) {
			cli_log_line("client %u: send refused for good: %s", t->index,
			             mws_strerror(rc));
			t->send_errors++;
			return;
		}
		pthread_mutex_lock(&t->lock);
		t->next_number++;
		pthread_mutex_unlock(&t->lock);
	}
}

static void progress(cluster_tally *t, const char *what)
{
	uint64_t sent = 0, delivered = 0;

	for (int i = 0; i < o.clients; i++) {
		pthread_mutex_lock(&t[i].lock);
		sent += t[i].next_number;
		delivered += t[i].delivered;
		pthread_mutex_unlock(&t[i].lock);
	}
	cli_log_line("%s: sent=%llu delivered=%llu", what, (unsigned long long)sent,
	             (unsigned long long)delivered);
}

static void run(cluster_tally *t, int sig_r)
{
	uint64_t start = cli_now_ms(), end = start + (uint64_t)o.seconds * 1000;
	uint64_t next_progress = start + 5000;

	for (int i = 0; i < o.clients; i++)
		tally_watch_ticks(&t[i], start + 500, 0);

	for (uint64_t now; (now = cli_now_ms()) < end;) {
		struct pollfd p = {.fd = sig_r, .events = POLLIN};
		if (poll(&p, 1, 5) < 0 && errno != EINTR)
			break;
		if (cli_signal_take(sig_r)) {
			cli_log_line("signal: stop sending, drain");
			break;
		}
		for (int i = 0; i < o.clients; i++)
			pump(&t[i], now - start);
		if (now >= next_progress) {
			progress(t, "sending");
			next_progress += 5000;
		}
	}
	progress(t, "sent; draining");
	uint64_t drain_end = cli_now_ms() + (uint64_t)o.drain_ms;
	while (cli_now_ms() < drain_end && !cli_signal_take(sig_r)) {
		int settled = 0;
		for (int i = 0; i < o.clients; i++)
			settled += tally_settled(&t[i]);
		if (settled == o.clients)
			break;
		cli_sleep_ms(20);
	}
	uint64_t stop = cli_now_ms();
	for (int i = 0; i < o.clients; i++)
		tally_watch_ticks(&t[i], 0, stop);
	progress(t, "drained");
}

int mws_cmd_cluster_client(int argc, char **argv)
{
	const char *url;
	int npos, rc, status = 1;
	mws_ctx *ctx = NULL;
	cluster_tally *t = NULL;

	set_defaults();
	rc = cli_parse(&cluster_cmd, argc, argv, &url, 1, &npos);
	if (rc != CLI_PARSE_OK)
		return cli_parse_status(rc);
	if (npos != 1)
		return cli_usage_error(&cluster_cmd, "expected one URL");
	if (o.size > 4096)
		return cli_usage_error(&cluster_cmd, "--size is at most 4096");
	int sig_r = cli_signals_install();
	t = calloc((size_t)o.clients, sizeof *t);
	if (sig_r < 0 || !t || (rc = cli_ctx_new(&ctx, o.verbose ? on_log : NULL))) {
		cli_error(&cluster_cmd, "%s", !t ? "out of memory" : sig_r < 0 ? strerror(errno)
		                                                           : mws_strerror(rc));
		goto out;
	}
	if ((rc = start_clients(ctx, url, t))) {
		status = rc == MWS_EINVAL ? cli_usage_error(&cluster_cmd, "bad URL or flag (%s)",
		                                            mws_strerror(rc))
		                          : (cli_error(&cluster_cmd, "%s", mws_strerror(rc)), 1);
		goto out;
	}
	if (!wait_connected(t, sig_r)) {
		cli_error(&cluster_cmd, "not every client connected within %d ms", o.connect_ms);
		cluster_report(stdout, t, (unsigned)o.clients, o.json, o.ticks);
		goto out;
	}
	cli_log_line("cluster-client: %d clients connected; sending %d/s each for %d s", o.clients,
	             o.rate, o.seconds);
	run(t, sig_r);
	status = cluster_report(stdout, t, (unsigned)o.clients, o.json, o.ticks) ? 0 : 1;
out:
	closing = 1;
	for (int i = 0; t && i < o.clients; i++) {
		if (t[i].client) {
			mws_client_close(t[i].client, 1000, "done");
			mws_client_free(t[i].client);
		}
		if (t[i].seen)
			tally_free(&t[i]);
	}
	free(t);
	if (ctx)
		mws_ctx_free(ctx);
	return status;
}
