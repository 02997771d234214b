/*
 * Receipts on plain connections: plain WebSocket has no acks, so a message
 * is settled once written to the socket, and on_acked fires for it as it
 * does for acks on a managed connection (bindings wait on it instead of
 * polling stats.acked_number).
 */
#include "v1_harness.h"

static void plain_receipts(int client_mode, int server_mode)
{
	v1_app a;
	v1_init(&a);
	mws_server_config sc;
	mws_server_config_init(&sc);
	sc.protocol_mode = server_mode;
	v1_server_start(&a, &sc);
	mws_client_config cc;
	mws_client_config_init(&cc);
	cc.protocol_mode = client_mode;
	v1_client_start(&a, mws_server_port(a.srv), &cc);
	cr_assert(v1_int_ge(&a.connected, 1, 5000));
	unsigned char b[8];
	uint64_t last = 0;
	for (uint64_t i = 1; i <= 20; i++) {
		v1_num(b, i);
		cr_assert_eq(mws_client_send_seq(a.cli, b, 8, MWS_MSG_BINARY, &last), 0);
	}
	cr_expect_eq(last, 20);
	cr_assert(v1_ge(&a.acked, last, 5000), "on_acked said %lu",
	          (unsigned long)atomic_load(&a.acked));
	cr_assert(v1_ge(&a.s_got, 20, 5000));
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(a.cli, &st);
	cr_expect_eq(st.managed, 0);
	cr_expect_eq(st.acked_number, last);
	/* later sends move it on as well */
	v1_num(b, 21);
	cr_assert_eq(mws_client_send_seq(a.cli, b, 8, MWS_MSG_BINARY, &last), 0);
	cr_expect(v1_ge(&a.acked, 21, 5000));
	cr_expect_eq(atomic_load(&a.s_bad), 0);
	v1_fini(&a);
}

Test(v1_plain_receipts, on_acked_fires_when_the_client_speaks_plain)
{
	plain_receipts(MWS_PROTOCOL_PLAIN, 0);
}

/* A client offering mws.v1 (the default) against our server serving plain
 * only: the offer is not selected and both speak plain. */
Test(v1_plain_receipts, an_offering_client_speaks_plain_to_a_plain_only_server)
{
	plain_receipts(0, MWS_PROTOCOL_PLAIN);
}
