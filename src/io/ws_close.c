/* The close frame libwebsockets prepared on its own. */
#include <string.h>

#include "io/ctx.h"

int mws__ws_own_close(struct lws *wsi, char *reason, size_t cap)
{
	int len = lws_get_close_length(wsi);
	if (cap)
		reason[0] = '\0';
	if (len < 2)
		return 0;
	const unsigned char *p = lws_get_close_payload(wsi);
	size_t n = (size_t)len - 2;
	if (cap) {
		if (n >= cap)
			n = cap - 1;
		memcpy(reason, p + 2, n);
		reason[n] = '\0';
	}
	return p[0] << 8 | p[1];
}
