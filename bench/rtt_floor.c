/* The floor of a round trip against a given echo server: a probe, not a
 * client. It does the least any WebSocket client could: one blocking
 * socket, one pre-masked binary frame written with one send(), exactly the
 * answer's bytes read back (an unmasked frame of the same payload), no
 * parser, no event loop, no thread hop. What it measures is the server's
 * share plus the kernel's; no client can be faster against that server.
 *
 *   rtt_floor URL rtt COUNT SIZE        (SIZE 0..125: one-byte length)
 *
 * Prints one JSON line like client_bench's ("client":"floor"). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "probe_io.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ws://127.0.0.1:PORT/PATH -> a connected socket after the 101, or -1. */
static int open_ws(const char *url)
{
	char host[64], path[256] = "/";
	int port;
	if (sscanf(url, "ws://%63[^:/]:%d%255s", host, &port, path) < 2) {
		fprintf(stderr, "rtt_floor: URL must be ws://IP:PORT/...\n");
		return -1;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct timeval tv = {5, 0};
	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		perror("rtt_floor: connect");
		return -1;
	}
	char req[512], head[2048];
	int n = snprintf(req, sizeof req,
	                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 path, host, port);
	if (send(fd, req, (size_t)n, 0) != n)
		return -1;
	if (read_head(fd, head, sizeof head))
		return -1;
	if (strncmp(head, "HTTP/1.1 101", 12)) {
		fprintf(stderr, "rtt_floor: no 101: %.40s\n", head);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 5 || strcmp(argv[2], "rtt")) {
		fprintf(stderr, "usage: %s URL rtt COUNT SIZE\n", argv[0]);
		return 2;
	}
	long count = atol(argv[3]);
	long size = atol(argv[4]);
	if (count <= 0 || count > 10000000 || size < 0 || size > 125) {
		fprintf(stderr, "COUNT in 1..10^7, SIZE in 0..125\n");
		return 2;
	}
	int fd = open_ws(argv[1]);
	if (fd < 0)
		return 1;
	/* The frame, masked once: FIN|binary, MASK|len, key, payload ^ key. */
	unsigned char out[6 + 125], in[2 + 125], want[2] = {0x82, (unsigned char)size};
	static const unsigned char key[4] = {0x5a, 0xc3, 0x17, 0x9e};
	out[0] = 0x82, out[1] = (unsigned char)(0x80 | size);
	memcpy(out + 2, key, 4);
	for (long i = 0; i < size; i++)
		out[6 + i] = (unsigned char)('x' ^ key[i & 3]);
	size_t out_len = 6 + (size_t)size, in_len = 2 + (size_t)size;
	double *rtt = malloc(sizeof *rtt * (size_t)count);
	if (!rtt)
		return 1;
	for (long i = 0; i < count; i++) {
		double t0 = now_us();
		if (send(fd, out, out_len, 0) != (ssize_t)out_len || read_exact(fd, in, in_len)) {
			fprintf(stderr, "rtt_floor: send/recv failed at %ld\n", i);
			return 1;
		}
		rtt[i] = now_us() - t0;
		if (memcmp(in, want, 2)) {
			fprintf(stderr, "rtt_floor: answer is not one binary frame of %ld B\n", size);
			return 1;
		}
	}
	qsort(rtt, (size_t)count, sizeof *rtt, cmp_double);
	printf("{\"client\":\"floor\",\"mode\":\"rtt\",\"msgs\":%ld,\"size\":%ld,"
	       "\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f}\n",
	       count, size, rtt[count / 2], rtt[count * 9 / 10], rtt[count * 99 / 100]);
	/* A close frame (masked, empty), then the socket. */
	static const unsigned char bye[6] = {0x88, 0x80, 0, 0, 0, 0};
	(void)!send(fd, bye, sizeof bye, 0);
	close(fd);
	free(rtt);
	return 0;
}
