/* The client against a hand-written raw-socket server (tests/peers/
 * raw_ws_peer.py) doing what real servers do: empty fragments, a strict Host
 * check, 400 refusals, JSON connection ids of either type, 1001 on every
 * connection; and close() followed by send(). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include "client_harness.h"
#include "raw_peer.h"

static raw_peer raw;

static void fini(void) { raw_peer_stop(&raw); }

static void fast_retries(mws_client_config *cfg)
{
	mws_client_config_init(cfg);
	cfg->base_delay_ms = 20;
	cfg->max_delay_ms = 50;
	cfg->restart_spread_ms = 20;
	cfg->heartbeat_mode = MWS_HEARTBEAT_OFF;
}

/* ---- empty fragments ---- */

static atomic_int null_msgs;
static void on_msg_checking_null(mws_client *c, const void *data, size_t len, int type,
                                 void *ud)
{
	if (!data)
		atomic_fetch_add(&null_msgs, 1);
	rec_on_message(c, data ? data : "", len, type, ud);
}

Test(client_conformance, a_message_of_empty_fragments_arrives_as_an_empty_message,
     .fini = fini)
{
	int port = raw_peer_start(&raw, "empty-fragments", NULL);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	fast_retries(&cfg);
	char url[64];
	url_for_port(url, sizeof url, port);
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, rec_on_state, on_msg_checking_null, NULL};
	mws_client_set_callbacks(c, &cbs, &r, NULL);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 3, 10000), "got %d messages", r.nmsgs);
	cr_expect_eq(atomic_load(&null_msgs), 0, "an empty message came with data == NULL");
	cr_expect_eq(r.msg_lens[0], 0);
	cr_expect_eq(r.msg_types[0], MWS_MSG_TEXT);
	cr_expect_eq(r.msg_lens[1], 0);
	cr_expect_eq(r.msg_types[1], MWS_MSG_BINARY);
	cr_expect_str_eq(r.msgs[2], "done");
	mws_client_free(c);
	rec_destroy(&r);
}

/* ---- Host header and refusals ---- */

Test(client_conformance, host_header_carries_a_non_default_port, .fini = fini)
{
	int port = raw_peer_start(&raw, "strict-host", NULL);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	fast_retries(&cfg);
	cfg.max_attempts = 3;
	mws_client *c = rec_client_on(&r, port, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 1, 10000), "no greeting: the strict server refused us");
	char want[64];
	snprintf(want, sizeof want, "host=127.0.0.1:%d", port);
	cr_expect_str_eq(r.msgs[0], want);
	mws_client_free(c);
	rec_destroy(&r);
}

static char seen_host[128];
static atomic_int host_seen;
static int auth_reads_host(mws_server *srv, const mws_conn_info *info, void *ud)
{
	(void)srv, (void)ud;
	mws_conn_info_header(info, "Host", seen_host, sizeof seen_host);
	atomic_store(&host_seen, 1);
	return 0;
}

Test(client_conformance, our_server_sees_the_port_in_the_host_header)
{
	mws_server_config scfg;
	mws_server_config_init(&scfg);
	scfg.iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, NULL, &scfg), 0);
	mws_server_callbacks scbs = {sizeof scbs, auth_reads_host, NULL, NULL, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &scbs, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	fast_retries(&cfg);
	mws_client *c = rec_client_on(&r, mws_server_port(srv), &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
	char want[64];
	snprintf(want, sizeof want, "127.0.0.1:%d", mws_server_port(srv));
	cr_assert(atomic_load(&host_seen));
	cr_expect_str_eq(seen_host, want);
	mws_client_free(c);
	mws_server_free(srv);
	rec_destroy(&r);
}

Test(client_conformance, handshake_400_fails_without_retrying, .fini = fini)
{
	int port = raw_peer_start(&raw, "reject-400", NULL);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	fast_retries(&cfg);
	mws_client *c = rec_client_on(&r, port, &cfg);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_state(&r, MWS_STATE_FAILED, 10000), "a 400 must not be retried");
	rec_state *s = rec_last_to(&r, MWS_STATE_FAILED);
	cr_expect(strstr(s->reason, "400") != NULL, "reason: %s", s->reason);
	cr_expect_eq(raw_peer_accepts(&raw), 1);
	cr_expect_eq(rec_count_to(&r, MWS_STATE_RECONNECTING), 0);
	mws_client_free(c);
	rec_destroy(&r);
}

/* ---- JSON heartbeat ids ---- */

static void check_id_echoed(const char *mode, const char *id, const char *want_json)
{
	int port = raw_peer_start(&raw, mode, id);
	rec r;
	rec_init(&r);
	mws_client_config cfg;
	fast_retries(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_JSON;
	cfg.heartbeat_interval_ms = 100;
	cfg.heartbeat_timeout_ms = 5000;
	mws_client *c = rec_client_on(&r, port, &cfg);
	char buf[64];
	cr_expect_eq(mws_client_server_connection_id(c, buf, sizeof buf), 0, "none yet");
	cr_expect_eq(mws_client_server_connection_id(c, NULL, 8), MWS_EINVAL);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait_msgs(&r, 1, 10000), "no heartbeat reached the peer");
	cr_expect_eq(strncmp(r.msgs[0], "seen:", 5), 0, "%s", r.msgs[0]);

	cJSON *hb = cJSON_Parse(r.msgs[0] + 5);
	cr_assert_not_null(hb, "%s", r.msgs[0]);
	/* The raw text, not cJSON's reprint: the id must be the server's bytes. */
	char want[128];
	snprintf(want, sizeof want, "\"connectionId\":%s}", want_json);
	cr_expect(strstr(r.msgs[0], want) != NULL, "want %s in %s", want, r.msgs[0]);
	double ts = cJSON_GetNumberValue(cJSON_GetObjectItem(hb, "timestamp"));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	double now_ms = (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
	cr_expect(ts > now_ms - 60000 && ts <= now_ms + 1000,
	          "timestamp %.0f is not Unix epoch ms (now %.0f)", ts, now_ms);
	cJSON_Delete(hb);

	int n = mws_client_server_connection_id(c, buf, sizeof buf);
	cr_expect_eq(n, (int)strlen(id));
	cr_expect_str_eq(buf, id);
	cr_expect_eq(mws_client_server_connection_id(c, buf, strlen(id)), MWS_ETOOBIG);
	mws_client_free(c);
	rec_destroy(&r);
}

Test(client_conformance, json_heartbeat_sends_back_a_string_id_verbatim, .fini = fini)
{
	check_id_echoed("ack-string", "conn-\"42\"", "\"conn-\\\"42\\\"\"");
}

Test(client_conformance, json_heartbeat_sends_back_a_numeric_id_as_a_number, .fini = fini)
{
	check_id_echoed("ack-number", "9007199254740991", "9007199254740991");
}

/* ---- close, then send ---- */

Test(client_conformance, send_after_close_returned_fails_with_eclosed, .fini = fini)
{
	int port = raw_peer_start(&raw, "echo", NULL);
	for (int round = 0; round < 20; round++) {
		rec r;
		rec_init(&r);
		mws_client_config cfg;
		fast_retries(&cfg);
		mws_client *c = rec_client_on(&r, port, &cfg);
		if (round % 2) {
			cr_assert_eq(mws_client_connect(c), 0);
			cr_assert(rec_wait_state(&r, MWS_STATE_CONNECTED, 10000));
		}
		cr_assert_eq(mws_client_close(c, 1000, "bye"), 0);
		for (int i = 0; i < 50; i++)
			cr_assert_eq(mws_client_send(c, "late", 4, MWS_MSG_TEXT), MWS_ECLOSED,
			             "round %d send %d accepted after close()", round, i);
		cr_expect_eq(mws_client_connect(c), MWS_ECLOSED);
		cr_expect_eq(mws_client_close(c, 1000, NULL), MWS_ECLOSED);
		mws_client_free(c);
		rec_destroy(&r);
	}
}
