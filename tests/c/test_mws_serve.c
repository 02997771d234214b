/* mws serve as a process, seen from raw sockets: what it counts. The
 * binary is MWS_CLI_PATH (tests/CMakeLists.txt). */
#include "raw_ws.h"

#ifndef MWS_CLI_PATH
#error "MWS_CLI_PATH must name the built mws binary"
#endif

Test(mws_serve, echoes_dropped_over_the_send_bound_are_counted_in_metrics, .timeout = 60)
{
	mws_test_peer serve;
	const char *const argv[] = {MWS_CLI_PATH, "serve", "--port", "0", "--print-port",
	                            "--mode", "echo", "--quiet", "--summary-interval", "0",
	                            "--send-queue-max-bytes", "1000", NULL};
	cr_assert_eq(mws_test_peer_start(&serve, argv), 0);
	int fd = raw_ws_open(NULL, serve.port, NULL);
	cr_assert_geq(fd, 0);
	/* Larger than the bound: its echo cannot be queued. Then a small one,
	 * echoed, which proves the first was handled before it. */
	char big[2000];
	memset(big, 'x', sizeof big);
	cr_assert_eq(raw_ws_send(fd, 2, big, sizeof big, 1), 0);
	cr_assert_eq(raw_ws_send(fd, 1, "small", 5, 1), 0);
	char back[64];
	size_t n = 0;
	cr_assert_eq(raw_ws_read_frame(fd, back, sizeof back, &n, NULL, 5000), 1);
	cr_assert_eq(n, 5, "only the small echo comes back");
	char body[1 << 15];
	cr_assert_eq(http_get(serve.port, "/metrics", body, sizeof body), 200);
	cr_assert(strstr(body, "\nmws_server_send_queue_full_total 1\n"), "%s", body);
	close(fd);
	cr_assert_eq(mws_test_peer_stop(&serve), 0);
}

/* --event-loop epoll: the same server waiting in epoll; it echoes, answers
 * HTTP and shuts down gracefully (status 0). */
Test(mws_serve, serves_on_the_epoll_loop, .timeout = 60)
{
	mws_test_peer serve;
	const char *const argv[] = {MWS_CLI_PATH, "serve", "--port", "0", "--print-port",
	                            "--mode", "echo", "--quiet", "--summary-interval", "0",
	                            "--event-loop", "epoll", NULL};
	cr_assert_eq(mws_test_peer_start(&serve, argv), 0);
	int fd = raw_ws_open(NULL, serve.port, NULL);
	cr_assert_geq(fd, 0);
	cr_assert_eq(raw_ws_send(fd, 1, "hello", 5, 1), 0);
	char back[64];
	size_t n = 0;
	cr_assert_eq(raw_ws_read_frame(fd, back, sizeof back, &n, NULL, 5000), 1);
	cr_assert_eq(n, 5);
	cr_assert_eq(memcmp(back, "hello", 5), 0);
	char body[1 << 15];
	cr_assert_eq(http_get(serve.port, "/healthz", body, sizeof body), 200);
	close(fd);
	cr_assert_eq(mws_test_peer_stop(&serve), 0);
}
