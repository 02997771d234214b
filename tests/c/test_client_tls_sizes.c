/* The client frames and masks every data frame itself, batches and
 * fragments alike; under TLS a batch stays within 4 KiB and a fragment
 * within 16 KiB. Messages of every size, around those edges, reach our TLS
 * server whole and in order. (An echo of all of them from on_message does
 * not fit the server's per-connection send queue: mws_server_send refuses
 * the rest with MWS_EQUEUEFULL, as it should.) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "server_common.h"

static const size_t sizes[] = {1, 125, 4000, 4090, 4096, 4100, 8000, 16000, 16384, 20000, 70000,
                               200000, 2};
enum { N = sizeof sizes / sizeof sizes[0], ROUNDS = 4, TOTAL = N * ROUNDS };

static unsigned char byte_at(int m, size_t j) { return (unsigned char)(m * 37 + (int)(j * 13) + (int)(j >> 9)); }

typedef struct tls_sizes {
	atomic_int received, errors;
} tls_sizes;

static void on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                       int type, void *ud)
{
	(void)srv, (void)id;
	tls_sizes *t = ud;
	int m = atomic_load(&t->received);
	const unsigned char *p = data;
	int bad = type != MWS_MSG_BINARY || len != sizes[m % N];
	for (size_t j = 0; !bad && j < len; j++)
		bad = p[j] != byte_at(m, j);
	if (bad)
		atomic_fetch_add(&t->errors, 1);
	atomic_fetch_add(&t->received, 1);
}

Test(client_tls_sizes, every_size_comes_back_whole_and_in_order, .timeout = 60)
{
	test_cert tc;
	test_cert_make(&tc);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	tls_sizes t = {0};
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.cert_file = tc.cert;
	cfg.key_file = tc.key;
	cfg.iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks scb = {sizeof scb, NULL, NULL, on_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &scb, &t, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);
	char url[64];
	snprintf(url, sizeof url, "wss://127.0.0.1:%d/", mws_server_port(srv));
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.insecure = 1;
	cc.queue_max_bytes = 16u << 20;
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cc), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	unsigned char *buf = malloc(200000);
	cr_assert_not_null(buf);
	for (int m = 0; m < TOTAL; m++) {
		for (size_t j = 0; j < sizes[m % N]; j++)
			buf[j] = byte_at(m, j);
		cr_assert_eq(mws_client_send(c, buf, sizes[m % N], MWS_MSG_BINARY), 0);
	}
	free(buf);
	cr_assert(wait_at_least(&t.received, TOTAL, 30000), "the server got %d of %d",
	          atomic_load(&t.received), TOTAL);
	cr_expect_eq(atomic_load(&t.errors), 0, "%d messages came back wrong",
	             atomic_load(&t.errors));
	mws_client_free(c);
	mws_server_free(srv);
	mws_ctx_free(ctx);
	test_cert_remove(&tc);
}
