/* What max_attempts, reconnection off and the restart policy mean on real
 * sockets, counted as connections the server accepted. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "client_harness.h"

#define RAW_PEER MWS_SOURCE_DIR "/tests/peers/raw_ws_peer.py"

static mws_test_peer peer;
static char log_path[64];

static void fini(void)
{
	mws_test_peer_stop(&peer);
	if (*log_path)
		unlink(log_path);
}

static int start_raw(const char *mode)
{
	snprintf(log_path, sizeof log_path, "/tmp/mws-att-%d.log", (int)getpid());
	unlink(log_path);
	const char *const argv[] = {"python3", RAW_PEER, "--mode", mode, "--log", log_path,
	                            NULL};
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0, "raw peer did not start");
	return peer.port;
}

static int accepts(void)
{
	FILE *f = fopen(log_path, "r");
	if (!f)
		return 0;
	int n = 0;
	char line[32];
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n;
}

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
	char url[64];
	url_for_port(url, sizeof url, port);
	rec_init(r);
	mws_client *c = rec_client(r, NULL, url, cfg);
	cr_assert_not_null(c);
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
	int port = start_raw("echo");
	mws_client_config cfg;
	config(&cfg);
	cfg.max_attempts = 3;
	cfg.min_uptime_ms = 1; /* the connection counts as stable at once */
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	usleep(20000); /* past min_uptime (1 ms): this is the stability being tested */
	mws_test_peer_stop(&peer);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_eq(attempts_total(c), 1 + 3, "the first connection, then 3 attempts");
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, a_server_closing_every_connection_with_1001_is_not_retried_forever,
     .fini = fini)
{
	int port = start_raw("close-1001");
	mws_client_config cfg;
	config(&cfg);
	cfg.max_attempts = 1;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000),
	          "1001 before min_uptime must count toward max_attempts");
	/* The first restart is a server restarting, the second a loop. */
	cr_expect_eq(accepts(), 2);
	cr_expect_eq(attempts_total(c), 2);
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, restarts_before_min_uptime_open_the_breaker, .fini = fini)
{
	int port = start_raw("close-1001");
	mws_client_config cfg;
	config(&cfg);
	cfg.breaker_failures = 4;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "circuit open");
	cr_expect_eq(accepts(), 5, "one free restart, then 4 failures");
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_attempts, reconnection_off_makes_exactly_one_connection, .fini = fini)
{
	int port = start_raw("close-1001");
	mws_client_config cfg;
	config(&cfg);
	cfg.no_reconnect = 1;
	cfg.min_uptime_ms = 1;
	rec r;
	mws_client *c = start(&r, port, &cfg);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000));
	cr_expect_str_eq(rec_last_to(&r, MWS_STATE_FAILED)->reason, "reconnection off");
	cr_expect_eq(accepts(), 1);
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
