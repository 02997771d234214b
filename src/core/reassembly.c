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
	if (first && last) {
		*msg = in;
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
	*msg = r->buf;
	*msg_len = r->len;
	r->len = 0;
	return MWS__REASM_COMPLETE;
}
