/* The mws command-line tool, driven as a user would: the built binary is
 * started with pipes on stdin, stdout and stderr, and every wait is
 * bounded. MWS_CLI_PATH comes from tests/CMakeLists.txt. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

#ifndef MWS_CLI_PATH
#error "MWS_CLI_PATH must name the built mws binary"
#endif

#define BUF_CAP (1 << 18)

typedef struct proc {
	pid_t pid;
	int in, out, err; /* -1 once closed */
	char *obuf, *ebuf;
	size_t olen, elen;
	int status;       /* exit code, or -signo; valid once exited */
	bool exited;
} proc;

static void child(int in, int out, int err, const char *const argv[])
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

/* Starts mws with args (NULL-terminated, without the binary's path). */
static void proc_start(proc *p, const char *const args[])
{
	const char *argv[64] = {MWS_CLI_PATH};
	int n = 1, in[2], out[2], err[2];

	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	memset(p, 0, sizeof *p);
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	p->obuf = calloc(1, BUF_CAP);
	p->ebuf = calloc(1, BUF_CAP);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0)
		child(in[0], out[1], err[1], argv);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
	signal(SIGPIPE, SIG_IGN);
}

/* Reads whatever stdout and stderr have, waiting up to ms. */
static void proc_pump(proc *p, int ms)
{
	struct pollfd f[2] = {{.fd = p->out, .events = POLLIN}, {.fd = p->err, .events = POLLIN}};

	if (p->out < 0 && p->err < 0) {
		if (ms > 0)
			usleep((useconds_t)ms * 1000);
		return;
	}
	if (poll(f, 2, ms) <= 0)
		return;
	for (int i = 0; i < 2; i++) {
		int *fd = i ? &p->err : &p->out;
		char *buf = i ? p->ebuf : p->obuf;
		size_t *len = i ? &p->elen : &p->olen;
		if (!f[i].revents)
			continue;
		ssize_t r = read(*fd, buf + *len, BUF_CAP - 1 - *len);
		if (r > 0) {
			*len += (size_t)r;
			buf[*len] = '\0';
		} else if (r == 0 || errno != EINTR) {
			close(*fd);
			*fd = -1;
		}
	}
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* Waits until `needle` appears at least `times` times on stdout (which=1)
 * or stderr (which=2). */
static bool proc_wait_text(proc *p, int which, const char *needle, int times, int ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)ms;

	for (;;) {
		if (count_of(which == 1 ? p->obuf : p->ebuf, needle) >= times)
			return true;
		uint64_t now = mws_test_now_ms();
		if (now >= end)
			return false;
		proc_pump(p, (int)(end - now < 50 ? end - now : 50));
	}
}

static void proc_write(proc *p, const char *text)
{
	cr_assert_eq(write(p->in, text, strlen(text)), (ssize_t)strlen(text));
}

static void proc_close_stdin(proc *p)
{
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
}

/* Waits up to ms for the exit, reading its output meanwhile; then
 * SIGKILL. Returns the exit code or -signo. */
static int proc_wait_exit(proc *p, int ms)
{
	uint64_t end = mws_test_now_ms() + (uint64_t)ms;
	int st;

	while (!p->exited) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->exited = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
			break;
		}
		if (mws_test_now_ms() >= end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			p->exited = true;
			p->status = -1000; /* did not exit in time */
			break;
		}
		proc_pump(p, 20);
	}
	while (p->out >= 0 || p->err >= 0)
		proc_pump(p, 100);
	return p->status;
}

static void proc_free(proc *p)
{
	if (!p->pid)
		return;
	if (!p->exited)
		proc_wait_exit(p, 0);
	proc_close_stdin(p);
	free(p->obuf);
	free(p->ebuf);
	p->pid = 0;
}

/* Stops with SIGTERM and returns the exit status. */
static int proc_stop(proc *p, int ms)
{
	kill(p->pid, SIGTERM);
	return proc_wait_exit(p, ms);
}

/* The number after "KEY " on stdout (e.g. "PORT 41234"). */
static int read_number(proc *p, const char *key)
{
	char needle[32];
	uint64_t end = mws_test_now_ms() + 15000;

	snprintf(needle, sizeof needle, "%s ", key);
	for (;;) {
		const char *s = strstr(p->obuf, needle);
		if (s && strchr(s, '\n'))
			return atoi(s + strlen(needle));
		cr_assert_lt(mws_test_now_ms(), end, "no %s line; stderr: %s", key, p->ebuf);
		proc_pump(p, 50);
	}
}

static int start_serve(proc *p, const char *extra1, const char *extra2)
{
	const char *args[] = {"serve", "--port", "0", "--print-port", "--summary-interval", "0",
	                      extra1, extra2, NULL};
	proc_start(p, args);
	return read_number(p, "PORT");
}

static int unused_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

/* One HTTP request to 127.0.0.1:port; the response into buf. */
static void http(int port, const char *request, char *buf, size_t cap)
{
	int fd = mws_test_tcp_connect(port);
	size_t got = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (got < cap - 1 && mws_test_wait_readable(fd, 5000) > 0) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
}

/* ---- usage ------------------------------------------------------------- */

Test(mws_cli, bad_flags_and_urls_give_one_line_a_usage_hint_and_exit_2, .timeout = 60)
{
	static const char *const cases[][8] = {
		{"connect", "--frobnicate", "ws://127.0.0.1:1/"},
		{"connect", "not-a-url"},
		{"connect", "ws://"},
		{"connect", "http://127.0.0.1/"},
		{"connect"},
		{"connect", "ws://127.0.0.1:1/", "extra"},
		{"connect", "--heartbeat-interval", "abc", "ws://127.0.0.1:1/"},
		{"connect", "--jitter", "wobbly", "ws://127.0.0.1:1/"},
		{"connect", "--close-rule", "1000=explode", "ws://127.0.0.1:1/"},
		{"connect", "--header", "novalue", "ws://127.0.0.1:1/"},
		{"connect", "--queue-max-bytes", "12Q", "ws://127.0.0.1:1/"},
		{"connect", "--max-attempts"},
		{"serve", "--port", "70000"},
		{"serve", "--mode", "loud"},
		{"serve", "-x"},
		{"proxy"},
		{"proxy", "--listen", "nope", "--upstream", "127.0.0.1:1"},
		{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:99999"},
		{"demo", "--rate", "0"},
		{"bogus"},
		{NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		proc p;
		proc_start(&p, cases[i]);
		proc_close_stdin(&p);
		int rc = proc_wait_exit(&p, 10000);
		cr_expect_eq(rc, 2, "mws %s %s: exit %d, stderr: %s", cases[i][0] ? cases[i][0] : "",
		             cases[i][1] ? cases[i][1] : "", rc, p.ebuf);
		cr_expect_eq(count_of(p.ebuf, "\n"), 2, "mws %s %s: stderr: %s",
		             cases[i][0] ? cases[i][0] : "", cases[i][1] ? cases[i][1] : "", p.ebuf);
		cr_expect(strstr(p.ebuf, "usage: mws") && strstr(p.ebuf, "--help"),
		          "no usage hint: %s", p.ebuf);
		cr_expect_eq(p.olen, 0, "stdout: %s", p.obuf);
		proc_free(&p);
	}
}

Test(mws_cli, version_and_help_list_every_flag_with_its_default, .timeout = 60)
{
	proc p;
	const char *version[] = {"--version", NULL};
	proc_start(&p, version);
	cr_expect_eq(proc_wait_exit(&p, 10000), 0);
	cr_expect(strstr(p.obuf, "mws 0.") != NULL, "%s", p.obuf);
	proc_free(&p);

	static const char *const subs[][3] = {
		{"connect", "--heartbeat-timeout MS", "exit status"},
		{"serve", "--shutdown-spread MS", "exit status"},
		{"proxy", "--control HOST:PORT", "exit status"},
		{"demo", "--heartbeat-interval MS", "exit status"},
	};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		const char *args[] = {subs[i][0], "--help", NULL};
		proc_start(&p, args);
		cr_expect_eq(proc_wait_exit(&p, 10000), 0, "%s --help", subs[i][0]);
		cr_expect(strstr(p.obuf, subs[i][1]) && strstr(p.obuf, subs[i][2]), "%s", p.obuf);
		/* every flag line carries its default */
		int flags = 0, defaults = count_of(p.obuf, "(default: ");
		for (const char *l = strstr(p.obuf, "\n  --"); l; l = strstr(l + 1, "\n  --"))
			flags++;
		cr_expect_eq(defaults, flags - 1, "%s: %d flags, %d defaults (--help has none)",
		             subs[i][0], flags, defaults);
		proc_free(&p);
	}
}

/* ---- connect and serve ------------------------------------------------- */

Test(mws_cli, connect_against_serve_echoes_lines, .timeout = 90)
{
	proc srv, c, b;
	int port = start_serve(&srv, NULL, NULL);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);

	const char *args[] = {"connect", "--linger", "200", url, NULL};
	proc_start(&c, args);
	cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 1, 15000), "stderr: %s", c.ebuf);
	proc_write(&c, "hello\nworld\n");
	cr_assert(proc_wait_text(&c, 1, "hello\nworld\n", 1, 10000), "stdout: %s", c.obuf);
	proc_write(&c, "last line without a newline");
	proc_close_stdin(&c);
	cr_expect_eq(proc_wait_exit(&c, 15000), 0, "stderr: %s", c.ebuf);
	cr_expect(strstr(c.obuf, "last line without a newline\n") != NULL, "stdout: %s", c.obuf);
	cr_expect(strstr(c.ebuf, "CONNECTED -> CLOSED") != NULL, "stderr: %s", c.ebuf);

	const char *bargs[] = {"connect", "--binary", "--linger", "200", "--stats", url, NULL};
	proc_start(&b, bargs);
	proc_write(&b, "bytes\n");
	proc_close_stdin(&b);
	cr_expect_eq(proc_wait_exit(&b, 15000), 0, "stderr: %s", b.ebuf);
	cr_expect_str_eq(b.obuf, "bytes\n");
	cr_expect(strstr(b.ebuf, "stats state=CLOSED") != NULL, "stderr: %s", b.ebuf);

	cr_expect_eq(proc_stop(&srv, 15000), 0, "serve stderr: %s", srv.ebuf);
	cr_expect(strstr(srv.ebuf, "connect id=1 peer=127.0.0.1") != NULL, "%s", srv.ebuf);
	cr_expect(strstr(srv.ebuf, "disconnect id=1 code=1000 why=peer-closed") != NULL, "%s",
	          srv.ebuf);
	proc_free(&c);
	proc_free(&b);
	proc_free(&srv);
}

Test(mws_cli, serve_under_sigterm_closes_its_clients_with_1012, .timeout = 90)
{
	proc srv, c;
	int port = start_serve(&srv, "--shutdown-spread", "1000");
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	const char *args[] = {"connect", "--base-delay", "5000", url, NULL};
	proc_start(&c, args);
	cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 1, 15000), "stderr: %s", c.ebuf);
	cr_assert(proc_wait_text(&srv, 2, "connect id=1", 1, 10000), "serve: %s", srv.ebuf);

	cr_expect_eq(proc_stop(&srv, 15000), 0, "serve stderr: %s", srv.ebuf);
	cr_expect(strstr(srv.ebuf, "shutdown signal=SIGTERM connections=1 code=1012") != NULL,
	          "%s", srv.ebuf);
	cr_expect(strstr(srv.ebuf, "disconnect id=1 code=1012 why=shutdown") != NULL, "%s",
	          srv.ebuf);
	cr_expect(strstr(srv.ebuf, "shutdown done: every client closed") != NULL, "%s", srv.ebuf);

	cr_assert(proc_wait_text(&c, 2, "CONNECTED -> RECONNECTING code=1012", 1, 10000),
	          "stderr: %s", c.ebuf);
	const char *line = strstr(c.ebuf, "CONNECTED -> RECONNECTING code=1012");
	int after = -1, retry = -2;
	cr_assert_eq(sscanf(strstr(line, "retry-after="), "retry-after=%d", &after), 1);
	cr_assert_eq(sscanf(strstr(line, "retry_in="), "retry_in=%dms", &retry), 1);
	cr_expect(after >= 0 && after <= 1000, "retry-after %d", after);
	cr_expect_eq(retry, after, "the client honours the server's retry-after");

	cr_expect_eq(proc_stop(&c, 15000), 0, "connect stderr: %s", c.ebuf);
	proc_free(&c);
	proc_free(&srv);
}

Test(mws_cli, connect_exit_status_tells_how_it_ended, .timeout = 120)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", unused_port());
	struct {
		const char *args[12];
		int status;
		const char *says;
	} cases[] = {
		{{"connect", "--breaker-failures", "3", "--base-delay", "10", "--max-delay", "20", url},
		 4, "reason=\"circuit open\""},
		{{"connect", "--max-attempts", "2", "--base-delay", "10", "--max-delay", "20", url},
		 5, "reason=\"max attempts reached\""},
		{{"connect", "--no-reconnect", url}, 5, "reason=\"reconnection off\""},
		{{"connect", "--flush-timeout", "300", url}, 7, "still queued"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		proc c;
		proc_start(&c, cases[i].args);
		if (cases[i].status == 7)
			proc_write(&c, "nobody hears this\n");
		proc_close_stdin(&c);
		cr_expect_eq(proc_wait_exit(&c, 20000), cases[i].status, "%s: stderr: %s",
		             cases[i].args[1], c.ebuf);
		cr_expect(strstr(c.ebuf, cases[i].says) != NULL, "stderr: %s", c.ebuf);
		proc_free(&c);
	}

	/* A close rule turns the restart into a permanent failure: 3. The
	 * server ending the session with 1000: 6. */
	static const char *const shutdown_code[] = {"1012", "1000"};
	for (int i = 0; i < 2; i++) {
		proc srv, c;
		int port = start_serve(&srv, "--shutdown-code", shutdown_code[i]);
		snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
		const char *args[] = {"connect", "--close-rule", "1012=fail", url, NULL};
		proc_start(&c, args);
		cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 1, 15000), "stderr: %s", c.ebuf);
		proc_stop(&srv, 15000);
		cr_expect_eq(proc_wait_exit(&c, 15000), i == 0 ? 3 : 6, "stderr: %s", c.ebuf);
		cr_expect(strstr(c.ebuf, i == 0 ? "-> FAILED code=1012" : "-> CLOSED code=1000") !=
		          NULL, "stderr: %s", c.ebuf);
		proc_free(&c);
		proc_free(&srv);
	}
}

/* ---- proxy ------------------------------------------------------------- */

Test(mws_cli, connect_survives_proxy_blackhole_and_reset, .timeout = 120)
{
	proc srv, px, c;
	char arg[64], url[64], resp[1024];
	int sport = start_serve(&srv, NULL, NULL);
	snprintf(arg, sizeof arg, "127.0.0.1:%d", sport);
	const char *pargs[] = {"proxy", "--listen", "127.0.0.1:0", "--upstream", arg,
	                       "--control", "127.0.0.1:0", "--print-port", NULL};
	proc_start(&px, pargs);
	int pport = read_number(&px, "PORT"), cport = read_number(&px, "CONTROL");
	cr_assert_gt(cport, 0);
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", pport);
	const char *args[] = {"connect", "--heartbeat-interval", "300", "--heartbeat-timeout", "300",
	                      "--base-delay", "100", "--max-delay", "500", url, NULL};
	proc_start(&c, args);
	cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 1, 15000), "stderr: %s", c.ebuf);
	proc_write(&c, "one\n");
	cr_assert(proc_wait_text(&c, 1, "one\n", 1, 10000), "stdout: %s", c.obuf);

	/* A zombie: blackholed, then new connections pass. */
	proc_write(&px, "blackhole\npass\n");
	cr_assert(proc_wait_text(&px, 1, "ok mode=pass", 1, 10000), "proxy: %s", px.obuf);
	cr_expect(strstr(px.obuf, "ok mode=blackhole") != NULL, "proxy: %s", px.obuf);
	cr_assert(proc_wait_text(&c, 2, "CONNECTED -> RECONNECTING code=4000", 1, 10000),
	          "stderr: %s", c.ebuf);
	cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 2, 10000), "stderr: %s", c.ebuf);
	proc_write(&c, "two\n");
	cr_assert(proc_wait_text(&c, 1, "two\n", 1, 10000), "stdout: %s", c.obuf);

	/* A reset over the HTTP control endpoint, then pass again. */
	http(cport, "GET /mode?set=reset HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
	cr_expect(strstr(resp, "200 OK") && strstr(resp, "ok mode=reset"), "%s", resp);
	http(cport, "POST /mode HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\npass", resp,
	     sizeof resp);
	cr_expect(strstr(resp, "200 OK") && strstr(resp, "ok mode=pass"), "%s", resp);
	cr_assert(proc_wait_text(&c, 2, "-> CONNECTED", 3, 10000), "stderr: %s", c.ebuf);
	proc_write(&c, "three\n");
	cr_assert(proc_wait_text(&c, 1, "three\n", 1, 10000), "stdout: %s", c.obuf);
	cr_expect_str_eq(c.obuf, "one\ntwo\nthree\n");

	http(cport, "GET /mode HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
	cr_expect(strstr(resp, "ok mode=pass") != NULL, "%s", resp);
	http(cport, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
	cr_expect(strstr(resp, "resets=") != NULL, "%s", resp);
	http(cport, "GET /mode?set=explode HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
	cr_expect(strstr(resp, "400 Bad Request") != NULL, "%s", resp);
	http(cport, "GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
	cr_expect(strstr(resp, "404 Not Found") != NULL, "%s", resp);
	proc_write(&px, "explode\n");
	cr_expect(proc_wait_text(&px, 1, "error: unknown command 'explode'", 1, 5000), "%s",
	          px.obuf);

	proc_close_stdin(&c);
	cr_expect_eq(proc_wait_exit(&c, 15000), 0, "stderr: %s", c.ebuf);
	cr_expect_eq(proc_stop(&px, 15000), 0, "proxy stderr: %s", px.ebuf);
	cr_expect_eq(proc_stop(&srv, 15000), 0, "serve stderr: %s", srv.ebuf);
	proc_free(&c);
	proc_free(&px);
	proc_free(&srv);
}

/* ---- demo -------------------------------------------------------------- */

Test(mws_cli, demo_exits_0_with_nothing_reordered_or_lost_after_detection, .timeout = 180)
{
	proc d;
	const char *args[] = {"demo", "--color", "never", NULL};
	proc_start(&d, args);
	proc_close_stdin(&d);
	uint64_t t0 = mws_test_now_ms();
	int rc = proc_wait_exit(&d, 150000);
	cr_expect_eq(rc, 0, "demo exit %d; output:\n%s\nstderr: %s", rc, d.obuf, d.ebuf);
	cr_expect(strstr(d.obuf, "demo: every act behaved as expected") != NULL, "%s", d.obuf);
	cr_expect(strstr(d.obuf, ", reordered 0,") != NULL, "%s", d.obuf);
	cr_expect(strstr(d.obuf, "lost after detection 0\n") != NULL, "%s", d.obuf);
	/* mws.v1 by default: the zombie window loses nothing either. */
	cr_expect(strstr(d.obuf, "results, mws.v1") != NULL, "%s", d.obuf);
	cr_expect(strstr(d.obuf, "lost in the zombie window 0,") != NULL, "%s", d.obuf);
	cr_expect_eq(count_of(d.obuf, "  ok\n"), 5, "%s", d.obuf);
	cr_expect(strstr(d.obuf, "\033[") == NULL, "colour codes with --color never");
	cr_log_info("demo took %llu ms", (unsigned long long)(mws_test_now_ms() - t0));
	proc_free(&d);
}
