/* RFC 6455 data frames built by hand, for the writes that carry several
 * small messages at once (src/io/client_tx.c, server_tx.c): libwebsockets
 * 4.1.6 frames one message per lws_write(), one send() each, and reads 4
 * bytes of /dev/urandom for every client frame's mask. */
#ifndef MWS_CORE_WS_FRAME_H
#define MWS_CORE_WS_FRAME_H
#include <stddef.h>

/* The largest header: 2 + 8 (64-bit length) + 4 (mask). */
#define MWS__FRAME_HEADER_MAX 14

enum { MWS__OP_CONTINUATION = 0x0, MWS__OP_TEXT = 0x1, MWS__OP_BINARY = 0x2 };

/* Bytes of the header of a frame with `len` payload bytes. */
size_t mws__frame_header_len(size_t len, int masked);

/* Writes one frame at `out` (mws__frame_header_len() + len bytes): FIN
 * when `fin`, opcode, and the payload masked with `mask` (4 bytes; NULL:
 * a server's unmasked frame). Returns the bytes written. */
size_t mws__frame_put(unsigned char *out, int opcode, int fin, const unsigned char *mask,
                      const void *payload, size_t len);

#endif
