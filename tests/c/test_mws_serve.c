/* mws serve as a process, seen from raw sockets: what it counts. The
 * binary is MWS_CLI_PATH (tests/CMakeLists.txt). */
#include <signal.h>
#include <sys/wait.h>

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

/* Whether a successor could listen on the port now: a bind with
 * SO_REUSEADDR, as a server makes it, which only a listener still on the
 * port refuses (the drained connections keep it too, but do not block). */
static bool port_bindable(void *arg)
{
	int port = *(int *)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static bool healthz_draining(void *arg)
{
	char body[256];
	return http_get(*(int *)arg, "/healthz", body, sizeof body) == 503 &&
	       strstr(body, "draining");
}

/* SIGTERM with a client that never answers the close frame: the server
 * drains until --shutdown-deadline. Returns the served port, the raw
 * client's fd in *fd; the server is draining when it returns. */
static int drain_with_silent_client(mws_test_peer *serve, const char *release, int *fd)
{
	const char *const argv[] = {MWS_CLI_PATH, "serve", "--port", "0", "--print-port",
	                            "--mode", "echo", "--quiet", "--summary-interval", "0",
	                            "--shutdown-deadline", "4000", release, NULL};
	cr_assert_eq(mws_test_peer_start(serve, argv), 0);
	*fd = raw_ws_open(NULL, serve->port, NULL);
	cr_assert_geq(*fd, 0);
	cr_assert_eq(kill(serve->pid, SIGTERM), 0);
	return serve->port;
}

/* --shutdown-release-port: the port is free for a successor while the old
 * server still drains. */
Test(mws_serve, shutdown_release_port_frees_the_port_while_draining, .timeout = 60)
{
	mws_test_peer serve;
	int fd;
	int port = drain_with_silent_client(&serve, "--shutdown-release-port", &fd);
	cr_assert(mws_test_wait_until(port_bindable, &port, 3000), "the port stayed taken");
	cr_assert_eq(waitpid(serve.pid, NULL, WNOHANG), 0, "the server is still draining");
	close(fd); /* the drain ends: a clean exit */
	cr_assert_eq(mws_test_peer_wait(&serve, 10000), 0);
}

/* Without it the port keeps listening while draining, and says so. */
Test(mws_serve, the_port_keeps_listening_while_draining_by_default, .timeout = 60)
{
	mws_test_peer serve;
	int fd;
	int port = drain_with_silent_client(&serve, NULL, &fd);
	cr_assert(mws_test_wait_until(healthz_draining, &port, 3000), "/healthz never said draining");
	cr_assert_not(port_bindable(&port), "the port was free while the server drained");
	close(fd);
	cr_assert_eq(mws_test_peer_wait(&serve, 10000), 0);
}
