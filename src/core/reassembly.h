/* Rebuilds a WebSocket message from the chunks libwebsockets hands over
 * (frames, and pieces of frames), with a size limit. A message that comes
 * in one chunk is passed through without a copy. */
#ifndef MWS_CORE_REASSEMBLY_H
#define MWS_CORE_REASSEMBLY_H
#include <stddef.h>

typedef struct mws__reassembly {
	unsigned char *buf;
	size_t len, cap;
	int type;            /* of the message being rebuilt: mws_msg_type */
} mws__reassembly;

typedef enum mws__reasm_result {
	MWS__REASM_PARTIAL = 0, /* more chunks to come */
	MWS__REASM_COMPLETE,    /* *msg, *msg_len: the whole message, until the next feed */
	MWS__REASM_TOO_BIG      /* over the limit (or out of memory): close with 1009 */
} mws__reasm_result;

/* Feeds one chunk. `first` and `last` say whether it starts and ends the
 * message; `type` is read on the first chunk. */
int mws__reasm_feed(mws__reassembly *r, int first, int last, int type, const void *in,
                    size_t len, size_t limit, const void **msg, size_t *msg_len);
/* Frees the buffer; the struct may be fed again afterwards. */
void mws__reasm_free(mws__reassembly *r);

#endif
