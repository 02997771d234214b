/* Batched writes of frames we built ourselves. */
#include "io/tx_batch.h"

#include <string.h>
#include <sys/random.h>

#define MWS__MASK_POOL 256

/* Per I/O thread: each context's loop draws from its own pool. */
static _Thread_local unsigned char mws__mask_pool[MWS__MASK_POOL];
static _Thread_local size_t mws__mask_left;

int mws__tx_mask(unsigned char key[4])
{
	if (mws__mask_left < 4) {
		size_t got = 0;
		while (got < sizeof mws__mask_pool) {
			ssize_t n = getrandom(mws__mask_pool + got, sizeof mws__mask_pool - got, 0);
			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
		mws__mask_left = sizeof mws__mask_pool;
	}
	mws__mask_left -= 4;
	memcpy(key, mws__mask_pool + mws__mask_left, 4);
	/* Used once: a later fork or a leak of the pool cannot replay it. */
	memset(mws__mask_pool + mws__mask_left, 0, 4);
	return 0;
}

size_t mws__tx_write_limit(struct lws *wsi)
{
	const struct lws_protocols *p = lws_get_protocol(wsi);
	size_t n = p && p->tx_packet_size ? p->tx_packet_size
	           : p && p->rx_buffer_size ? p->rx_buffer_size : 4096;
	n += LWS_PRE + 4;
	return n < MWS__TX_BATCH_CAP ? n : MWS__TX_BATCH_CAP;
}

int mws__tx_write_frames(struct lws *wsi, unsigned char *buf, size_t len)
{
	/* LWS_WRITE_HTTP takes libwebsockets' send_raw path on a WebSocket
	 * connection (lib/roles/ws/ops-ws.c): no header, no mask, no copy. */
	return lws_write(wsi, buf, len, LWS_WRITE_HTTP) < (int)len ? -1 : 0;
}
