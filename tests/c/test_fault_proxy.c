/*
 * The fault proxy between a raw TCP client and an echo server thread.
 * Every wait is bounded; "nothing arrives" is checked as "nothing arrived
 * within a bounded wait", never by sleeping first.
 */
#include "fault_proxy_harness.h"

TestSuite(fault_proxy, .init = setup, .fini = teardown, .timeout = 60);

/* ---- pass -------------------------------------------------------------- */

Test(fault_proxy, pass_forwards_bytes_both_ways)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	struct counter_arg one = { px, 1 }, nine = { px, 9 };
	mws_fault_proxy_stats st;
	char buf[16];

	cr_assert_geq(fd, 0);
	roundtrip(fd, "hello");
	echo_push(&srv, "push");
	cr_assert_eq(recv_n(fd, buf, 4, WAIT_MS), 4);
	cr_assert(memcmp(buf, "push", 4) == 0);
	cr_assert(mws_test_wait_until(stats_active_is, &one, WAIT_MS));
	/* The proxy counts after send() returns, which may be after the
	 * bytes arrived here. */
	cr_assert(mws_test_wait_until(stats_bytes_down_is, &nine, WAIT_MS));
	mws_fault_proxy_get_stats(px, &st);
	cr_assert_eq(st.accepted, 1);
	cr_assert_eq(st.bytes_up, 5);
	cr_assert_eq(st.queued, 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_PASS);
	close(fd);
}

Test(fault_proxy, pass_carries_a_megabyte_through_bounded_buffers)
{
	enum { TOTAL = 1 << 20 };
	static char out[TOTAL], in[TOTAL];
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	size_t sent = 0, got = 0;
	uint64_t end = mws_test_now_ms() + 20000;

	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < TOTAL; i++)
		out[i] = (char)(i * 7 + i / 251);
	while (got < TOTAL && mws_test_now_ms() < end) {
		struct pollfd pfd = { .fd = fd,
				      .events = POLLIN |
						(sent < TOTAL ? POLLOUT : 0) };
		ssize_t r;

		cr_assert_geq(poll(&pfd, 1, 100), 0);
		if ((pfd.revents & POLLOUT) && sent < TOTAL) {
			r = send(fd, out + sent, TOTAL - sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (r > 0)
				sent += (size_t)r;
		}
		if (pfd.revents & POLLIN) {
			r = recv(fd, in + got, TOTAL - got, MSG_DONTWAIT);
			cr_assert_neq(r, 0, "EOF after %zu bytes", got);
			if (r > 0)
				got += (size_t)r;
		}
	}
	cr_assert_eq(got, (size_t)TOTAL);
	cr_assert(memcmp(in, out, TOTAL) == 0);
	close(fd);
}

Test(fault_proxy, pass_forwards_half_close_both_ways)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	struct counter_arg zero = { px, 0 };

	cr_assert_geq(fd, 0);
	roundtrip(fd, "x");
	/* Our FIN reaches the echo server, which closes; its FIN comes
	 * back as EOF. */
	cr_assert_eq(shutdown(fd, SHUT_WR), 0);
	cr_assert(ended_within(fd, WAIT_MS));
	cr_assert(mws_test_wait_until(stats_active_is, &zero, WAIT_MS));
	close(fd);
}

/* ---- delay ------------------------------------------------------------- */

Test(fault_proxy, delay_holds_each_chunk_at_least_delay_ms)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	uint64_t t0, dt;
	char buf[8];

	cr_assert_geq(fd, 0);
	roundtrip(fd, "warm");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_DELAY, 150), 0);
	cr_assert_eq(mws_fault_proxy_mode(px), MWS_FAULT_DELAY);
	t0 = mws_test_now_ms();
	cr_assert_eq(send(fd, "ping", 4, 0), 4);
	cr_assert_eq(recv_n(fd, buf, 4, WAIT_MS), 4);
	dt = mws_test_now_ms() - t0;
	/* Delayed once on the way up and once on the way down. No upper
	 * bound: this machine is shared. */
	cr_assert_geq(dt, 300, "round trip took %llu ms",
		      (unsigned long long)dt);
	cr_assert(memcmp(buf, "ping", 4) == 0);
	close(fd);
}

Test(fault_proxy, delay_keeps_byte_order_when_the_delay_shrinks)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	struct counter_arg one = { px, 1 };
	char buf[8];

	cr_assert_geq(fd, 0);
	roundtrip(fd, "warm");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_DELAY, 400), 0);
	cr_assert_eq(send(fd, "A", 1, 0), 1);
	/* Once the proxy holds A, B is read under a zero delay and is due at
	 * once, but must not overtake A. */
	cr_assert(mws_test_wait_until(stats_queued_at_least, &one, WAIT_MS));
	cr_assert_eq(atomic_load(&srv.received), 4);
	cr_assert_eq(mws_fault_proxy_command(px, "delay=0"), 0);
	cr_assert_eq(send(fd, "B", 1, 0), 1);
	cr_assert_eq(recv_n(fd, buf, 2, WAIT_MS), 2);
	cr_assert(memcmp(buf, "AB", 2) == 0, "got %.2s", buf);
	close(fd);
}

/* ---- blackhole --------------------------------------------------------- */

Test(fault_proxy, blackhole_stops_bytes_both_ways_and_keeps_the_connection)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	struct counter_arg got, disc = { px, 5 }, one = { px, 1 };
	mws_fault_proxy_stats before, after;

	cr_assert_geq(fd, 0);
	roundtrip(fd, "hi");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_BLACKHOLE, 0), 0);
	mws_fault_proxy_get_stats(px, &before);
	got = (struct counter_arg){ &srv, (uint64_t)atomic_load(&srv.received) };

	cr_assert_eq(send(fd, "up", 2, 0), 2);
	echo_push(&srv, "down");
	/* Both were read by the proxy and thrown away... */
	cr_assert(mws_test_wait_until(stats_discarded_at_least, &disc,
				      WAIT_MS));
	/* ...so neither end sees a byte within a bounded wait. */
	cr_assert_eq(mws_test_wait_readable(fd, QUIET_MS), 0);
	cr_assert_not(mws_test_wait_until(echo_received_more, &got, QUIET_MS));
	mws_fault_proxy_get_stats(px, &after);
	cr_assert_eq(after.bytes_up, before.bytes_up);
	cr_assert_eq(after.bytes_down, before.bytes_down);
	/* Still open on both sides: no EOF, no reset, writes accepted. */
	cr_assert(still_open_and_silent(fd));
	cr_assert_eq(send(fd, "more", 4, MSG_NOSIGNAL), 4);
	cr_assert_eq(echo_open(&srv), 1);
	cr_assert(stats_active_is(&one));
	close(fd);
}

Test(fault_proxy, blackhole_accepts_new_clients_but_never_connects_upstream)
{
	int fd, fd2;
	struct counter_arg acc = { &srv, 0 }, disc = { px, 3 };
	mws_fault_proxy_stats st;

	cr_assert_eq(mws_fault_proxy_command(px, "blackhole"), 0);
	fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	cr_assert_geq(fd, 0);
	cr_assert_eq(send(fd, "abc", 3, 0), 3);
	cr_assert(mws_test_wait_until(stats_discarded_at_least, &disc,
				      WAIT_MS));
	cr_assert_not(mws_test_wait_until(echo_accepted_more, &acc, QUIET_MS));
	cr_assert(still_open_and_silent(fd));
	mws_fault_proxy_get_stats(px, &st);
	cr_assert_eq(st.accepted, 1);

	/* Back to pass: new clients go through; the zombie stays a zombie. */
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_PASS, 0), 0);
	fd2 = mws_test_tcp_connect(mws_fault_proxy_port(px));
	cr_assert_geq(fd2, 0);
	roundtrip(fd2, "alive");
	cr_assert_eq(send(fd, "x", 1, 0), 1);
	cr_assert_eq(mws_test_wait_readable(fd, QUIET_MS), 0);
	close(fd);
	close(fd2);
}

Test(fault_proxy, blackhole_hides_a_client_close_from_the_server)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));

	cr_assert_geq(fd, 0);
	roundtrip(fd, "hi");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_BLACKHOLE, 0), 0);
	close(fd);
	/* A zombie network does not carry the FIN: the server keeps its
	 * connection. */
	cr_assert_not(mws_test_wait_until(echo_has_no_conns, &srv, QUIET_MS));
}

/* ---- reset ------------------------------------------------------------- */

Test(fault_proxy, reset_resets_existing_and_new_connections)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px)), fd2;
	struct counter_arg zero = { px, 0 };
	mws_fault_proxy_stats st;

	cr_assert_geq(fd, 0);
	roundtrip(fd, "hi");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_RESET, 0), 0);
	cr_assert(ended_within(fd, WAIT_MS));
	cr_assert(mws_test_wait_until(echo_has_no_conns, &srv, WAIT_MS));
	cr_assert(mws_test_wait_until(stats_active_is, &zero, WAIT_MS));

	/* The kernel completes the handshake before the proxy accepts, so
	 * connect may succeed; the reset follows at once. */
	fd2 = mws_test_tcp_connect(mws_fault_proxy_port(px));
	if (fd2 >= 0) {
		cr_assert(ended_within(fd2, WAIT_MS));
		close(fd2);
	} else {
		cr_assert_eq(fd2, -ECONNRESET);
	}
	mws_fault_proxy_get_stats(px, &st);
	cr_assert_geq(st.resets, 2);
	close(fd);
}

Test(fault_proxy, reset_gives_econnreset_not_eof)
{
	int fd = mws_test_tcp_connect(mws_fault_proxy_port(px));
	char c;

	cr_assert_geq(fd, 0);
	roundtrip(fd, "hi");
	cr_assert_eq(mws_fault_proxy_command(px, "reset\n"), 0);
	cr_assert_eq(mws_test_wait_readable(fd, WAIT_MS), 1);
	cr_assert_eq(recv(fd, &c, 1, 0), -1);
	cr_assert_eq(errno, ECONNRESET);
	close(fd);
}

/* ---- refuse ------------------------------------------------------------ */

Test(fault_proxy, refuse_refuses_and_pass_listens_again_on_the_same_port)
{
	int port = mws_fault_proxy_port(px);
	int old = mws_test_tcp_connect(port), fd;

	cr_assert_geq(old, 0);
	roundtrip(old, "before");
	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_REFUSE, 0), 0);
	cr_assert_eq(mws_test_tcp_connect(port), -ECONNREFUSED);
	/* Connections made before keep working. */
	roundtrip(old, "during");

	cr_assert_eq(mws_fault_proxy_set_mode(px, MWS_FAULT_PASS, 0), 0);
	cr_assert_eq(mws_fault_proxy_port(px), port);
	fd = mws_test_tcp_connect(port);
	cr_assert_geq(fd, 0, "connect after refuse: %s", strerror(-fd));
	roundtrip(fd, "after");
	close(fd);
	close(old);
}

Test(fault_proxy, refuse_to_delay_also_listens_again)
{
	int port = mws_fault_proxy_port(px), fd;

	cr_assert_eq(mws_fault_proxy_command(px, "refuse"), 0);
	cr_assert_eq(mws_test_tcp_connect(port), -ECONNREFUSED);
	cr_assert_eq(mws_fault_proxy_command(px, "delay=10"), 0);
	fd = mws_test_tcp_connect(port);
	cr_assert_geq(fd, 0);
	roundtrip(fd, "late");
	close(fd);
}
