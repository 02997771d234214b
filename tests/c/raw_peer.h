/* The client tests' raw-socket server, tests/peers/raw_ws_peer.py, run in
 * one of its modes with a log of the TCP connections it accepted. */
#ifndef MWS_TEST_RAW_PEER_H
#define MWS_TEST_RAW_PEER_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "peer.h"

#define RAW_PEER MWS_SOURCE_DIR "/tests/peers/raw_ws_peer.py"

typedef struct raw_peer {
	mws_test_peer proc;
	char log_path[64];
} raw_peer;

/* Starts the peer in `mode`; `id` (NULL: the peer's default) is the
 * connection id its JSON modes hand out. Returns its port. */
static inline int raw_peer_start(raw_peer *p, const char *mode, const char *id)
{
	snprintf(p->log_path, sizeof p->log_path, "/tmp/mws-raw-%d.log", (int)getpid());
	unlink(p->log_path);
	const char *const argv[] = {"python3", RAW_PEER, "--mode", mode, "--log", p->log_path,
	                            id ? "--id" : NULL, id, NULL};
	cr_assert_eq(mws_test_peer_start(&p->proc, argv), 0, "raw peer did not start");
	return p->proc.port;
}

/* Stops the peer (if running) and removes its log; for a test's .fini. */
static inline void raw_peer_stop(raw_peer *p)
{
	mws_test_peer_stop(&p->proc);
	if (*p->log_path)
		unlink(p->log_path);
}

/* TCP connections the peer accepted so far. */
static inline int raw_peer_accepts(const raw_peer *p)
{
	FILE *f = fopen(p->log_path, "r");
	if (!f)
		return 0;
	int n = 0;
	char line[32];
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n;
}

#endif
