/* The handshake: refusals that every client can read, and a bound on the
 * handshakes one address may hold, so that slow ones cannot keep anybody
 * else out. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "io/ctx.h"
#include "json_peers.h"
#include "raw_ws.h"

/* The first line of the answer to an upgrade, NUL-terminated. */
static void status_line(int port, const char *extra, char *line, size_t cap)
{
	int fd = tcp_connect_from(NULL, port);
	cr_assert_geq(fd, 0);
	char req[512];
	int n = ws_upgrade_request(req, sizeof req, "/x", port, extra);
	cr_assert_eq(write_all(fd, req, (size_t)n), 0);
	size_t got = 0;
	line[0] = '\0';
	uint64_t end = mws_test_now_ms() + 5000;
	while (got < cap - 1 && mws_test_now_ms() < end &&
	       mws_test_wait_readable(fd, 1000) > 0 && read(fd, line + got, 1) == 1) {
		if (line[got] == '\r')
			break;
		got++;
	}
	line[got] = '\0';
	close(fd);
}

Test(server_admission, refusals_are_http_1_1_status_lines)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	r.auth_status = 401;
	mws_server *srv = rec_server(ctx, NULL, &r);
	char line[256];
	status_line(mws_server_port(srv), "", line, sizeof line);
	cr_assert_str_eq(line, "HTTP/1.1 401 Unauthorized");
	r.auth_status = 503;
	status_line(mws_server_port(srv), "", line, sizeof line);
	cr_assert_str_eq(line, "HTTP/1.1 503 Service Unavailable");
	status_line(mws_server_port(srv), "X-Token: good\r\n", line, sizeof line);
	cr_assert_str_eq(line, "HTTP/1.1 101 Switching Protocols");
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server_admission, python_websockets_client_reads_the_refusal_status, .timeout = 60)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	r.auth_status = 401;
	mws_server *srv = rec_server(ctx, NULL, &r);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", mws_server_port(srv));
	const char *argv[] = {"python3", PEERS "py_ws_refused.py", url, NULL};
	cJSON *j = run_json(argv, 30000);
	cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
	char *txt = cJSON_PrintUnformatted(j);
	cr_assert(cJSON_IsNumber(status) && status->valueint == 401, "python saw %s", txt);
	free(txt);
	cJSON_Delete(j);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

/* ---- slow handshakes ---- */

#define SLOW_CONNECTIONS 4200

/* In a child process (its descriptors are not ours): SLOW_CONNECTIONS
 * connections from 127.0.0.2, each sending half a request and then
 * nothing. Writes one byte to `ready` when done, exits when `hold` closes. */
static pid_t slow_handshakes(int port, int *ready_fd, int *hold_fd)
{
	int ready[2], hold[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(hold), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		signal(SIGPIPE, SIG_IGN);
		const char half[] = "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n";
		int opened = 0;
		for (int i = 0; i < SLOW_CONNECTIONS; i++) {
			int fd = tcp_connect_from("127.0.0.2", port);
			if (fd < 0)
				continue;
			opened++;
			if (send(fd, half, sizeof half - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* refused already: fine, keep going */
			}
		}
		char c = opened > 0;
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(hold[0], &c, 1) > 0) {
		}
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	*ready_fd = ready[0];
	*hold_fd = hold[1];
	return pid;
}

Test(server_admission, slow_handshakes_from_one_address_do_not_keep_another_out, .timeout = 120)
{
	/* The child needs its connections, we need the server's side of ours. */
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= SLOW_CONNECTIONS + 512,
	          "ulimit -n (hard) is %llu: too low for this test (scripts/test.sh sets 8192)",
	          (unsigned long long)rl.rlim_max);
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.rate_per_sec = -1; /* the token bucket would hide what is tested */
	cfg.handshake_timeout_ms = 30000;
	mws_server *srv = rec_server(ctx, &cfg, &r);
	int port = mws_server_port(srv);

	int ready, hold;
	pid_t pid = slow_handshakes(port, &ready, &hold);
	char c = 0;
	cr_assert_eq(mws_test_wait_readable(ready, 60000), 1, "the slow connections were made");
	cr_assert_eq(read(ready, &c, 1), 1);
	cr_assert_eq(c, 1);

	int status = 0;
	int fd = raw_ws_open("127.0.0.1", port, &status);
	cr_assert_geq(fd, 0, "a client from 127.0.0.1 got in (HTTP %d)", status);
	cr_assert(wait_at_least(&r.connects, 1, 5000));

	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_assert_geq(st.handshakes_over_address_limit, SLOW_CONNECTIONS - 64 - 100,
	              "most slow connections were refused at once (%llu)",
	              (unsigned long long)st.handshakes_over_address_limit);
	char body[1 << 14];
	cr_assert_eq(http_get(port, "/metrics", body, sizeof body), 200);
	cr_assert(strstr(body, "mws_server_handshakes_over_address_limit_total "));

	close(hold);
	close(ready);
	waitpid(pid, NULL, 0);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server_admission, context_socket_table_covers_the_raised_descriptor_limit)
{
	struct rlimit before;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &before), 0);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	struct rlimit after;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &after), 0);
	rlim_t want = before.rlim_max == RLIM_INFINITY || before.rlim_max > 65536
		? 65536 : before.rlim_max;
	if (before.rlim_cur < want)
		cr_assert_eq(after.rlim_cur, want, "the soft limit was raised to the hard one");
	cr_assert_eq((rlim_t)ctx->fd_limit, after.rlim_cur, "fd_limit %d", ctx->fd_limit);
	mws_ctx_free(ctx);

	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.fd_limit = 1000;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	cr_assert_eq(ctx->fd_limit, 1000, "an explicit limit is kept");
	mws_ctx_free(ctx);
}

/* ---- request heads ---- */

/* Sends `head` (a whole request head) and returns the answer's status. */
static int head_status(int port, const char *head, size_t len)
{
	int fd = tcp_connect_from(NULL, port);
	cr_assert_geq(fd, 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	signal(SIGPIPE, SIG_IGN);
	(void)write_all(fd, head, len); /* the answer may come before the end */
	int status = read_http_status(fd, 5000);
	close(fd);
	return status;
}

static char *upgrade_with_header(int port, const char *name, size_t value_len, int copies,
                                 size_t *len)
{
	size_t cap = (size_t)copies * (strlen(name) + value_len + 16) + 1;
	char *headers = malloc(cap);
	size_t n = 0;
	for (int i = 0; i < copies; i++) {
		n += (size_t)snprintf(headers + n, cap - n, "%s%d: ", name, i);
		memset(headers + n, 'a', value_len);
		n += value_len;
		memcpy(headers + n, "\r\n", 2);
		n += 2;
	}
	headers[n] = '\0';
	char *req = malloc(cap + 1024);
	*len = (size_t)ws_upgrade_request(req, cap + 1024, "/h", port, headers);
	free(headers);
	return req;
}

Test(server_admission, oversized_request_heads_get_431, .timeout = 60)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	size_t len;
	char *req = upgrade_with_header(port, "X-Big", 64 * 1024, 1, &len);
	cr_assert_eq(head_status(port, req, len), 431, "one 64 KiB header");
	free(req);
	req = upgrade_with_header(port, "X-H", 1, 1000, &len);
	cr_assert_eq(head_status(port, req, len), 431, "a thousand headers");
	free(req);
	/* Over libwebsockets' own 4 KiB table, under our 8 KiB bound: served. */
	req = upgrade_with_header(port, "X-Mid", 6000, 1, &len);
	cr_assert_eq(head_status(port, req, len), 101, "a 6 KB header is fine");
	free(req);
	mws_server_stats st = {.size = sizeof st};
	mws_server_stats_get(srv, &st);
	cr_assert_eq(st.headers_too_large, 2);
	char body[1 << 14];
	cr_assert_eq(http_get(port, "/metrics", body, sizeof body), 200);
	cr_assert(strstr(body, "\nmws_server_headers_too_large_total 2\n"), "%s", body);
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server_admission, request_head_sent_byte_by_byte_still_upgrades)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	r.echo = 1;
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	int fd = tcp_connect_from(NULL, port);
	cr_assert_geq(fd, 0);
	char req[512];
	int n = ws_upgrade_request(req, sizeof req, "/slow?x=1", port, NULL);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(write(fd, req + i, 1), 1);
		if (i % 16 == 0)
			usleep(1000); /* separate segments, not a timing assumption */
	}
	/* A frame right behind the head, before the answer is read. */
	unsigned char frame[32];
	size_t fl = raw_ws_frame(frame, 1, "hi", 2, 1);
	cr_assert_eq(write_all(fd, frame, fl), 0);
	cr_assert_eq(read_http_status(fd, 5000), 101);
	cr_assert(wait_at_least(&r.messages, 1, 5000));
	pthread_mutex_lock(&r.lock);
	cr_assert_str_eq(r.last_path, "/slow?x=1");
	pthread_mutex_unlock(&r.lock);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
