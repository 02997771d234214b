/*
 * A node killed with kill -9 mid-stream: an `mws serve --mode echo
 * --session-store` process holds the session, the test kills it, and the
 * client, sent on to a second node (in this process) on the same Redis,
 * resumes there. Every message the client sent comes back echoed exactly
 * once and in order: what the killed node acknowledged had been echoed and
 * saved before its ack left; what it had not was replayed by the client.
 */
#include <fcntl.h>
#include <poll.h>

#include "redis_harness.h"
#include "v1_harness.h"

#define N_MSGS 6000
#define WINDOW 256

typedef struct child {
	pid_t pid;
	int port;
} child;

/* mws serve in echo mode on a free port, read from its "PORT n" line. */
static void serve_child(child *ch, const char *url)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test still stops it */
		dup2(fds[1], 1);
		close(fds[0]);
		int dn = open("/dev/null", O_WRONLY);
		if (dn >= 0)
			dup2(dn, 2);
		execl(MWS_CLI_PATH, "mws", "serve", "--host", "127.0.0.1", "--port", "0",
		      "--print-port", "--mode", "echo", "--quiet", "--session-store", url,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ch->pid = pid;
	ch->port = 0;
	char line[64];
	size_t got = 0;
	uint64_t end = mws_test_now_ms() + 10000;
	while (got < sizeof line - 1 && mws_test_now_ms() < end) {
		struct pollfd p = {fds[0], POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fds[0], line + got, 1);
		if (n <= 0)
			break;
		if (line[got++] == '\n')
			break;
	}
	line[got] = 0;
	close(fds[0]);
	sscanf(line, "PORT %d", &ch->port);
	cr_assert_gt(ch->port, 0, "mws serve printed '%s'", line);
}

static atomic_int g_refused;

static void echo(mws_server *s, mws_conn_id id, const void *d, size_t n, int t, void *u)
{
	v1_app *a = u;
	atomic_fetch_add(&a->s_got, 1);
	if (mws_server_send(s, id, d, n, t))
		atomic_fetch_add(&g_refused, 1);
}

Test(v1_redis_kill, node_killed_mid_stream_loses_nothing_acknowledged, .timeout = 120)
{
	REDIS_REQUIRED();
	redis_proc r;
	redis_start(&r);
	child a_node;
	serve_child(&a_node, r.url);

	v1_app a;
	v1_init(&a);
	mws_server_config sc = redis_node_config(r.url);
	cr_assert_eq(mws_server_new(&a.srv, a.ctx, &sc), 0); /* node B */
	mws_server_callbacks cb = {sizeof cb};
	cb.on_message = echo;
	cr_assert_eq(mws_server_set_callbacks(a.srv, &cb, &a, NULL), 0);
	cr_assert_eq(mws_server_start(a.srv), 0);

	mws_client_config cc = redis_client_config();
	cc.handshake_timeout_ms = 1000;
	cc.connect_timeout_ms = 1000;
	v1_client_via_proxy(&a, a_node.port, &cc);

	uint64_t sent = 0, end = mws_test_now_ms() + 90000;
	int killed = 0;
	unsigned char b[8];
	while (atomic_load(&a.c_got) < N_MSGS && mws_test_now_ms() < end) {
		/* At most WINDOW without their echo: an echo server has no way to
		 * slow a client down, and its session's outbox is bounded. */
		while (sent < N_MSGS && sent - atomic_load(&a.c_got) < WINDOW) {
			v1_num(b, sent + 1);
			int rc = mws_client_send(a.cli, b, 8, MWS_MSG_BINARY);
			if (rc == MWS_EQUEUEFULL)
				break;
			cr_assert_eq(rc, 0, "client send: %s", mws_err_name(rc));
			sent++;
		}
		if (!killed && atomic_load(&a.c_got) >= N_MSGS / 3) {
			/* Mid-stream: messages are in flight both ways. */
			cr_assert_eq(kill(a_node.pid, SIGKILL), 0);
			waitpid(a_node.pid, NULL, 0);
			killed = 1;
			v1_move(&a, mws_server_port(a.srv));
		}
		usleep(1000);
	}
	cr_expect(killed);
	cr_expect_eq(atomic_load(&a.c_got), N_MSGS, "echoes received in order: %lu",
	             (unsigned long)atomic_load(&a.c_got));
	cr_expect_eq(atomic_load(&a.c_bad), 0, "echoes lost, duplicated or out of order: %lu",
	             (unsigned long)atomic_load(&a.c_bad));
	cr_expect_eq(atomic_load(&a.lost), 0, "the session survived the node");
	cr_expect_eq(atomic_load(&a.started), 1);
	cr_expect_geq(atomic_load(&a.c_resumed), 1);
	cr_expect_eq(atomic_load(&g_refused), 0, "node B refused no echo");
	cr_expect_gt(atomic_load(&a.s_got), 0, "node B echoed the rest");
	cr_expect_lt(atomic_load(&a.s_got), N_MSGS, "node A had echoed some");

	v1_fini(&a);
	redis_stop(&r);
}
