/*
 * Test support: peer servers run as child processes, bounded waits, and a
 * descriptor count for leak checks. Linux only (/proc, prctl).
 *
 * A peer is any command that prints one line "PORT <n>" on stdout once it
 * listens, e.g.
 *   const char *const argv[] = { "python3",
 *       MWS_SOURCE_DIR "/tests/peers/py_ws_server.py", "--json-heartbeat",
 *       NULL };
 * After that line a peer must print little or nothing to stdout: the pipe
 * is kept open but not read. Its stderr is the test's stderr.
 */
#ifndef MWS_TEST_PEER_H
#define MWS_TEST_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct mws_test_peer {
	pid_t pid;     /* 0 when not running */
	int port;      /* from the PORT line */
	int stdout_fd; /* read end of the child's stdout, -1 when stopped */
} mws_test_peer;

/* How long mws_test_peer_start() waits for the PORT line. */
#define MWS_TEST_PEER_START_TIMEOUT_MS 10000
/* How long mws_test_peer_stop() waits after SIGTERM before SIGKILL. */
#define MWS_TEST_PEER_STOP_TIMEOUT_MS 5000

/* Fork/execs argv (searched in PATH) and waits up to 10 s for "PORT <n>".
 * The child gets SIGTERM if the test process dies. Returns 0 with p filled,
 * or a negative errno: -ETIMEDOUT (child killed and reaped), -ECHILD (it
 * exited or printed something else first), or a fork/pipe failure. */
int mws_test_peer_start(mws_test_peer *p, const char *const argv[]);

/* SIGTERM, waits up to 5 s, then SIGKILL; always reaps the child.
 * Returns its exit code (>= 0) if it exited, or -signo if a signal ended
 * it (-9 means it ignored SIGTERM). A stopped or zeroed p returns 0. */
int mws_test_peer_stop(mws_test_peer *p);

/* Waits up to timeout_ms for the child to exit by itself (a shutdown
 * already asked for), then SIGKILL; reaps it. Returns as _stop() does. */
int mws_test_peer_wait(mws_test_peer *p, int timeout_ms);

/* Calls cond(arg) until it returns true or timeout_ms passes, in short
 * steps. Returns the last result of cond. For polling a condition, never
 * for sleeping "long enough". */
bool mws_test_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);

/* Monotonic milliseconds. */
uint64_t mws_test_now_ms(void);

/* Open descriptors of this process (entries of /proc/self/fd, not counting
 * the one used to read it), or a negative errno. */
int mws_test_count_fds(void);

/* A blocking TCP connect to 127.0.0.1:port. Returns the fd, or -errno
 * (-ECONNREFUSED when nothing listens). */
int mws_test_tcp_connect(int port);

/* Waits up to timeout_ms for fd to become readable (data, EOF or error).
 * Returns 1 if readable, 0 on timeout, -errno on failure. */
int mws_test_wait_readable(int fd, int timeout_ms);

#endif
