/*
 * The fault proxy's controls and lifetime: a new upstream, an upstream that
 * goes away, the CLI's text commands, stop and bad arguments to start.
 */
#include "fault_proxy_harness.h"

TestSuite(fault_proxy, .init = setup, .fini = teardown, .timeout = 60);

/* ---- upstream ---------------------------------------------------------- */

Test(fault_proxy, set_upstream_moves_new_connections_only)
{
	struct echo_srv srv2;
	int fd1 = mws_test_tcp_connect(mws_fault_proxy_port(px)), fd2;

	cr_assert_geq(fd1, 0);
	roundtrip(fd1, "one");
	echo_start(&srv2);
	cr_assert_eq(mws_fault_proxy_set_upstream(px, "127.0.0.1", srv2.port),
		     0);
	fd2 = mws_test_tcp_connect(mws_fault_proxy_port(px));
	cr_assert_geq(fd2, 0);
	roundtrip(fd2, "two");
	roundtrip(fd1, "still one");
	cr_assert_eq(atomic_load(&srv2.accepted), 1);
	cr_assert_eq(atomic_load(&srv.accepted), 1);
	close(fd1);
	close(fd2);
	echo_stop(&srv2);
}

Test(fault_proxy, upstream_down_ends_the_client_connection)
{
	struct echo_srv gone;
	mws_fault_proxy_stats st;
	char cmd[64];
	int fd;

	/* A port that surely has no listener: one we just closed. */
	echo_start(&gone);
	echo_stop(&gone);
	snprintf(cmd, sizeof(cmd), "upstream=127.0.0.1:%d", gone.port);
	cr_assert_eq(mws_fault_proxy_command(px, cmd), 0);
	fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	cr_assert_geq(fd, 0);
	cr_assert(ended_within(fd, WAIT_MS));
	mws_fault_proxy_get_stats(px, &st);
	cr_assert_eq(st.upstream_failures, 1);
	close(fd);
}

/* ---- commands and lifetime --------------------------------------------- */

Test(fault_proxy, command_parser_accepts_the_five_modes_and_rejects_others)
{
	cr_assert_eq(mws_fault_proxy_command(px, "delay=25"), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_DELAY);
	cr_assert_eq(mws_fault_proxy_command(px, "  blackhole \r\n"), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_BLACKHOLE);
	cr_assert_eq(mws_fault_proxy_command(px, "reset"), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_RESET);
	cr_assert_eq(mws_fault_proxy_command(px, "refuse"), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_REFUSE);
	cr_assert_eq(mws_fault_proxy_command(px, "pass"), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_PASS);

	const char *bad[] = { "", "passs", "PASS", "delay", "delay=",
			      "delay=-5", "delay=abc", "delay=10x",
			      "delay=9999999", "upstream=", "upstream=:80",
			      "upstream=127.0.0.1", "upstream=127.0.0.1:0",
			      "bogus" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(mws_fault_proxy_command(px, bad[i]), -1,
			     "accepted \"%s\"", bad[i]);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_PASS);
	cr_assert_eq(mws_fault_proxy_set_mode(px, (mws_fault_mode)99, 0),
		     -EINVAL);
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_DELAY, -1),
		     -EINVAL);
	cr_assert_str_eq(mws_fault_mode_name(MWS_FAULT_BLACKHOLE), "blackhole");
}

Test(fault_proxy, stop_closes_every_descriptor_it_opened)
{
	mws_fault_proxy *p2;
	int before = mws_test_count_fds(), a, b, c;

	cr_assert_eq(mws_fault_proxy_start(&p2, "127.0.0.1", 0, "127.0.0.1",
					   srv.port), 0);
	a = mws_test_tcp_connect(mws_fault_proxy_port(p2));
	roundtrip(a, "a");
	cr_assert_eq(mws_fault_proxy_set_mode(p2, MWS_FAULT_DELAY, 1000), 0);
	cr_assert_eq(send(a, "held", 4, 0), 4);
	cr_assert_eq(mws_fault_proxy_set_mode(p2, MWS_FAULT_BLACKHOLE, 0), 0);
	b = mws_test_tcp_connect(mws_fault_proxy_port(p2));
	cr_assert_eq(mws_fault_proxy_set_mode(p2, MWS_FAULT_REFUSE, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(p2, MWS_FAULT_PASS, 0), 0);
	c = mws_test_tcp_connect(mws_fault_proxy_port(p2));
	roundtrip(c, "c");
	cr_assert(a >= 0 && b >= 0 && c >= 0);

	mws_fault_proxy_stop(p2);
	/* Clients see the proxy's orderly close. */
	cr_assert(ended_within(a, WAIT_MS));
	cr_assert(ended_within(b, WAIT_MS));
	cr_assert(ended_within(c, WAIT_MS));
	close(a);
	close(b);
	close(c);
	/* The echo server closes its ends when it sees the proxy's FINs. */
	cr_assert(mws_test_wait_until(echo_has_no_conns, &srv, WAIT_MS));
	cr_assert_eq(mws_test_count_fds(), before);
	mws_fault_proxy_stop(NULL);
}

Test(fault_proxy, start_rejects_bad_arguments)
{
	mws_fault_proxy *p2 = NULL;

	cr_assert_eq(mws_fault_proxy_start(NULL, "127.0.0.1", 0, "127.0.0.1",
					   1), -EINVAL);
	cr_assert_eq(mws_fault_proxy_start(&p2, "127.0.0.1", 70000,
					   "127.0.0.1", 1), -EINVAL);
	/* Our own port is taken by the running proxy. */
	cr_assert_eq(mws_fault_proxy_start(&p2, "127.0.0.1",
					   mws_fault_proxy_port(px),
					   "127.0.0.1", 1), -EADDRINUSE);
	cr_assert_null(p2);
}
