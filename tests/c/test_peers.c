/*
 * The peer servers start, print a port, accept TCP, answer a handshake,
 * and stop without leaving a child behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

#define PY_PEER MWS_SOURCE_DIR "/tests/peers/py_ws_server.py"
#define NODE_PEER MWS_SOURCE_DIR "/tests/peers/ws_server.mjs"

static void need_node_ws(void)
{
	if (access(MWS_SOURCE_DIR "/tests/peers/node_modules/ws/package.json",
		   R_OK) != 0)
		/* scripts/setup.sh installs it: missing means a broken set-up,
		 * which must fail, not skip quietly */
		cr_assert_fail("tests/peers has no node_modules: run `npm ci` there (scripts/setup.sh does)");
}

/* Sends a WebSocket upgrade request and returns the HTTP status, or -1. */
static int handshake_status(int fd)
{
	static const char req[] =
		"GET /peer-test HTTP/1.1\r\n"
		"Host: 127.0.0.1\r\n"
		"Upgrade: websocket\r\n"
		"Connection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n";
	char buf[2048];
	size_t len = 0;
	int status = -1;

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1)
		return -1;
	while (len < sizeof(buf) - 1 && !strstr(buf, "\r\n\r\n")) {
		ssize_t n;

		if (mws_test_wait_readable(fd, 5000) <= 0)
			break;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
	}
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	if (status == 101)
		cr_assert(strstr(buf, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
			  "bad Sec-WebSocket-Accept in:\n%s", buf);
	return status;
}

static void no_child_left(pid_t pid)
{
	cr_assert_eq(kill(pid, 0), -1);
	cr_assert_eq(errno, ESRCH);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(errno, ECHILD);
}

static void start_connect_stop(const char *const argv[], int want_status)
{
	mws_test_peer peer;
	int fds = mws_test_count_fds(), fd, rc;
	pid_t pid;

	rc = mws_test_peer_start(&peer, argv);
	cr_assert_eq(rc, 0, "%s did not print PORT: %s", argv[1], strerror(-rc));
	cr_assert(peer.port > 0 && peer.port < 65536);
	fd = mws_test_tcp_connect(peer.port);
	cr_assert_geq(fd, 0, "connect: %s", strerror(-fd));
	cr_assert_eq(handshake_status(fd), want_status);
	/* Stopped with a connection still open: it must still exit 0. */
	pid = peer.pid;
	cr_assert_eq(mws_test_peer_stop(&peer), 0);
	cr_assert_eq(peer.pid, 0);
	no_child_left(pid);
	close(fd);
	cr_assert_eq(mws_test_count_fds(), fds);
}

TestSuite(peers, .timeout = 60);

Test(peers, python_peer_starts_accepts_and_stops)
{
	const char *const argv[] = { "python3", PY_PEER, "--json-heartbeat",
				     NULL };

	start_connect_stop(argv, 101);
}

Test(peers, python_peer_rejects_handshakes_with_the_given_status)
{
	const char *const argv[] = { "python3", PY_PEER, "--reject-status",
				     "401", NULL };

	start_connect_stop(argv, 401);
}

Test(peers, python_peer_rebinds_a_fixed_port_after_a_restart)
{
	const char *const first[] = { "python3", PY_PEER, NULL };
	mws_test_peer peer;
	char port[16];
	int fd;

	cr_assert_eq(mws_test_peer_start(&peer, first), 0);
	snprintf(port, sizeof(port), "%d", peer.port);
	cr_assert_eq(mws_test_peer_stop(&peer), 0);

	const char *const again[] = { "python3", PY_PEER, "--port", port,
				      NULL };
	cr_assert_eq(mws_test_peer_start(&peer, again), 0);
	cr_assert_eq(peer.port, atoi(port));
	fd = mws_test_tcp_connect(peer.port);
	cr_assert_geq(fd, 0);
	cr_assert_eq(handshake_status(fd), 101);
	close(fd);
	cr_assert_eq(mws_test_peer_stop(&peer), 0);
}

Test(peers, node_peer_starts_accepts_and_stops)
{
	const char *const argv[] = { "node", NODE_PEER, "--json-heartbeat",
				     NULL };

	need_node_ws();
	start_connect_stop(argv, 101);
}

Test(peers, node_peer_rejects_handshakes_with_the_given_status)
{
	const char *const argv[] = { "node", NODE_PEER, "--reject-status",
				     "401", NULL };

	need_node_ws();
	start_connect_stop(argv, 401);
}

Test(peers, start_reports_a_command_that_never_prints_a_port)
{
	const char *const silent[] = { "sh", "-c", "echo hello", NULL };
	const char *const missing[] = { "/nonexistent/peer", NULL };
	mws_test_peer peer;

	cr_assert_eq(mws_test_peer_start(&peer, silent), -ECHILD);
	cr_assert_eq(mws_test_peer_start(&peer, missing), -ECHILD);
	cr_assert_eq(peer.pid, 0);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1);
	cr_assert_eq(mws_test_peer_stop(&peer), 0);
}

Test(peers, stop_kills_a_peer_that_ignores_sigterm)
{
	/* trap '' TERM: SIGTERM is ignored, so stop must fall back to
	 * SIGKILL after its bounded wait. */
	const char *const argv[] = { "sh", "-c",
				     "trap '' TERM; echo PORT 1; exec sleep 60",
				     NULL };
	mws_test_peer peer;
	pid_t pid;

	cr_assert_eq(mws_test_peer_start(&peer, argv), 0);
	cr_assert_eq(peer.port, 1);
	pid = peer.pid;
	cr_assert_eq(mws_test_peer_stop(&peer), -SIGKILL);
	no_child_left(pid);
}
