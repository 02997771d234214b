/* What the demo prints: timestamped progress lines as the story goes, and
 * the closing table. Colour only when stdout is a terminal. */
#ifndef MWS_CLI_DEMO_REPORT_H
#define MWS_CLI_DEMO_REPORT_H

#include <stdint.h>

#include "demo_ledger.h"

typedef struct demo_act {
	const char *title;
	int ran;
	long detect_ms;         /* fault -> client noticed; -1: not applicable */
	char detect_bound[24];  /* "<=1000", "none" */
	long reconnect_ms;      /* connection possible again -> CONNECTED; -1: none */
	char reconnect_bound[24];
	demo_counts counts;
	int ok;
	char why[200];          /* the first expectation that failed */
} demo_act;

/* Starts the clock of the progress lines; color: use ANSI colours. */
void report_init(uint64_t t0_ms, int color);

/* One progress line: "  12.34s  <text>". Any thread. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A dimmed progress line for what the library reports. Any thread. */
void say_event(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An act's heading and a sentence of what is about to happen. */
void say_act(int n, const char *title, const char *what);

/* Marks the act failed with a reason (the first one sticks). */
void act_fail(demo_act *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The table and the totals; returns 0 if every act ran and is ok. plain:
 * the run was plain WebSocket (the legend says what that costs). */
int report_table(const demo_act *acts, int n, int slack_ms, int plain);

/* --compare: the same faults under mws.v1 and plain WebSocket, per act. */
void report_contrast(const demo_act *v1, const demo_act *plain, int n);

#endif
