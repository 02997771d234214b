/* Chaos soak of mws.v1: tens of thousands of numbered messages each way
 * between our client and our server, through the fault proxy, while the
 * proxy resets connections, blackholes them (zombies the heartbeat must
 * catch), delays them, and the server is replaced by a graceful restart.
 * Both applications check what they receive: every number exactly once, in
 * order. Resets, blackholes and delays must cost nothing (the session
 * resumes). A graceful restart loses the session (the store is in memory):
 * the client reports it, re-sends what the old server had not
 * acknowledged, and the new server may see those again: duplicates are
 * allowed up to the number the library reported as re-sent, no more.
 *
 * MWS_SOAK_SECONDS (default 40) sets how long faults are injected;
 * scripts/soak.sh runs this binary for minutes and prints the totals. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "managedws.h"
#include "peer.h"
#include "test_timing.h"

enum {
	MSG_BYTES = 64,         /* a number and filler: the size of a small event */
	BURST = 20,             /* messages each way per 10 ms tick: 2000/s */
	PHASE_MS = 2500,        /* one fault per phase */
	SETTLE_MS = 30000 * MWS_TEST_SLOWDOWN, /* the end: everything must arrive within this */
	/* At least this many each way in the default 40 s: "tens of thousands"
	 * (a plain build sends ~2000/s; a sanitizer build is slower). */
	MIN_EACH_WAY = 20000 / MWS_TEST_SLOWDOWN,
};

/* One direction's receiver: what arrived, checked against the numbering. */
typedef struct checker {
	atomic_uint_least64_t last;      /* highest number delivered in order */
	atomic_uint_least64_t delivered; /* in order, first time */
	atomic_uint_least64_t dups;      /* a number at or below last */
	atomic_uint_least64_t gaps;      /* a number past last + 1: lost or reordered */
} checker;

static void check_number(checker *k, uint64_t n)
{
	uint64_t last = atomic_load(&k->last);
	if (n == last + 1) {
		atomic_store(&k->last, n);
		atomic_fetch_add(&k->delivered, 1);
	} else if (n <= last) {
		atomic_fetch_add(&k->dups, 1);
	} else {
		atomic_fetch_add(&k->gaps, 1);
		atomic_store(&k->last, n);
	}
}

static uint64_t decode(const void *data, size_t len)
{
	uint64_t n = 0;
	if (len == MSG_BYTES)
		memcpy(&n, data, sizeof n);
	return n;
}

static void encode(unsigned char *buf, uint64_t n)
{
	memset(buf, 0xab, MSG_BYTES);
	memcpy(buf, &n, sizeof n);
}

typedef struct soak {
	checker at_server, at_client;
	atomic_uint_least64_t cur_id;           /* the client's session at the server */
	atomic_int connects, suspended, resumed_srv, bad_size;
	atomic_int started, resumed, lost;
	atomic_uint_least64_t reported_resent;  /* re-sent after losses, as reported */
	/* The server the proxy leads to; ids of two servers may be equal, so
	 * the callbacks of an old one must not touch cur_id. */
	_Atomic(mws_server *) live;
	mws_server *srv;
	mws_fault_proxy *proxy;
	mws_client *client;
	uint64_t client_sent, server_sent;      /* numbers accepted by a send */
	int restarts, resets, blackholes, delays;
} soak;

static soak S;

static void on_srv_connect(mws_server *s, mws_conn_id id, const mws_conn_info *info, void *ud)
{
	(void)info;
	soak *k = ud;
	if (s == atomic_load(&k->live))
		atomic_store(&k->cur_id, id);
	atomic_fetch_add(&k->connects, 1);
}

static void on_srv_message(mws_server *s, mws_conn_id id, const void *data, size_t len,
                           int type, void *ud)
{
	(void)s;
	(void)id;
	(void)type;
	soak *k = ud;
	uint64_t n = decode(data, len);
	if (!n)
		atomic_fetch_add(&k->bad_size, 1);
	else
		check_number(&k->at_server, n);
}

static void on_srv_disconnect(mws_server *s, mws_conn_id id, int code, const char *reason,
                              int why, void *ud)
{
	(void)code;
	(void)reason;
	(void)why;
	soak *k = ud;
	uint64_t cur = id;
	if (s == atomic_load(&k->live))
		atomic_compare_exchange_strong(&k->cur_id, &cur, 0);
}

static void on_srv_session(mws_server *s, mws_conn_id id, int event, void *ud)
{
	(void)s;
	(void)id;
	soak *k = ud;
	if (event == MWS_SESSION_SUSPENDED)
		atomic_fetch_add(&k->suspended, 1);
	else if (event == MWS_SESSION_RESUMED)
		atomic_fetch_add(&k->resumed_srv, 1);
}

static void on_cli_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	(void)ch;
	(void)ud;
}

static void on_cli_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)type;
	soak *k = ud;
	uint64_t n = decode(data, len);
	if (!n)
		atomic_fetch_add(&k->bad_size, 1);
	else
		check_number(&k->at_client, n);
}

static void on_cli_session(mws_client *c, const mws_session_info *info, void *ud)
{
	(void)c;
	soak *k = ud;
	if (info->event == MWS_SESSION_STARTED)
		atomic_fetch_add(&k->started, 1);
	else if (info->event == MWS_SESSION_RESUMED)
		atomic_fetch_add(&k->resumed, 1);
	else if (info->event == MWS_SESSION_LOST) {
		atomic_fetch_add(&k->lost, 1);
		atomic_fetch_add(&k->reported_resent, info->resent);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static mws_server *server_start(soak *k)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	cfg.rate_per_sec = -1;             /* the soak reconnects often on purpose */
	cfg.heartbeat_timeout_ms = 3000;   /* reaps the zombies the blackhole leaves */
	cfg.check_interval_ms = 250;
	cfg.session_max_messages = 8192;
	cfg.session_max_bytes = 8u << 20;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, NULL, &cfg), 0);
	atomic_store(&k->live, srv); /* before it can call back */
	mws_server_callbacks cbs = {.size = sizeof cbs, .on_connect = on_srv_connect,
	                            .on_message = on_srv_message,
	                            .on_disconnect = on_srv_disconnect,
	                            .on_session = on_srv_session};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, k, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	return srv;
}

/* Sends up to BURST numbered messages each way; a full queue is not an
 * error: the same number is tried again on the next tick. */
static void pump(soak *k)
{
	unsigned char buf[MSG_BYTES];
	for (int i = 0; i < BURST; i++) {
		encode(buf, k->client_sent + 1);
		int rc = mws_client_send(k->client, buf, sizeof buf, MWS_MSG_BINARY);
		if (rc == MWS_EQUEUEFULL)
			break;
		cr_assert_eq(rc, 0, "client send: %s", mws_strerror(rc));
		k->client_sent++;
	}
	uint64_t id = atomic_load(&k->cur_id);
	for (int i = 0; id && i < BURST; i++) {
		encode(buf, k->server_sent + 1);
		int rc = mws_server_send(k->srv, id, buf, sizeof buf, MWS_MSG_BINARY);
		if (rc == MWS_EQUEUEFULL || rc == MWS_ECLOSED)
			break; /* full, or the session just ended: again later */
		cr_assert_eq(rc, 0, "server send: %s", mws_strerror(rc));
		k->server_sent++;
	}
}

static void pump_for(soak *k, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	while (now_ms() < end) {
		pump(k);
		sleep_ms(10);
	}
}

/* A new server behind the proxy; the old one shuts down gracefully (goaway,
 * 1012) and is freed: its sessions are lost. The server side stops sending
 * to the old session first; what it had accepted goes out before the close. */
static void graceful_restart(soak *k)
{
	mws_server *old = k->srv;
	atomic_store(&k->cur_id, 0);
	k->srv = server_start(k);
	cr_assert_eq(mws_fault_proxy_set_upstream(k->proxy, "127.0.0.1", mws_server_port(k->srv)),
	             0);
	mws_server_shutdown(old, 1012, 0, 2000);
	mws_server_free(old);
	k->restarts++;
}

static void fault(soak *k, int phase)
{
	switch (phase % 6) {
	case 0:
	case 3:
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_RESET, 0), 0);
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_PASS, 0), 0);
		k->resets++;
		pump_for(k, PHASE_MS);
		break;
	case 1:
	case 4:
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_BLACKHOLE, 0), 0);
		pump_for(k, 1200);
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_PASS, 0), 0);
		k->blackholes++;
		pump_for(k, PHASE_MS - 1200);
		break;
	case 2:
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_DELAY, 40), 0);
		pump_for(k, 1500);
		cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_PASS, 0), 0);
		k->delays++;
		pump_for(k, PHASE_MS - 1500);
		break;
	default:
		graceful_restart(k);
		pump_for(k, PHASE_MS);
	}
}

static int soak_seconds(void)
{
	const char *e = getenv("MWS_SOAK_SECONDS");
	int s = e ? atoi(e) : 40;
	return s > 0 ? s : 40;
}

static bool settled(void *arg)
{
	soak *k = arg;
	return atomic_load(&k->at_server.last) >= k->client_sent &&
	       atomic_load(&k->at_client.last) >= k->server_sent;
}

Test(v1_soak, nothing_lost_duplicated_or_reordered_under_chaos, .timeout = 0)
{
	soak *k = &S;
	k->srv = server_start(k);
	cr_assert_eq(mws_fault_proxy_start(&k->proxy, "127.0.0.1", 0, "127.0.0.1",
	                                   mws_server_port(k->srv)), 0);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_fault_proxy_port(k->proxy));
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.protocol_mode = MWS_PROTOCOL_REQUIRE;
	cfg.heartbeat_interval_ms = 250;
	cfg.heartbeat_timeout_ms = 250;
	cfg.base_delay_ms = 20;
	cfg.max_delay_ms = 200;
	cfg.restart_spread_ms = 50;
	cfg.connect_timeout_ms = 1000;
	cfg.handshake_timeout_ms = 1000;
	cfg.queue_max_messages = 8192;
	cfg.queue_max_bytes = 8u << 20;
	cr_assert_eq(mws_client_new(&k->client, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {.size = sizeof cbs, .on_state = on_cli_state,
	                            .on_message = on_cli_message,
	                            .on_session = on_cli_session};
	cr_assert_eq(mws_client_set_callbacks(k->client, &cbs, k, NULL), 0);
	cr_assert_eq(mws_client_connect(k->client), 0);

	uint64_t end = now_ms() + (uint64_t)soak_seconds() * 1000u;
	pump_for(k, 500);
	for (int phase = 0; now_ms() < end; phase++)
		fault(k, phase);
	cr_assert_eq(mws_fault_proxy_set_mode(k->proxy, MWS_FAULT_PASS, 0), 0);

	/* Everything accepted must arrive. */
	mws_test_wait_until(settled, k, SETTLE_MS);

	mws_client_stats cs = {.size = sizeof cs};
	mws_client_stats_get(k->client, &cs);
	fprintf(stderr,
	        "soak: %d s, faults: %d resets, %d blackholes, %d delays, %d graceful restarts\n"
	        "soak: client -> server: %" PRIu64 " sent, %" PRIu64 " delivered in order, "
	        "%" PRIu64 " gaps, %" PRIu64 " duplicates (re-sent after a lost session, "
	        "reported: %" PRIu64 ")\n"
	        "soak: server -> client: %" PRIu64 " sent, %" PRIu64 " delivered in order, "
	        "%" PRIu64 " gaps, %" PRIu64 " duplicates\n"
	        "soak: sessions: %d started, %d resumed, %d lost; server: %d suspended, %d resumed; "
	        "client replayed %" PRIu64 ", dropped %" PRIu64 " duplicates, %" PRIu64
	        " batches, %" PRIu64 " protocol errors\n",
	        soak_seconds(), k->resets, k->blackholes, k->delays, k->restarts, k->client_sent,
	        (uint64_t)atomic_load(&k->at_server.delivered),
	        (uint64_t)atomic_load(&k->at_server.gaps), (uint64_t)atomic_load(&k->at_server.dups),
	        (uint64_t)atomic_load(&k->reported_resent), k->server_sent,
	        (uint64_t)atomic_load(&k->at_client.delivered),
	        (uint64_t)atomic_load(&k->at_client.gaps), (uint64_t)atomic_load(&k->at_client.dups),
	        atomic_load(&k->started), atomic_load(&k->resumed), atomic_load(&k->lost),
	        atomic_load(&k->suspended), atomic_load(&k->resumed_srv), cs.replayed,
	        cs.duplicates_dropped, cs.batches_out, cs.protocol_errors);

	cr_expect(settled(k), "not everything arrived within %d ms", SETTLE_MS);
	cr_expect_eq(atomic_load(&k->bad_size), 0);
	cr_expect_eq(atomic_load(&k->at_server.gaps), 0, "client -> server: lost or reordered");
	cr_expect_eq(atomic_load(&k->at_client.gaps), 0, "server -> client: lost or reordered");
	cr_expect_eq(atomic_load(&k->at_client.dups), 0, "server -> client: duplicated");
	cr_expect_leq(atomic_load(&k->at_server.dups), atomic_load(&k->reported_resent),
	              "client -> server: more duplicates than the library reported as re-sent");
	cr_expect_eq(atomic_load(&k->at_server.delivered), k->client_sent);
	cr_expect_eq(atomic_load(&k->at_client.delivered), k->server_sent);
	cr_expect_eq(atomic_load(&k->lost), k->restarts, "one lost session per restart");
	cr_expect_eq(cs.protocol_errors, 0);
	if (soak_seconds() >= 40) {
		cr_expect_geq(k->client_sent, (uint64_t)MIN_EACH_WAY);
		cr_expect_geq(k->server_sent, (uint64_t)MIN_EACH_WAY);
	}

	mws_client_close(k->client, 1000, NULL);
	mws_client_free(k->client);
	mws_fault_proxy_stop(k->proxy);
	mws_server_free(k->srv);
}
