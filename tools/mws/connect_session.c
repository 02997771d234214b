/* mws connect's session: the callbacks (I/O thread) and the stdin loop
 * (main thread). */
#include "connect_session.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_lines.h"
#include "util.h"

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	connect_session *s = ud;

	if (s->json)
		jl_state(ch);
	else if (!s->quiet) {
		char retry[64] = "";
		if (ch->to == MWS_STATE_RECONNECTING)
			snprintf(retry, sizeof retry, " retry_in=%dms attempt=%u", ch->retry_delay_ms,
			         ch->attempt);
		cli_log_line("%s -> %s code=%d reason=\"%s\"%s", mws_state_name(ch->from),
		             mws_state_name(ch->to), ch->close_code, ch->reason, retry);
	}
	if (ch->to == MWS_STATE_FAILED || ch->to == MWS_STATE_CLOSED) {
		pthread_mutex_lock(&s->lock);
		s->ended = 1;
		s->end_state = ch->to;
		snprintf(s->end_reason, sizeof s->end_reason, "%s", ch->reason);
		pthread_mutex_unlock(&s->lock);
		cli_wake(s->wake[1]);
	}
}

static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	connect_session *s = ud;
	if (s->json) {
		cJSON *o = jl_event("message");
		if (o)
			jl_add_data(o, data, len, type);
		jl_emit(o);
		return;
	}
	flockfile(stdout);
	fwrite(data, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	funlockfile(stdout);
}

int connect_session_open(connect_session *s)
{
	if (cli_pipe(s->wake) < 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	s->ready = 1;
	return 0;
}

int connect_session_attach(connect_session *s, mws_client *c)
{
	mws_client_callbacks cbs = {sizeof cbs, on_state, on_message, NULL};

	return mws_client_set_callbacks(c, &cbs, s, NULL);
}

void connect_session_close(connect_session *s)
{
	if (!s->ready)
		return;
	pthread_mutex_destroy(&s->lock);
	close(s->wake[0]);
	close(s->wake[1]);
	s->ready = 0;
}

/* Pending stdin bytes, split into lines as they come. */
typedef struct line_buf {
	char *data;
	size_t len, cap;
} line_buf;

static int line_buf_read(line_buf *b, int fd)
{
	if (b->cap - b->len < 65536) {
		size_t cap = b->cap ? b->cap * 2 : 131072;
		char *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	b->len += (size_t)n;
	return n == 0 ? 0 : 1;
}

/* Sends every complete line (and at EOF the unterminated rest). Returns 0
 * when all went, MWS_EQUEUEFULL when the queue pushed back (the line stays),
 * or the error that refused a send. */
static int send_lines(mws_client *c, line_buf *b, int eof, int type)
{
	size_t start = 0;
	int rc = 0;

	while (start < b->len) {
		char *nl = memchr(b->data + start, '\n', b->len - start);
		if (!nl && !eof)
			break;
		size_t end = nl ? (size_t)(nl - b->data) : b->len, len = end - start;
		if (len && b->data[start + len - 1] == '\r')
			len--;
		rc = mws_client_send(c, b->data + start, len, type);
		if (rc == MWS_EQUEUEFULL) {
			mws_client_stats st = {.size = sizeof st};
			mws_client_stats_get(c, &st);
			if (st.queue_messages > 0)
				break;
			/* Nothing waits, yet it does not fit: it never will. */
			fprintf(stderr, "mws connect: a line of %zu bytes exceeds --queue-max-bytes; "
			                "skipped\n", len);
			rc = 0;
		} else if (rc == MWS_ESTATE) {
			/* --no-offline-queue: not connected, the line is dropped. */
			fprintf(stderr, "mws connect: not connected; a line of %zu bytes dropped\n", len);
			rc = 0;
		} else if (rc) {
			break;
		}
		start = nl ? end + 1 : b->len;
	}
	memmove(b->data, b->data + start, b->len - start);
	b->len -= start;
	return rc;
}

/* How the client ended, as an exit status. */
static int exit_status_for(connect_session *s)
{
	int status;

	pthread_mutex_lock(&s->lock);
	if (s->end_state == MWS_STATE_CLOSED)
		status = CONNECT_EXIT_SERVER_CLOSED;
	else if (!strcmp(s->end_reason, "circuit open"))
		status = CONNECT_EXIT_CIRCUIT_OPEN;
	else if (!strcmp(s->end_reason, "max attempts reached") ||
	         !strcmp(s->end_reason, "reconnection off"))
		status = CONNECT_EXIT_MAX_ATTEMPTS;
	else
		status = CONNECT_EXIT_FAILED;
	pthread_mutex_unlock(&s->lock);
	return status;
}

static int session_ended(connect_session *s)
{
	pthread_mutex_lock(&s->lock);
	int ended = s->ended;
	pthread_mutex_unlock(&s->lock);
	return ended;
}

/* Closes with 1000 and waits (bounded) for CLOSED. */
static void close_and_wait(connect_session *s, mws_client *c)
{
	mws_client_close(c, 1000, "bye");
	uint64_t end = cli_now_ms() + 2000;
	while (!session_ended(s) && cli_now_ms() < end) {
		struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
		poll(&p, 1, 50);
		cli_drain(s->wake[0]);
	}
}

int connect_session_run(connect_session *s, mws_client *c, int sig_r)
{
	line_buf in = {0};
	int eof = 0, blocked = 0, status = -1, wake_r = s->wake[0];
	int type = s->binary ? MWS_MSG_BINARY : MWS_MSG_TEXT;
	uint64_t flush_end = 0, linger_end = 0;

	while (status < 0) {
		struct pollfd p[3] = {{.fd = wake_r, .events = POLLIN},
		                      {.fd = sig_r, .events = POLLIN},
		                      {.fd = eof || blocked ? -1 : 0, .events = POLLIN}};
		int timeout = blocked || eof ? 10 : -1;
		if (poll(p, 3, timeout) < 0 && errno != EINTR) {
			status = CONNECT_EXIT_INTERNAL;
			break;
		}
		cli_drain(wake_r);
		if (session_ended(s)) {
			status = exit_status_for(s);
			break;
		}
		if (cli_signal_take(sig_r)) {
			cli_signals_stopping();
			close_and_wait(s, c);
			status = CONNECT_EXIT_CLOSED_BY_US;
			break;
		}
		if (p[2].revents) {
			int r = line_buf_read(&in, 0);
			if (r <= 0) {
				if (r < 0)
					fprintf(stderr, "mws connect: reading stdin: %s\n", strerror(-r));
				eof = 1;
				flush_end = cli_now_ms() + (uint64_t)s->flush_timeout_ms;
			}
		}
		int rc = send_lines(c, &in, eof, type);
		blocked = rc == MWS_EQUEUEFULL;
		if (rc && !blocked)
			continue; /* FAILED or CLOSED: the wake pipe tells which */
		if (!eof || in.len)
			continue;
		mws_client_stats st = {.size = sizeof st};
		mws_client_stats_get(c, &st);
		uint64_t now = cli_now_ms();
		if (st.queue_messages > 0) {
			if (now >= flush_end) {
				fprintf(stderr, "mws connect: stdin ended; %u messages still queued after "
				                "--flush-timeout %d ms, discarded\n", st.queue_messages,
				        s->flush_timeout_ms);
				close_and_wait(s, c);
				status = CONNECT_EXIT_UNFLUSHED;
			}
			continue;
		}
		if (!linger_end)
			linger_end = now + (uint64_t)s->linger_ms;
		if (now >= linger_end) {
			close_and_wait(s, c);
			status = CONNECT_EXIT_CLOSED_BY_US;
		}
	}
	free(in.data);
	return status;
}
