/* ws:// and wss:// URLs split into what a connection attempt needs. */
#ifndef MWS_CORE_URL_H
#define MWS_CORE_URL_H
#include <stddef.h>

typedef struct mws__url {
	int tls;            /* wss:// */
	char host[256];     /* without brackets for IPv6 literals */
	int port;           /* explicit, or 80/443 */
	char path[2048];    /* "/" when empty; without the query */
	char query[2048];   /* without '?', "" when none */
} mws__url;

/* 0, or MWS_EINVAL for anything that is not a usable ws/wss URL. */
int mws__url_parse(mws__url *u, const char *text);
/* 1 when host is an IPv4 or IPv6 literal (no resolving needed). */
int mws__url_host_is_literal(const mws__url *u);

/* The Host header's value: "name", or "name:port" for a port that is not
 * the scheme's default (80 for ws, 443 for wss). 0, or -1 if it does not
 * fit in cap. */
int mws__url_host_header(const mws__url *u, char *out, size_t cap);

#endif
