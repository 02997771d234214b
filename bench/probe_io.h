/* Blocking socket I/O of the floor probes (rtt_floor.c, echo_floor.c):
 * exact reads and whole writes, nothing else. */
#ifndef MWS_BENCH_PROBE_IO_H
#define MWS_BENCH_PROBE_IO_H

#include <stddef.h>
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

#endif
