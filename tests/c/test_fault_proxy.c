/*
 * The fault proxy between a raw TCP client and an echo server thread.
 * Every wait is bounded; "nothing arrives" is checked as "nothing arrived
 * within a bounded wait", never by sleeping first.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "peer.h"

#define WAIT_MS 5000  /* for things that must happen */
#define QUIET_MS 300  /* for things that must not happen */

/* ---- a plain TCP echo server on its own thread ------------------------ */

#define ECHO_MAX 64

struct echo_srv {
	int lfd, port, stop_r, stop_w;
	pthread_t thread;
	pthread_mutex_t mu;
	int fds[ECHO_MAX];
	int nfds;
	atomic_int accepted;
	atomic_long received;
};

static void *echo_main(void *arg)
{
	struct echo_srv *s = arg;
	char buf[16384];

	for (;;) {
		struct pollfd pfds[2 + ECHO_MAX];
		int n = 0, fds[ECHO_MAX], nfds;

		pthread_mutex_lock(&s->mu);
		nfds = s->nfds;
		memcpy(fds, s->fds, sizeof(int) * (size_t)nfds);
		pthread_mutex_unlock(&s->mu);
		pfds[n++] = (struct pollfd){ .fd = s->stop_r, .events = POLLIN };
		pfds[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (int i = 0; i < nfds; i++)
			pfds[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfds, (nfds_t)n, -1) < 0)
			continue;
		if (pfds[0].revents)
			break;
		if (pfds[1].revents) {
			int fd = accept(s->lfd, NULL, NULL);

			if (fd >= 0) {
				pthread_mutex_lock(&s->mu);
				if (s->nfds < ECHO_MAX)
					s->fds[s->nfds++] = fd;
				else
					close(fd);
				pthread_mutex_unlock(&s->mu);
				atomic_fetch_add(&s->accepted, 1);
			}
		}
		for (int i = 0; i < nfds; i++) {
			ssize_t r;

			if (!pfds[2 + i].revents)
				continue;
			r = recv(fds[i], buf, sizeof(buf), 0);
			if (r > 0) {
				atomic_fetch_add(&s->received, r);
				for (ssize_t off = 0; off < r;) {
					ssize_t w = send(fds[i], buf + off,
							 (size_t)(r - off),
							 MSG_NOSIGNAL);
					if (w <= 0)
						break;
					off += w;
				}
				continue;
			}
			pthread_mutex_lock(&s->mu);
			for (int k = 0; k < s->nfds; k++)
				if (s->fds[k] == fds[i]) {
					s->fds[k] = s->fds[--s->nfds];
					break;
				}
			pthread_mutex_unlock(&s->mu);
			close(fds[i]);
		}
	}
	return NULL;
}

static void echo_start(struct echo_srv *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int p[2];

	memset(s, 0, sizeof(*s));
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(s->lfd >= 0);
	cr_assert(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	cr_assert(listen(s->lfd, 64) == 0);
	cr_assert(getsockname(s->lfd, (struct sockaddr *)&sa, &len) == 0);
	s->port = ntohs(sa.sin_port);
	cr_assert(pipe2(p, O_CLOEXEC) == 0);
	s->stop_r = p[0];
	s->stop_w = p[1];
	pthread_mutex_init(&s->mu, NULL);
	cr_assert(pthread_create(&s->thread, NULL, echo_main, s) == 0);
}

static void echo_stop(struct echo_srv *s)
{
	(void)!write(s->stop_w, "x", 1);
	pthread_join(s->thread, NULL);
	for (int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	close(s->lfd);
	close(s->stop_r);
	close(s->stop_w);
	pthread_mutex_destroy(&s->mu);
}

/* Sends from the server side to every connection it holds. */
static void echo_push(struct echo_srv *s, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nfds; i++)
		send(s->fds[i], msg, strlen(msg), MSG_NOSIGNAL);
	pthread_mutex_unlock(&s->mu);
}

static int echo_open(struct echo_srv *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->nfds;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- helpers ----------------------------------------------------------- */

static struct echo_srv srv;
static mws_fault_proxy *px;

static void setup(void)
{
	echo_start(&srv);
	cr_assert_eq(mws_fault_proxy_start(&px, "127.0.0.1", 0, "127.0.0.1",
					   srv.port), 0);
	cr_assert_gt(mws_fault_proxy_port(px), 0);
}

static void teardown(void)
{
	mws_fault_proxy_stop(px);
	px = NULL;
	echo_stop(&srv);
}

/* Reads exactly n bytes within timeout_ms; returns bytes read, 0 on EOF
 * before any, -errno on error, or what it had on timeout. */
static ssize_t recv_n(int fd, char *buf, size_t n, int timeout_ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)timeout_ms;
	size_t got = 0;

	while (got < n) {
		uint64_t now = mws_test_now_ms();
		ssize_t r;

		if (now >= end ||
		    mws_test_wait_readable(fd, (int)(end - now)) <= 0)
			break;
		r = recv(fd, buf + got, n - got, 0);
		if (r < 0)
			return got ? (ssize_t)got : -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void roundtrip(int fd, const char *msg)
{
	char buf[256];
	size_t n = strlen(msg);

	cr_assert_eq(send(fd, msg, n, MSG_NOSIGNAL), (ssize_t)n);
	cr_assert_eq(recv_n(fd, buf, n, WAIT_MS), (ssize_t)n,
		     "no echo of \"%s\"", msg);
	cr_assert(memcmp(buf, msg, n) == 0);
}

/* The peer ended the connection: an RST (ECONNRESET) or a FIN (EOF). */
static bool ended_within(int fd, int timeout_ms)
{
	char c;
	ssize_t r;

	if (mws_test_wait_readable(fd, timeout_ms) <= 0)
		return false;
	r = recv(fd, &c, 1, 0);
	return r == 0 || (r < 0 && errno == ECONNRESET);
}

static bool still_open_and_silent(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);

	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct counter_arg {
	const void *p;
	uint64_t want;
};

static bool stats_active_is(void *arg)
{
	struct counter_arg *a = arg;
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(a->p, &st);
	return st.active == a->want;
}

static bool stats_discarded_at_least(void *arg)
{
	struct counter_arg *a = arg;
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(a->p, &st);
	return st.discarded >= a->want;
}

static bool stats_bytes_down_is(void *arg)
{
	struct counter_arg *a = arg;
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(a->p, &st);
	return st.bytes_down == a->want;
}

static bool stats_queued_at_least(void *arg)
{
	struct counter_arg *a = arg;
	mws_fault_proxy_stats st;

	mws_fault_proxy_get_stats(a->p, &st);
	return st.queued >= a->want;
}

static bool echo_received_more(void *arg)
{
	struct counter_arg *a = arg;

	return (uint64_t)atomic_load(&((struct echo_srv *)a->p)->received) >
	       a->want;
}

static bool echo_accepted_more(void *arg)
{
	struct counter_arg *a = arg;

	return (uint64_t)atomic_load(&((struct echo_srv *)a->p)->accepted) >
	       a->want;
}

static bool echo_has_no_conns(void *arg)
{
	return echo_open(arg) == 0;
}

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
