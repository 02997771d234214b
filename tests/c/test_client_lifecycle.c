/* What libwebsockets 4.1.6 would get wrong if the client let it, and the
 * client's lifetime on a context: resolving off the I/O thread, no
 * permessage-deflate offered, close frames before the context goes, and
 * no leak over many cycles. */
#include <criterion/criterion.h>

#include "client_harness.h"
#include "io/ctx.h"
#include "py_peer.h"

/* A resolver that holds "slow.test" until the test releases it. */
typedef struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open;
	int asked;
} gate;

static int gated_resolver(const char *host, char *ip, size_t cap, void *arg)
{
	gate *g = arg;
	if (!strcmp(host, "slow.test")) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 20;
		pthread_mutex_lock(&g->lock);
		g->asked = 1;
		pthread_cond_broadcast(&g->cond);
		while (!g->open)
			if (pthread_cond_timedwait(&g->cond, &g->lock, &until))
				break;
		pthread_mutex_unlock(&g->lock);
	}
	snprintf(ip, cap, "127.0.0.1");
	return 0;
}

static bool gate_asked(void *arg)
{
	gate *g = arg;
	pthread_mutex_lock(&g->lock);
	bool asked = g->asked;
	pthread_mutex_unlock(&g->lock);
	return asked;
}

Test(client_lifecycle, slow_resolver_does_not_stall_other_connections, .timeout = 60)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	gate g = {.open = 0};
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws__ctx_set_resolver(ctx, gated_resolver, &g);

	char url[64], slow_url[64];
	url_for_port(url, sizeof url, peer.port);
	snprintf(slow_url, sizeof slow_url, "ws://slow.test:%d/", peer.port);
	rec ra, rb, rs;
	rec_init(&ra);
	rec_init(&rb);
	rec_init(&rs);
	mws_client *a = rec_client(&ra, ctx, url, NULL);
	mws_client_connect(a);
	cr_assert(rec_wait_state(&ra, MWS_STATE_CONNECTED, 5000));

	mws_client *slow = rec_client(&rs, ctx, slow_url, NULL);
	mws_client_connect(slow);
	cr_assert(mws_test_wait_until(gate_asked, &g, 5000), "resolver never asked");

	/* While the name lookup hangs, traffic flows and new connections open. */
	mws_client_send(a, "still here", 10, MWS_MSG_TEXT);
	cr_assert(rec_wait_msgs(&ra, 1, 5000), "an open connection stalled");
	mws_client *b = rec_client(&rb, ctx, url, NULL);
	mws_client_connect(b);
	cr_assert(rec_wait_state(&rb, MWS_STATE_CONNECTED, 5000), "a new connection stalled");
	cr_expect_eq(mws_client_state(slow), MWS_STATE_CONNECTING);

	pthread_mutex_lock(&g.lock);
	g.open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	cr_assert(rec_wait_state(&rs, MWS_STATE_CONNECTED, 5000), "slow name never connected");
	/* The Host header keeps the name, only the socket used the address. */
	mws_client_send(slow, "__headers", 9, MWS_MSG_TEXT);
	cr_assert(rec_wait_msgs(&rs, 1, 5000));
	cr_expect(strstr(rs.msgs[0], "slow.test") != NULL, "headers: %s", rs.msgs[0]);

	mws_client_free(a);
	mws_client_free(b);
	mws_client_free(slow);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
	rec_destroy(&ra);
	rec_destroy(&rb);
	rec_destroy(&rs);
}

Test(client_lifecycle, offers_no_permessage_deflate, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client *c = rec_client(&r, NULL, url, NULL);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	mws_client_send(c, "__headers", 9, MWS_MSG_TEXT);
	cr_assert(rec_wait_msgs(&r, 1, 5000));
	cr_expect(strstr(r.msgs[0], "sec-websocket-key") != NULL ||
	                  strstr(r.msgs[0], "Sec-WebSocket-Key") != NULL,
	          "not a header dump: %s", r.msgs[0]);
	cr_expect(strcasestr(r.msgs[0], "sec-websocket-extensions") == NULL,
	          "client offered an extension: %s", r.msgs[0]);
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	rec_destroy(&r);
}

static bool file_has(void *arg)
{
	const char **what = arg;
	FILE *f = fopen(what[0], "r");
	if (!f)
		return false;
	char line[1024];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, what[1]) != NULL;
	fclose(f);
	return found;
}

Test(client_lifecycle, context_free_sends_close_frames_first, .timeout = 30)
{
	char log[] = "/tmp/mws-peer-log-XXXXXX";
	int fd = mkstemp(log);
	cr_assert_geq(fd, 0);
	close(fd);
	mws_test_peer peer = start_py("--log", log, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	rec r;
	rec_init(&r);
	mws_client *c = rec_client(&r, ctx, url, NULL);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	/* The context goes first; the client handle is freed after it. */
	mws_ctx_free(ctx);
	cr_expect_eq(r.state_now, MWS_STATE_CLOSED);
	const char *what[2] = {log, "1001"};
	cr_expect(mws_test_wait_until(file_has, what, 5000),
	          "the server never saw a 1001 close frame");
	mws_test_peer_stop(&peer);
	unlink(log);
	rec_destroy(&r);
}

/* No more descriptors open than *before. */
static bool fds_back_to(void *before)
{
	return mws_test_count_fds() <= *(int *)before;
}

Test(client_lifecycle, thousand_connect_cycles_leave_no_descriptor_behind, .timeout = 240)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	int fds_before = -1;
	for (int i = 0; i < 1000; i++) {
		rec r;
		rec_init(&r);
		mws_client *c = rec_client(&r, ctx, url, NULL);
		cr_assert_not_null(c);
		mws_client_connect(c);
		cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000), "cycle %d", i);
		mws_client_free(c);
		rec_destroy(&r);
		if (i == 9)
			fds_before = mws_test_count_fds(); /* after warm-up */
	}
	/* The last sockets finish their close handshakes asynchronously. */
	mws_test_wait_until(fds_back_to, &fds_before, 3000);
	int fds_after = mws_test_count_fds();
	cr_expect_leq(fds_after, fds_before, "descriptors grew from %d to %d", fds_before,
	              fds_after);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
}

/* ---- wss: a CA file, hostname checks, the insecure switch ---- */

static void echo_back(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                      int type, void *ud)
{
	(void)ud;
	mws_server_send(srv, id, data, len, type);
}

static int to_loopback(const char *host, char *ip, size_t cap, void *arg)
{
	(void)host, (void)arg;
	snprintf(ip, cap, "127.0.0.1");
	return 0;
}

/* A certificate for the name "mws.test", which is also its own CA. */
static void make_cert(char *dir, char *cert, char *key)
{
	cr_assert_not_null(mkdtemp(dir));
	sprintf(cert, "%s/cert.pem", dir);
	sprintf(key, "%s/key.pem", dir);
	char cmd[600];
	snprintf(cmd, sizeof cmd,
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-keyout %s -out %s -days 1 -subj /CN=mws.test "
	         "-addext subjectAltName=DNS:mws.test >/dev/null 2>&1",
	         key, cert);
	cr_assert_eq(system(cmd), 0, "openssl could not make a certificate");
}

static int tls_client_reaches(mws_ctx *ctx, const char *url, const char *ca, int insecure,
                              rec *r)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.ca_file = ca;
	cfg.insecure = insecure;
	cfg.base_delay_ms = 200;
	mws_client *c = rec_client(r, ctx, url, &cfg);
	cr_assert_not_null(c);
	mws_client_connect(c);
	int ok = rec_wait_state(r, MWS_STATE_CONNECTED, 3000);
	if (ok) {
		mws_client_send(c, "over tls", 8, MWS_MSG_TEXT);
		ok = rec_wait_msgs(r, 1, 3000) && !strcmp(r->msgs[0], "over tls");
	}
	mws_client_free(c);
	return ok;
}

Test(client_lifecycle, wss_trusts_its_ca_file_and_checks_the_name, .timeout = 60)
{
	char dir[] = "/tmp/mws-ca-XXXXXX", cert[80], key[80];
	make_cert(dir, cert, key);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws__ctx_set_resolver(ctx, to_loopback, NULL);
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.iface = "127.0.0.1";
	scfg.cert_file = cert;
	scfg.key_file = key;
	mws_server *srv;
	cr_assert_eq(mws_server_new(&srv, ctx, &scfg), 0);
	mws_server_callbacks scbs = {sizeof scbs, NULL, NULL, echo_back, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &scbs, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	char by_name[64], by_ip[64];
	snprintf(by_name, sizeof by_name, "wss://mws.test:%d/", mws_server_port(srv));
	snprintf(by_ip, sizeof by_ip, "wss://127.0.0.1:%d/", mws_server_port(srv));

	rec r1, r2, r3, r4;
	rec_init(&r1), rec_init(&r2), rec_init(&r3), rec_init(&r4);
	cr_expect(tls_client_reaches(ctx, by_name, cert, 0, &r1), "trusted CA and name");
	cr_expect_not(tls_client_reaches(ctx, by_name, NULL, 0, &r2),
	              "an untrusted certificate was accepted");
	cr_expect_geq(rec_count_to(&r2, MWS_STATE_RECONNECTING), 1,
	              "a TLS failure is retried like any other network failure");
	cr_expect_not(tls_client_reaches(ctx, by_ip, cert, 0, &r3),
	              "a certificate for another name was accepted");
	cr_expect(tls_client_reaches(ctx, by_ip, NULL, 1, &r4), "insecure accepts anything");

	mws_server_free(srv);
	mws_ctx_free(ctx);
	rec_destroy(&r1), rec_destroy(&r2), rec_destroy(&r3), rec_destroy(&r4);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* ---- the send path wakes the I/O thread once per burst ---- */

static int hold_attempt(mws_client *c, mws_credentials *creds, void *ud)
{
	(void)c, (void)creds;
	gate *g = ud;
	pthread_mutex_lock(&g->lock);
	g->asked = 1;
	pthread_cond_broadcast(&g->cond);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	while (!g->open)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &until))
			break;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static int echoes;
static void count_echo(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	(void)c, (void)d, (void)n, (void)t, (void)ud;
	__atomic_add_fetch(&echoes, 1, __ATOMIC_SEQ_CST);
}

static bool all_echoed(void *arg) { return __atomic_load_n(&echoes, __ATOMIC_SEQ_CST) >= *(int *)arg; }

Test(client_lifecycle, a_burst_of_sends_wakes_the_io_thread_once, .timeout = 30)
{
	mws_test_peer peer = start_py(NULL, NULL, NULL);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	gate g = {.open = 0};
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, ctx, url, NULL), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, count_echo, hold_attempt};
	mws_client_set_callbacks(c, &cbs, &g, NULL);
	mws_client_connect(c);
	/* The I/O thread now sits in the credentials hook: nothing drains. */
	cr_assert(mws_test_wait_until(gate_asked, &g, 5000));
	uint64_t before = atomic_load(&ctx->wakes);
	enum { BURST = 1000 };
	for (int i = 0; i < BURST; i++)
		cr_assert_eq(mws_client_send(c, "burst", 5, MWS_MSG_TEXT), 0);
	uint64_t woken = atomic_load(&ctx->wakes) - before;
	/* At most one: 0 when the connect command's own wake was still pending
	 * as the hook began (that wake then drains the burst); never one per
	 * message. Delivery of the whole burst is checked below. */
	cr_expect_leq(woken, 1, "%llu wakes for one burst of %d", (unsigned long long)woken,
	              BURST);
	pthread_mutex_lock(&g.lock);
	g.open = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	int want = BURST;
	cr_expect(mws_test_wait_until(all_echoed, &want, 10000), "%d of %d echoed", echoes, BURST);
	mws_client_free(c);
	mws_ctx_free(ctx);
	mws_test_peer_stop(&peer);
}

/* ---- the JSON protocol's connection id ---- */

Test(client_lifecycle, json_heartbeats_carry_the_servers_connection_id, .timeout = 30)
{
	char log[] = "/tmp/mws-peer-log-XXXXXX";
	int fd = mkstemp(log);
	cr_assert_geq(fd, 0);
	close(fd);
	const char *argv[] = {"python3", PY_PEER, "--json-heartbeat", "--connection-ack",
	                      "--log", log, NULL};
	mws_test_peer peer;
	cr_assert_eq(mws_test_peer_start(&peer, argv), 0);
	char url[64];
	url_for_port(url, sizeof url, peer.port);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_JSON;
	cfg.heartbeat_interval_ms = 200;
	mws_client *c = rec_client(&r, NULL, url, &cfg);
	mws_client_connect(c);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 5000));
	/* connectionId 7001 is the peer's (first connection), never ours (1). */
	const char *what[2] = {log, "connectionId\\\":7001"};
	cr_expect(mws_test_wait_until(file_has, what, 5000),
	          "no heartbeat carried the server's connection id");
	cr_expect_eq(r.nmsgs, 0, "connection_ack and heartbeat_ack reached the application");
	mws_client_free(c);
	mws_test_peer_stop(&peer);
	unlink(log);
	rec_destroy(&r);
}
