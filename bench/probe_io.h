/* Blocking socket I/O of the floor probes (rtt_floor.c, echo_floor.c):
 * exact reads and whole writes, nothing else. */
#ifndef MWS_BENCH_PROBE_IO_H
#define MWS_BENCH_PROBE_IO_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Reads exactly n bytes; -1 on error, timeout (SO_RCVTIMEO) or EOF. */
static inline int read_exact(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return -1;
		p += r, n -= (size_t)r;
	}
	return 0;
}

/* Writes all n bytes; -1 when the socket fails. */
static inline int send_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* An HTTP head, byte by byte up to its blank line (so nothing of the
 * first frame is taken with it), NUL-terminated in head[cap]; -1 when the
 * socket fails first. A head longer than cap - 1 is cut there. */
static inline int read_head(int fd, char *head, size_t cap)
{
	size_t got = 0;
	while (got + 1 < cap) {
		if (read_exact(fd, (unsigned char *)head + got, 1))
			return -1;
		got++;
		if (got >= 4 && !memcmp(head + got - 4, "\r\n\r\n", 4))
			break;
	}
	head[got] = 0;
	return 0;
}

#endif
