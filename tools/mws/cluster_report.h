/* mws cluster-client's report: a line per client and a total, in words or
 * as JSON lines, and the verdict (0 lost, 0 duplicated, 0 reordered). */
#ifndef MWS_CLI_CLUSTER_REPORT_H
#define MWS_CLI_CLUSTER_REPORT_H

#include <stdio.h>

#include "cluster_tally.h"

#define TICK_SLACK 10

/* Prints every client's line and the total to `out` (JSON lines when
 * json != 0). Returns 1 when the run passed: every client connected,
 * something was delivered, nothing was lost, duplicated, reordered or
 * foreign, no send was refused for good, no session was lost, and no tick
 * of the server's stream was lost while its client was connected,
 * duplicated or reordered. The ticks every client must have run from the
 * first one any client received after tally_watch_ticks' from_ms to the
 * highest any received before stop_ms, less the last TICK_SLACK (still on
 * their way to some clients at the stop). Ticks missed while a client was
 * between connections are counted apart and do not fail the run: a
 * broadcast reaches the sessions of the nodes alive at the time
 * (docs/SESSIONS-REDIS.md), not a session on its way from a node that
 * went away to the next. expect_ticks: every client must have received
 * ticks. A lost
 * session fails the run even when the library's re-sending hid it: the
 * cluster is there to resume sessions on any node, and an echo test alone
 * cannot see what a node had queued for the client when it died. */
int cluster_report(FILE *out, cluster_tally *tallies, unsigned n, int json, int expect_ticks);

#endif
