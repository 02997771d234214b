/*
 * The fault proxy's socket plumbing: name resolution, the listener, the
 * reset-on-close and the monotonic clock its delays are measured by.
 */
#include "fault_proxy_internal.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t mws__fp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int mws__fp_resolve(const char *host, int port, struct sockaddr_storage *ss,
		    socklen_t *len, bool passive)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int rc;

	if (port < 0 || port > 65535)
		return -EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res)
		return rc == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int mws__fp_open_listener(struct sockaddr_storage *ss, socklen_t *len)
{
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	/* Re-listening on the same port after REFUSE must not trip over the
	 * TIME_WAIT entries of connections the proxy closed. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, *len) < 0 || listen(fd, 128) < 0)
		goto fail;
	if (getsockname(fd, (struct sockaddr *)ss, len) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int mws__fp_port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* An RST instead of a FIN: SO_LINGER with a zero timeout makes close()
 * abort the connection. */
void mws__fp_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void mws__fp_set_nodelay(int fd)
{
	int one = 1;

	/* Small WebSocket frames (pings, heartbeats) must not wait for
	 * Nagle: the proxy should add only the latency it is told to. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
