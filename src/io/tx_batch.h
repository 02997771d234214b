/* Several small messages in one write: frames built by src/core/ws_frame.c
 * into one buffer and handed to libwebsockets as bytes, one send() for
 * all of them. Shared by the client and the server, I/O thread only. */
#ifndef MWS_IO_TX_BATCH_H
#define MWS_IO_TX_BATCH_H

#include <libwebsockets.h>
#include <stddef.h>

/* The batch buffer's payload room (LWS_PRE more is allocated in front). */
#define MWS__TX_BATCH_CAP (16u * 1024u)

/* The most bytes one write of `wsi` sends at once: libwebsockets 4.1.6
 * (lws_issue_raw) sends at most the protocol's tx_packet_size, else its
 * rx_buffer_size, else 4096, plus LWS_PRE + 4 per call and keeps the rest
 * for the next POLLOUT. A batch stays within it. */
size_t mws__tx_write_limit(struct lws *wsi);

/* A fresh 4-byte masking key from the kernel's random source (getrandom),
 * drawn 256 bytes at a time: one syscall per 64 frames, where
 * libwebsockets reads /dev/urandom for every frame. 0, or -1. */
int mws__tx_mask(unsigned char key[4]);

/* Writes `len` bytes of ready frames at `buf` (LWS_PRE bytes before it
 * are ours): libwebsockets sends them as they are and keeps what the
 * socket does not take. 0, or -1 when the socket failed. */
int mws__tx_write_frames(struct lws *wsi, unsigned char *buf, size_t len);

#endif
