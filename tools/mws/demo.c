/* mws demo: the story of a connection that stays up, told live on
 * 127.0.0.1 in one process: a server, the fault proxy, and a client that
 * sends numbered messages through the proxy while faults are injected. The
 * server's side counts what arrived, so every act ends with delivered,
 * reordered and lost figures. This file is the command: its flags, the run
 * of the acts, the table; demo.h lists the other files. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "flags.h"
#include "subcommands.h"
#include "util.h"

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };
static const cli_choice color_choices[] = {
	{"auto", COLOR_AUTO}, {"always", COLOR_ALWAYS}, {"never", COLOR_NEVER}, {NULL, 0}};
static const cli_choice protocol_choices[] = {{"v1", 0}, {"plain", 1}, {NULL, 0}};

/* The flags' targets; their defaults are in mws_cmd_demo(). */
static demo_opts o;

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
	{"protocol", "NAME", CLI_CHOICE, &o.plain, 0, 0, protocol_choices,
	 "v1: the managed protocol mws.v1 (default); plain: plain WebSocket"},
	{"compare", NULL, CLI_BOOL, &o.compare, 0, 0, NULL,
	 "play the acts with mws.v1, then plain, and set the counts side by side"},
	CLI_FLAG_SEED(&o.seed, "client jitter seed"),
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
	"the configuration promises, and messages sent, delivered, duplicated,\n"
	"reordered and lost. The client and the server speak mws.v1 (nothing\n"
	"lost, duplicated or reordered, the zombie window included); --protocol\n"
	"plain shows plain WebSocket, --compare both. About 20 s (40 s compared).",
	demo_flags, CLI_NFLAGS(demo_flags),
	"exit status:\n"
	"  0  every act behaved as expected (--compare: in both runs)\n"
	"  1  some act did not (the table says which and why)\n"
	"  2  bad flag\n",
};
/* The demo's state: large (the event log), and reached by the callbacks
 * through their user data. */
static demo D;

static void demo_init(demo *d, int color, int plain)
{
	memset(d, 0, sizeof *d);
	d->opt = o;
	d->opt.color = color;
	d->opt.plain = plain;
	d->last_seq = -1;
	events_init(&d->events);
}

static void acts_init(demo_act *acts)
{
	for (int i = 0; i < DEMO_ACTS; i++) {
		acts[i] = (demo_act){.title = demo_act_titles[i], .detect_ms = -1,
		                     .reconnect_ms = -1, .ok = 1};
		snprintf(acts[i].detect_bound, sizeof acts[i].detect_bound, "-");
		snprintf(acts[i].reconnect_bound, sizeof acts[i].reconnect_bound, "-");
	}
}

/* Plays the five acts once (plain: plain WebSocket) into acts[]; returns
 * the exit status of the table. */
static int demo_run(int color, int plain, demo_act *acts)
{
	demo_init(&D, color, plain);
	acts_init(acts);
	if (ledger_init(&D.ledger, 1u << 16)) {
		fprintf(stderr, "mws demo: out of memory\n");
		events_destroy(&D.events);
		return 1;
	}
	printf("%smanagedws demo%s: a server, a fault-injecting proxy and a client on 127.0.0.1, "
	       "speaking %s\n\n", color ? "\033[1m" : "", color ? "\033[0m" : "",
	       plain ? "plain WebSocket" : "mws.v1");
	int status = 1;
	if (!stage_setup(&D)) {
		for (int i = 0; i < DEMO_ACTS; i++) {
			if (i > 0 && mws_client_state(D.client) != MWS_STATE_CONNECTED)
				break; /* the story cannot go on; the table shows what did not run */
			acts[i].ran = 1;
			demo_act_play(&D, i, &acts[i]);
		}
		status = report_table(acts, DEMO_ACTS, o.slack_ms, plain);
	}
	stage_teardown(&D);
	ledger_free(&D.ledger);
	events_destroy(&D.events);
	return status;
}

int mws_cmd_demo(int argc, char **argv)
{
	static const demo_opts defaults = {
		.rate = 50, .hb_interval = 500, .hb_timeout = 500, .base_delay = 250,
		.max_delay = 2000, .down_ms = 2500, .spread_ms = 2000, .slack_ms = 300,
		.seed = 0, .color = COLOR_AUTO, .plain = 0, .compare = 0};
	demo_act acts[DEMO_ACTS], plain_acts[DEMO_ACTS];
	const char *pos;
	int npos;

	o = defaults;
	int rc = cli_parse(&demo_cmd, argc, argv, &pos, 0, &npos);
	if (rc != CLI_PARSE_OK)
		return cli_parse_status(rc);
	if (o.base_delay > o.max_delay)
		return cli_usage_error(&demo_cmd, "--base-delay is above --max-delay");

	int color = o.color == COLOR_ALWAYS ||
	            (o.color == COLOR_AUTO && isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
	signal(SIGPIPE, SIG_IGN);
	report_init(cli_now_ms(), color);
	if (!o.compare)
		return demo_run(color, o.plain, acts);
	int status = demo_run(color, 0, acts);
	printf("\n");
	status |= demo_run(color, 1, plain_acts);
	report_contrast(acts, plain_acts, DEMO_ACTS);
	return status;
}
