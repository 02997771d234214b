/* Small helpers the mws subcommands share: clocks, timestamped stderr
 * lines, the library context, signals through a self-pipe, HOST:PORT
 * parsing. */
#ifndef MWS_CLI_UTIL_H
#define MWS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "managedws.h"

/* Monotonic milliseconds. */
uint64_t cli_now_ms(void);
/* Monotonic microseconds (the same clock). */
uint64_t cli_now_us(void);

/* Sleeps ms milliseconds (restarting after signals). */
void cli_sleep_ms(int ms);

/* "2024-05-01T12:34:56.789Z" (UTC wall clock) into buf (>= 32 bytes). */
void cli_timestamp(char *buf, size_t cap);

/* One line on stderr: the timestamp, a space, the text, a newline,
 * written at once. Any thread. */
void cli_log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A context with the library's defaults; log_cb non-NULL: every library
 * log line at DEBUG and above goes to it. 0 or a negative MWS_E code. */
int cli_ctx_new(mws_ctx **out, mws_log_cb log_cb);
/* The same on a given loop (mws_event_loop; 0: the default). */
int cli_ctx_new_on(mws_ctx **out, mws_log_cb log_cb, int event_loop);

/* Routes SIGINT and SIGTERM to a self-pipe and ignores SIGPIPE. The
 * handler only writes the signal number to the pipe (async-signal-safe);
 * a second signal while the first is still being handled ends the
 * process at once with 128 + signo. Returns the read end (non-blocking),
 * or -1. */
int cli_signals_install(void);

/* Reads one pending signal number from the pipe, 0 if none. */
int cli_signal_take(int fd);

/* Called by a subcommand once it starts its graceful stop, so that a
 * second signal exits at once. */
void cli_signals_stopping(void);

/* Splits "HOST:PORT", "[v6]:PORT" or ":PORT" (host "127.0.0.1"). The
 * port must be 0..65535. Returns 0, or -1 if s is not of that form. */
int cli_parse_hostport(const char *s, char *host, size_t cap, int *port);

/* A pipe whose ends are non-blocking and close-on-exec. 0 or -1. */
int cli_pipe(int fds[2]);

/* Writes one byte to a wake-up pipe (any thread; errors ignored: a full
 * pipe already wakes the reader). */
void cli_wake(int fd);

/* Empties a wake-up pipe. */
void cli_drain(int fd);

#endif
