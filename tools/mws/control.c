/* The proxy's HTTP control endpoint: one request per connection, read
 * with a one-second bound, on plain sockets (a handful of routes does not
 * need an HTTP server). */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int control_listen(const char *host, int port, int *bound)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char service[16];
	int fd = -1, err = -EADDRNOTAVAIL, one = 1;

	snprintf(service, sizeof service, "%d", port);
	if (getaddrinfo(host, service, &hints, &res))
		return -EADDRNOTAVAIL;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (!bind(fd, a->ai_addr, a->ai_addrlen) && !listen(fd, 16))
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err;
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                        : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static void respond(int fd, int status, const char *body)
{
	const char *text = status == 200   ? "OK"
	                   : status == 400 ? "Bad Request"
	                   : status == 405 ? "Method Not Allowed"
	                                   : "Not Found";
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, text, strlen(body) + 1);
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
	    send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
		return;
	send(fd, "\n", 1, MSG_NOSIGNAL);
}

/* Decodes %XX and '+' in place (enough for "delay%3D100"). */
static void url_decode(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r == '%' && r[1] && r[2]) {
			char hex[3] = {r[1], r[2], 0};
			*w++ = (char)strtol(hex, NULL, 16);
			r += 2;
		} else {
			*w++ = *r == '+' ? ' ' : *r;
		}
	}
	*w = '\0';
}

/* Reads headers and a Content-Length body into buf; returns the body or
 * NULL if the request did not arrive whole in time. */
static char *read_request(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap - 1) {
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0)
			return NULL;
		got += (size_t)n;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		const char *cl = strcasestr(buf, "\r\ncontent-length:");
		size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
		if (got - (size_t)(end + 4 - buf) >= want) {
			end[4 + want] = '\0';
			return end + 4;
		}
	}
	return NULL;
}

void control_serve_one(int lfd, mws_fault_proxy *p)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof peer;
	int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	char buf[4096], method[8], target[256], reply[256], source[80] = "http";
	struct timeval tv = {1, 0};

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char host[64];
	if (!getnameinfo((struct sockaddr *)&peer, plen, host, sizeof host, NULL, 0,
	                 NI_NUMERICHOST))
		snprintf(source, sizeof source, "http %s", host);
	char *body = read_request(fd, buf, sizeof buf);
	if (!body || sscanf(buf, "%7s %255s", method, target) != 2) {
		respond(fd, 400, "error: bad request");
		close(fd);
		return;
	}
	char *query = strchr(target, '?');
	if (query)
		*query++ = '\0';
	int status = 200;
	if (!strcmp(target, "/mode") || !strcmp(target, "/stats")) {
		const char *cmd = target + 1; /* "mode" or "stats": the queries */
		if (!strcmp(method, "POST") && !strcmp(target, "/mode")) {
			cmd = body;
		} else if (strcmp(method, "GET")) {
			respond(fd, 405, "error: GET or POST");
			close(fd);
			return;
		} else if (query && !strncmp(query, "set=", 4) && !strcmp(target, "/mode")) {
			url_decode(query + 4);
			cmd = query + 4;
		}
		if (proxy_apply(p, cmd, source, reply, sizeof reply))
			status = 400;
	} else {
		status = 404;
		snprintf(reply, sizeof reply, "error: try GET /mode, GET /mode?set=blackhole, "
		                              "POST /mode, GET /stats");
	}
	respond(fd, status, reply);
	close(fd);
}
