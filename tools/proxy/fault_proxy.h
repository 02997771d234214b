/*
 * mws_fault_proxy — a fault-injecting TCP proxy for tests and the mws CLI.
 *
 * Not part of libmanagedws: it is a tool library that integration tests link
 * to put a misbehaving network between a client and a real server. One
 * thread runs poll() over every socket; the caller's thread only posts
 * commands to it and waits until each command has taken effect, so that a
 * test can rely on "set_mode() returned" meaning "the network now behaves
 * that way".
 *
 * Errors are negative errno values (-EINVAL, -EADDRINUSE, ...), not MWS_E*
 * codes: the proxy talks to the operating system only and errno keeps the
 * reason. Linux only (accept4, SOCK_NONBLOCK, MSG_NOSIGNAL).
 */
#ifndef MWS_FAULT_PROXY_H
#define MWS_FAULT_PROXY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mws_fault_proxy mws_fault_proxy;

typedef enum mws_fault_mode {
	/* Forward bytes both ways as fast as the sockets allow. */
	MWS_FAULT_PASS = 0,
	/* Forward each chunk read from either side delay_ms after it was
	 * read; the order of bytes is kept in each direction. */
	MWS_FAULT_DELAY = 1,
	/* A zombie network: every socket stays open, bytes from either side
	 * are read and discarded, FIN and RST are not passed on. New clients
	 * are accepted but never connected upstream. A connection that was
	 * blackholed stays a zombie after the mode changes, because bytes of
	 * its stream were thrown away and forwarding the rest would hand the
	 * peer a torn frame. */
	MWS_FAULT_BLACKHOLE = 2,
	/* Reset (RST, SO_LINGER 0) both sides of every existing connection
	 * now, and reset each new client right after accepting it. */
	MWS_FAULT_RESET = 3,
	/* Close the listening socket so that connects fail with
	 * ECONNREFUSED; existing connections keep passing bytes. Leaving this
	 * mode listens again on the same port. */
	MWS_FAULT_REFUSE = 4,
} mws_fault_mode;

/* Counters since start. A snapshot; each field is read atomically but the
 * fields are not read together. */
typedef struct mws_fault_proxy_stats {
	uint64_t accepted;   /* client connections accepted (any mode) */
	uint64_t active;     /* connections currently held open */
	uint64_t bytes_up;   /* bytes written to upstream (client -> server) */
	uint64_t bytes_down; /* bytes written to clients (server -> client) */
	uint64_t queued;     /* bytes read and not yet written (held) */
	uint64_t discarded;  /* bytes read and thrown away (blackhole) */
	uint64_t resets;     /* connections the proxy reset on purpose */
	uint64_t upstream_failures; /* upstream connects that failed */
} mws_fault_proxy_stats;

/* Listens on listen_host:listen_port (port 0 picks a free port; read it
 * with mws_fault_proxy_port()) and forwards each client to
 * upstream_host:upstream_port, in PASS mode. Hosts are numeric addresses or
 * names resolved once, here. Starts the proxy thread.
 * Returns 0 and writes *out, or a negative errno (*out untouched). */
int mws_fault_proxy_start(mws_fault_proxy **out, const char *listen_host,
			  int listen_port, const char *upstream_host,
			  int upstream_port);

/* The port the proxy listens on (also while in REFUSE mode). Any thread. */
int mws_fault_proxy_port(const mws_fault_proxy *p);

/* Switches mode. delay_ms is used by MWS_FAULT_DELAY only (0..600000).
 * Returns once the proxy thread has applied it: after RESET returns, every
 * existing connection has been reset; after REFUSE returns, connects are
 * refused. Leaving REFUSE re-binds the same port; if that fails the mode
 * stays REFUSE and the error (e.g. -EADDRINUSE) is returned.
 * Returns 0, -EINVAL, or a negative errno. Any thread except the proxy's. */
int mws_fault_proxy_set_mode(mws_fault_proxy *p, mws_fault_mode mode,
			     int delay_ms);

/* The current mode. Any thread. */
mws_fault_mode mws_fault_proxy_mode(const mws_fault_proxy *p);

/* "pass", "delay", "blackhole", "reset", "refuse"; "?" if unknown. */
const char *mws_fault_mode_name(mws_fault_mode mode);

/* Points new connections at another upstream (tests restart a server on a
 * new port). Existing connections keep their upstream. Returns 0 once
 * applied, or a negative errno (-EINVAL, or a resolver failure as
 * -EHOSTUNREACH). Any thread except the proxy's. */
int mws_fault_proxy_set_upstream(mws_fault_proxy *p, const char *host,
				 int port);

/* A text command, for the CLI: "pass", "delay=MS", "blackhole", "reset",
 * "refuse", "upstream=HOST:PORT". Surrounding blanks and a trailing newline
 * are ignored. Returns -1 if the line is not a command; otherwise the result
 * of mws_fault_proxy_set_mode()/set_upstream() (0 on success). */
int mws_fault_proxy_command(mws_fault_proxy *p, const char *line);

/* Copies the counters. Any thread. */
void mws_fault_proxy_get_stats(const mws_fault_proxy *p,
			       mws_fault_proxy_stats *out);

/* Stops the thread, joins it, closes every socket it holds (clients see an
 * orderly close) and frees p. NULL is allowed. Any thread except the
 * proxy's. */
void mws_fault_proxy_stop(mws_fault_proxy *p);

#ifdef __cplusplus
}
#endif

#endif
