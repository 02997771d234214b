/* mws cluster-client's report: a line per client and a total, in words or
 * as JSON lines, and the verdict (0 lost, 0 duplicated, 0 reordered). */
#ifndef MWS_CLI_CLUSTER_REPORT_H
#define MWS_CLI_CLUSTER_REPORT_H

#include <stdio.h>

#include "cluster_tally.h"

/* Prints every client's line and the total to `out` (JSON lines when
 * json != 0). Returns 1 when the run passed: every client connected,
 * something was delivered, and nothing was lost, duplicated, reordered
 * or foreign, and no send was refused for good. */
int cluster_report(FILE *out, cluster_tally *tallies, unsigned n, int json);

#endif
