/* Helpers of the client tests that run against the Python peer and the
 * fault proxy: fast timings, a connected client, a URL that refuses. */
#ifndef MWS_TEST_CLIENT_PY_PROXY_H
#define MWS_TEST_CLIENT_PY_PROXY_H

#include "client_harness.h"
#include "fault_proxy.h"
#include "py_peer.h"
#include "test_timing.h"

/* Fast timings so failures show within seconds. */
static inline mws_client_config fast_config(void)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 400;
	cfg.restart_spread_ms = 300;
	cfg.connect_timeout_ms = 2000;
	cfg.handshake_timeout_ms = 2000;
	cfg.random_seed = 42;
	return cfg;
}

/* Starts the Python peer and a client of ours connected to it. */
static inline mws_client *connect_to_py(mws_test_peer *peer, rec *r,
                                        mws_client_config cfg)
{
	*peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer->port);
	rec_init(r);
	mws_client *c = rec_client(r, NULL, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(r, MWS_STATE_CONNECTED, 5000), "never connected");
	return c;
}

static inline void finish(mws_client *c, mws_test_peer *peer, rec *r)
{
	mws_client_free(c);
	mws_test_peer_stop(peer);
	rec_destroy(r);
}

/* A proxy that refuses every connection: a URL where each attempt fails. */
static inline mws_fault_proxy *refusing_proxy(char *url, size_t cap)
{
	mws_fault_proxy *proxy;
	/* Upstream port 1 on loopback: nothing listens there. */
	cr_assert_eq(mws_fault_proxy_start(&proxy, "127.0.0.1", 0, "127.0.0.1", 1), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(proxy, MWS_FAULT_REFUSE, 0), 0);
	url_for_port(url, cap, mws_fault_proxy_port(proxy));
	return proxy;
}

static inline void send_text(mws_client *c, const char *text)
{
	cr_assert_eq(mws_client_send(c, text, strlen(text), MWS_MSG_TEXT), 0, "send %s",
	             text);
}

#endif
