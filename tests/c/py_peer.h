/* The client tests' Python `websockets` server, tests/peers/py_ws_server.py. */
#ifndef MWS_TEST_PY_PEER_H
#define MWS_TEST_PY_PEER_H

#include <criterion/criterion.h>

#include "peer.h"

#define PY_PEER MWS_SOURCE_DIR "/tests/peers/py_ws_server.py"

/* Starts the peer with up to three arguments (the first NULL ends them). */
static inline mws_test_peer start_py(const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = {"python3", PY_PEER, a1, a2, a3, NULL};
	mws_test_peer p;
	cr_assert_eq(mws_test_peer_start(&p, argv), 0, "python peer did not start");
	return p;
}

#endif
