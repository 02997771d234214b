/* Messages rebuilt from chunks, bounded by a limit. */
#include "core/reassembly.h"

#include <stdlib.h>
#include <string.h>

void mws__reasm_free(mws__reassembly *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static int mws__reasm_reserve(mws__reassembly *r, size_t need)
{
	if (need <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 4096;
	while (cap < need)
		cap *= 2;
	unsigned char *grown = realloc(r->buf, cap);
	if (!grown)
		return -1;
	r->buf = grown;
	r->cap = cap;
	return 0;
}

int mws__reasm_feed(mws__reassembly *r, int first, int last, int type, const void *in,
                    size_t len, size_t limit, const void **msg, size_t *msg_len)
{
	if (first) {
		r->len = 0;
		r->type = type;
	}
	if (len > limit || r->len > limit - len)
		return MWS__REASM_TOO_BIG;
	/* An empty message is still a message: never a NULL pointer, which
	 * libwebsockets hands over for an empty frame and bindings reject. */
	static const unsigned char empty[1];
	if (first && last) {
		*msg = in ? in : (const void *)empty;
		*msg_len = len;
		return MWS__REASM_COMPLETE;
	}
	if (mws__reasm_reserve(r, r->len + len))
		return MWS__REASM_TOO_BIG;
	if (len)
		memcpy(r->buf + r->len, in, len);
	r->len += len;
	if (!last)
		return MWS__REASM_PARTIAL;
	*msg = r->buf ? (const void *)r->buf : (const void *)empty;
	*msg_len = r->len;
	r->len = 0;
	return MWS__REASM_COMPLETE;
}
