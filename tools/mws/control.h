/* The proxy's control surface: text commands (from stdin or HTTP) and a
 * tiny HTTP endpoint on plain sockets. */
#ifndef MWS_CLI_CONTROL_H
#define MWS_CLI_CONTROL_H

#include <stddef.h>

#include "fault_proxy.h"

/* Runs one text command against the proxy: "pass", "delay=MS",
 * "blackhole", "reset", "refuse", "upstream=HOST:PORT", or the queries
 * "mode" and "stats". Writes a one-line reply ("ok mode=blackhole",
 * "error: ...") without a newline and logs changes on stderr, naming
 * `source`. Returns 0 on success, -1 if the command failed or is unknown.
 * Implemented in proxy.c. */
int proxy_apply(mws_fault_proxy *p, const char *cmd, const char *source, char *reply,
                size_t cap);

/* Listens on host:port (TCP, non-blocking); the bound port goes to
 * *bound. Returns the descriptor or a negative errno. */
int control_listen(const char *host, int port, int *bound);

/* Accepts and answers one HTTP request waiting on lfd, reading for at
 * most a second:
 *   GET /mode             -> the current mode
 *   GET /mode?set=CMD     -> applies CMD (any proxy_apply command)
 *   POST /mode (body CMD) -> the same
 *   GET /stats            -> the counters
 * 200 with the reply, 400 if the command failed, 404/405 otherwise. */
void control_serve_one(int lfd, mws_fault_proxy *p);

#endif
