/* Clocks, timestamped lines, the context, the signal self-pipe and
 * HOST:PORT parsing. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t cli_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void cli_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void cli_timestamp(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         ts.tv_nsec / 1000000L);
}

void cli_log_line(const char *fmt, ...)
{
	char ts[40], *text = NULL;
	va_list ap;

	cli_timestamp(ts, sizeof ts);
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	/* One fprintf: stderr is unbuffered, so the line is one write. */
	fprintf(stderr, "%s %s\n", ts, n >= 0 ? text : fmt);
	if (n >= 0)
		free(text);
}

int cli_ctx_new(mws_ctx **out, mws_log_cb log_cb)
{
	return cli_ctx_new_on(out, log_cb, MWS_EVENT_LOOP_DEFAULT);
}

int cli_ctx_new_on(mws_ctx **out, mws_log_cb log_cb, int event_loop)
{
	mws_ctx_config cc;

	mws_ctx_config_init(&cc);
	cc.event_loop = event_loop;
	if (log_cb) {
		cc.log_cb = log_cb;
		cc.log_level = MWS_LOG_DEBUG;
	}
	return mws_ctx_new(out, &cc);
}

int cli_pipe(int fds[2])
{
	return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

void cli_wake(int fd)
{
	char b = 1;
	ssize_t n = write(fd, &b, 1);
	(void)n;
}

void cli_drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof buf) > 0)
		;
}

static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t stopping;

static void on_signal(int signo)
{
	int saved = errno;

	if (stopping)
		_exit(128 + signo);
	unsigned char b = (unsigned char)signo;
	ssize_t n = write(signal_pipe[1], &b, 1);
	(void)n;
	errno = saved;
}

int cli_signals_install(void)
{
	struct sigaction sa;

	if (signal_pipe[0] < 0 && cli_pipe(signal_pipe) < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return signal_pipe[0];
}

int cli_signal_take(int fd)
{
	unsigned char b;

	return read(fd, &b, 1) == 1 ? b : 0;
}

void cli_signals_stopping(void)
{
	stopping = 1;
}

int cli_parse_hostport(const char *s, char *host, size_t cap, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;

	if (!colon || !colon[1])
		return -1;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 0 || p > 65535)
		return -1;
	const char *h = s;
	size_t len = (size_t)(colon - s);
	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		h++;
		len -= 2;
	} else if (memchr(h, ':', len)) {
		return -1; /* an IPv6 address needs brackets */
	}
	if (len == 0) {
		h = "127.0.0.1";
		len = strlen(h);
	}
	if (len >= cap)
		return -1;
	memcpy(host, h, len);
	host[len] = '\0';
	*port = (int)p;
	return 0;
}
