/* A real browser against our server: headless Chromium's native WebSocket
 * speaking the JSON heartbeat protocol. Its own binary: one heavy test,
 * never run beside another (Criterion 2.4.1's runner leaked 48 bytes under
 * ASan when it ran in parallel with other tests here). */
#include "json_peers.h"

Test(server_browser, headless_chromium_native_websocket_gets_ack_heartbeats_and_echo,
     .timeout = 90)
{
	mws_ctx *ctx;
	rec r;
	mws_server *srv = json_server(&ctx, &r, NULL);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/browser", mws_server_port(srv));
	const char *const argv[] = {"node", PEERS "browser_client.mjs", url, NULL};
	cJSON *j = run_json(argv, 60000);
	expect_protocol_ok(j);
	cr_expect_eq(json_num(j, "close_code"), 1000);
	/* the server saw the page's origin, as a browser sends it */
	const cJSON *po = cJSON_GetObjectItemCaseSensitive(j, "page_origin");
	cr_assert(cJSON_IsString(po));
	pthread_mutex_lock(&r.lock);
	cr_expect_str_eq(r.last_origin, po->valuestring);
	pthread_mutex_unlock(&r.lock);
	cJSON_Delete(j);
	cr_assert(wait_at_least(&r.disconnects, 1, 5000));
	cr_expect_eq(rec_disc(&r, 0).code, 1000);
	cr_expect_str_eq(rec_disc(&r, 0).reason, "browser done");
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_expect_eq(st.refused_total, 0);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

