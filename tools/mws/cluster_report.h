/* mws cluster-client's report: a line per client and a total, in words or
 * as JSON lines, and the verdict (0 lost, 0 duplicated, 0 reordered). */
#ifndef MWS_CLI_CLUSTER_REPORT_H
#define MWS_CLI_CLUSTER_REPORT_H

#include <stdio.h>

#include "cluster_tally.h"

/* Prints every client's line and the total to `out` (JSON lines when
 * json != 0). Returns 1 when the run passed: every client connected,
 * something was delivered, nothing was lost, duplicated, reordered or
 * foreign, no send was refused for good, and no session was lost. A lost
 * session fails the run even when the library's re-sending hid it: the
 * cluster is there to resume sessions on any node, and an echo test alone
 * cannot see what a node had queued for the client when it died. */
int cluster_report(FILE *out, cluster_tally *tallies, unsigned n, int json);

#endif
