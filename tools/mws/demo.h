/* mws demo, shared between its files: the options, the one state the
 * script works on, and what each file offers.
 *
 *   demo.c          the command: flags, the run of the acts, the table
 *   demo_acts.c     the script: the five acts and what each expects
 *   demo_stage.c    the cast: server, proxy, client and their callbacks
 *   demo_traffic.c  the numbered messages the client sends, and waiting
 *   demo_events.c   the log of what the I/O thread reported
 *   demo_ledger.c   what was sent and received: delivered, reordered, lost
 *   demo_report.c   progress lines and the closing table
 *
 * Threads: the main thread runs the script and sends; the I/O thread runs
 * the callbacks, which log events and wake the script. */
#ifndef MWS_CLI_DEMO_H
#define MWS_CLI_DEMO_H

#include <stdatomic.h>
#include <stdint.h>

#include "demo_events.h"
#include "demo_ledger.h"
#include "demo_report.h"
#include "fault_proxy.h"
#include "managedws.h"

/* What an expected time allows for a TCP connect and handshake on 127.0.0.1. */
enum { DEMO_CONNECT_MS = 100 };

typedef struct demo_opts {
	int rate, hb_interval, hb_timeout, base_delay, max_delay, down_ms, spread_ms, slack_ms;
	int color;
	int plain;              /* 1: plain WebSocket; 0: mws.v1 (required) */
	int compare;            /* run mws.v1, then plain, and set them side by side */
	uint64_t seed;
} demo_opts;

typedef struct demo {
	demo_opts opt;
	demo_events events;     /* appended by the I/O thread */
	demo_ledger ledger;
	mws_ctx *ctx;           /* one I/O thread for the server and the client */
	mws_server *srv;
	int port;
	mws_fault_proxy *proxy;
	mws_client *client;
	atomic_int muted;       /* teardown: no more event lines */
	int64_t last_seq;       /* last message accepted by send */
	uint64_t resent_at_act; /* client stats.lost_resent when the act began */
	uint64_t next_send_at;
	uint32_t refused_sends;
} demo;

/* demo_stage.c */

/* Starts the context, a server, the proxy in front of it and a client
 * through the proxy, and waits until the client is connected. 0, or -1
 * after a line on stderr. */
int stage_setup(demo *d);

/* Frees whatever stage_setup() and the acts started. */
void stage_teardown(demo *d);

/* A server on 127.0.0.1:port (0: a free one) that reports to d. */
int stage_server_start(demo *d, int port, mws_server **out);

/* The same on a port just given up by a server: waits until it is free. */
int stage_server_restart_on(demo *d, int port, mws_server **out);

/* demo_traffic.c */

/* Sends the next numbered message of `act` if one is due (act <= 0:
 * none). Returns when the next one is due (cli_now_ms()). */
uint64_t traffic_pump(demo *d, int act);

/* events_wait() on d's log, sending act's traffic meanwhile (0: none). */
int traffic_wait(demo *d, int from, ev_match match, const void *arg, int timeout_ms, int act);

/* Sends act's traffic for ms milliseconds. */
void traffic_run(demo *d, int ms, int act);

/* Waits (bounded) until the last accepted message arrived and nothing is
 * queued: then what is missing is lost for good. */
void traffic_settle(demo *d);

/* demo_acts.c */

/* The acts' titles, for the table. */
extern const char *const demo_act_titles[DEMO_ACTS];

/* Plays act n (0-based) and records how it went in *a. */
void demo_act_play(demo *d, int n, demo_act *a);

#endif
