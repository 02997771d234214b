/* The floor of a round trip for a given client: a probe, not a server. It
 * does the least any WebSocket echo server could: one blocking socket per
 * connection (served one after another), the frame read with exact reads
 * (header, then key and payload), unmasked and written back with one
 * send(); no event loop, no library, no limits or checks a real server owes
 * (no UTF-8, no fragments, no ping). What a client measures against it is
 * its own share plus the kernel's; no server can answer that client faster.
 *
 *   echo_floor            prints "PORT n" (127.0.0.1, an ephemeral port)
 *
 * Ends on SIGINT/SIGTERM (the harness stops it like the other servers). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "probe_io.h"

#define FLOOR_PAYLOAD_MAX (1u << 20)

/* Reads the request head and answers 101 with its Sec-WebSocket-Accept
 * (RFC 6455 4.2.2: base64 of SHA-1 of the key and the GUID). */
static int handshake(int fd)
{
	char head[4096];
	if (read_head(fd, head, sizeof head))
		return -1;
	const char *k = strcasestr(head, "\r\nSec-WebSocket-Key:");
	if (!k)
		return -1;
	k += 20;
	while (*k == ' ')
		k++;
	size_t klen = strcspn(k, " \r\n");
	char joined[128];
	if (klen > 64)
		return -1;
	int jn = snprintf(joined, sizeof joined, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
	                  (int)klen, k);
	unsigned char digest[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)joined, (size_t)jn, digest);
	char accept[32];
	EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);
	char resp[256];
	int n = snprintf(resp, sizeof resp,
	                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	                 accept);
	return send_all(fd, (const unsigned char *)resp, (size_t)n);
}

/* Echoes frames until a close frame (answered) or the socket ends. */
static void serve(int fd, unsigned char *buf)
{
	for (;;) {
		unsigned char h[14];
		if (read_exact(fd, h, 2))
			return;
		int op = h[0] & 0x0f;
		uint64_t len = h[1] & 0x7f;
		size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
		if (!(h[1] & 0x80) || read_exact(fd, h + 2, ext + 4))
			return; /* a client's frames are masked */
		if (ext) {
			len = 0;
			for (size_t i = 0; i < ext; i++)
				len = len << 8 | h[2 + i];
		}
		if (len > FLOOR_PAYLOAD_MAX)
			return;
		const unsigned char *key = h + 2 + ext;
		size_t hl = len < 126 ? 2 : len < 65536 ? 4 : 10;
		unsigned char *payload = buf + 10;
		if (read_exact(fd, payload, (size_t)len))
			return;
		for (size_t i = 0; i < len; i++)
			payload[i] ^= key[i & 3];
		unsigned char *out = payload - hl;
		out[0] = (unsigned char)(0x80 | op);
		if (hl == 2) {
			out[1] = (unsigned char)len;
		} else if (hl == 4) {
			out[1] = 126, out[2] = (unsigned char)(len >> 8), out[3] = (unsigned char)len;
		} else {
			out[1] = 127;
			for (int i = 0; i < 8; i++)
				out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
		}
		if (op == 0x8) { /* close: echoed (code and reason), then done */
			(void)send_all(fd, out, hl + (size_t)len);
			return;
		}
		if (send_all(fd, out, hl + (size_t)len))
			return;
	}
}

int main(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		perror("echo_floor");
		return 1;
	}
	unsigned char *buf = malloc(10 + FLOOR_PAYLOAD_MAX);
	if (!buf)
		return 1;
	printf("PORT %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {30, 0}; /* a client that went quiet frees the probe */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (!handshake(fd))
			serve(fd, buf);
		close(fd);
	}
}
