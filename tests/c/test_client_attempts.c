/* What max_attempts, reconnection off and the restart policy mean on real
 * sockets, counted as connections the server accepted. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "client_harness.h"
#include "raw_peer.h"

static raw_peer raw;

static void fini(void) { raw_peer_stop(&raw); }

/* A port with nothing listening: bound, never listened on, then closed. */
static int dead_port(void)
{
	mws_test_peer p = {0};
	const char *const argv[] = {"python3", RAW_PEER, NULL};
	cr_assert_eq(mws_test_peer_start(&p, argv), 0);
	int port = p.port;
	mws_test_peer_stop(&p);
	return port;
}

static void config(mws_client_config *cfg)
{
	mws_client_config_init(cfg);
	cfg->base_delay_ms = 10;
	cfg->max_delay_ms = 40;
	cfg->restart_spread_ms = 10;
	cfg->heartbeat_mode = MWS_HEARTBEAT_OFF;
}

static mws_client *start(rec *r, int port, const mws_client_config *cfg)
{
	rec_init(r);
	mws_client *c = rec_client_on(r, port, cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

static uint64_t attempts_total(mws_client *c)
{
	mws_client_stats s = {.size = sizeof s};
	mws_client_stats_get(c, &s);
	return s.attempts_total;
}

Test(client_attempts, max_attempts_after_a_cold_connect_is_that_many_attempts)
{
	mws_client_config cfg;
	config(&cfg);
	cfg.max_attempts = 3;
	rec r;
	mws_client *c = start(&r, dead_port(), &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_eq(attempts_total(c), 3);
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, max_attempts_after_a_lost_connection_is_that_many_attempts,
     .fini = fini)
{
	int port = raw_peer_start(&raw, "echo", NULL);
	mws_client_config cfg;
	config(&cfg);
	cfg.max_attempts = 3;
	cfg.min_uptime_ms = 1; /* the connection counts as stable at once */
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	usleep(20000); /* past min_uptime (1 ms): this is the stability being tested */
	mws_test_peer_stop(&raw.proc);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_eq(attempts_total(c), 1 + 3, "the first connection, then 3 attempts");
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, a_server_closing_every_connection_with_1001_is_not_retried_forever,
     .fini = fini)
{
	int port = raw_peer_start(&raw, "close-1001", NULL);
	mws_client_config cfg;
	config(&cfg);
	cfg.max_attempts = 1;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000),
	          "1001 before min_uptime must count toward max_attempts");
	/* The first restart is a server restarting, the second a loop. */
	cr_expect_eq(raw_peer_accepts(&raw), 2);
	cr_expect_eq(attempts_total(c), 2);
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, restarts_before_min_uptime_open_the_breaker, .fini = fini)
{
	int port = raw_peer_start(&raw, "close-1001", NULL);
	mws_client_config cfg;
	config(&cfg);
	cfg.breaker_failures = 4;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "circuit open");
	cr_expect_eq(raw_peer_accepts(&raw), 5, "one free restart, then 4 failures");
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, reconnection_off_makes_exactly_one_connection, .fini = fini)
{
	int port = raw_peer_start(&raw, "close-1001", NULL);
	mws_client_config cfg;
	config(&cfg);
	cfg.no_reconnect = 1;
	cfg.min_uptime_ms = 1;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "reconnection off");
	cr_expect_eq(raw_peer_accepts(&raw), 1);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 0);
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, reconnection_off_makes_one_attempt_when_refused)
{
	mws_client_config cfg;
	config(&cfg);
	cfg.no_reconnect = 1;
	rec r;
	mws_client *c = start(&r, dead_port(), &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_eq(attempts_total(c), 1);
	mws_client_free(c);
	rec_destroy(&r);
}
