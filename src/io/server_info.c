/* What the application may learn of a connection's request (mws_conn_info):
 * filled at the handshake from libwebsockets' parsed headers, and the named
 * headers an mws.v1 session keeps for its on_connect, which comes with its
 * hello after libwebsockets freed the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http_head.h"
#include "io/server_io.h"

void mws__srv_info_fill(mws__srv_info *info, struct lws *wsi)
{
	memset(info, 0, sizeof *info);
	info->pub.size = sizeof info->pub;
	info->wsi = wsi;
	lws_get_peer_simple(wsi, info->ip, sizeof info->ip);
	if (!strncmp(info->ip, "::ffff:", 7) && strchr(info->ip + 7, '.'))
		memmove(info->ip, info->ip + 7, strlen(info->ip + 7) + 1);
	if (lws_hdr_copy(wsi, info->path, sizeof info->path, WSI_TOKEN_GET_URI) < 0)
		info->path[0] = '\0';
	size_t n = strlen(info->path);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0 && n + 2 < sizeof info->path) {
		info->path[n] = '?';
		if (lws_hdr_copy(wsi, info->path + n + 1, (int)(sizeof info->path - n - 1),
		                 WSI_TOKEN_HTTP_URI_ARGS) < 0)
			info->path[n] = '\0';
	}
	if (lws_hdr_copy(wsi, info->origin, sizeof info->origin, WSI_TOKEN_ORIGIN) < 0)
		info->origin[0] = '\0';
	if (lws_hdr_copy(wsi, info->subprotocol, sizeof info->subprotocol, WSI_TOKEN_PROTOCOL) < 0)
		info->subprotocol[0] = '\0';
	info->pub.peer_ip = info->ip;
	info->pub.path = info->path;
	info->pub.origin = info->origin;
	info->pub.subprotocol = info->subprotocol;
}

/* The request is gone (an mws.v1 session's on_connect): what keep_headers
 * kept, else MWS_ESTATE. */
static int mws__srv_info_kept(const mws__srv_info *info, const char *name, char *buf,
                              size_t cap)
{
	for (size_t off = 0; off < info->kept_len;) {
		const char *k = info->kept + off, *v = k + strlen(k) + 1;
		size_t vn = strlen(v);
		if (!strcasecmp(k, name)) {
			if (vn >= cap)
				return MWS_ETOOBIG;
			memcpy(buf, v, vn + 1);
			return (int)vn;
		}
		off = (size_t)(v - info->kept) + vn + 1;
	}
	return MWS_ESTATE;
}

void mws__srv_info_keep(mws__srv_info *info, char *const *names, size_t n)
{
	size_t len = 0;
	char *kept = NULL;
	for (size_t i = 0; i < n; i++) {
		char val[4096];
		int vn = mws_conn_info_header(&info->pub, names[i], val, sizeof val);
		if (vn < 0)
			vn = 0, val[0] = '\0'; /* too long for a kept header: absent */
		size_t kn = strlen(names[i]);
		char *grown = realloc(kept, len + kn + 1 + (size_t)vn + 1);
		if (!grown)
			break; /* kept so far stays; the rest reads as MWS_ESTATE */
		kept = grown;
		memcpy(kept + len, names[i], kn + 1);
		memcpy(kept + len + kn + 1, val, (size_t)vn + 1);
		len += kn + 1 + (size_t)vn + 1;
	}
	info->kept = kept;
	info->kept_len = len;
	info->wsi = NULL; /* libwebsockets frees the headers after the upgrade */
}

MWS_API int mws_conn_info_header(const mws_conn_info *pub, const char *name, char *buf,
                                 size_t cap)
{
	if (!pub || !name || !*name || !buf || cap == 0 || cap > INT32_MAX ||
	    strlen(name) > 120 || strpbrk(name, ": \r\n"))
		return MWS_EINVAL;
	const mws__srv_info *info = MWS__CONTAINER_OF(pub, mws__srv_info, pub);
	struct lws *wsi = info->wsi;
	buf[0] = '\0';
	if (!wsi && info->head) { /* the head reader's on_auth (server_head.c) */
		int n = mws__head_header(info->head, info->head_len, name, buf, cap);
		return n < 0 ? MWS_ETOOBIG : n;
	}
	if (!wsi)
		return mws__srv_info_kept(info, name, buf, cap);
	char key[128];
	size_t kn = strlen(name);
	for (size_t i = 0; i < kn; i++)
		key[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	key[kn] = ':';
	key[kn + 1] = '\0';
	/* Known headers are tokens; the rest are "custom" headers. */
	for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
		const char *s = (const char *)lws_token_to_string((enum lws_token_indexes)t);
		if (!s || strcasecmp(s, key))
			continue;
		int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
		if (len <= 0)
			return 0;
		if ((size_t)len >= cap)
			return MWS_ETOOBIG;
		int n = lws_hdr_copy(wsi, buf, (int)cap, (enum lws_token_indexes)t);
		return n < 0 ? 0 : n;
	}
	int len = lws_hdr_custom_length(wsi, key, (int)kn + 1);
	if (len <= 0)
		return 0;
	if ((size_t)len >= cap)
		return MWS_ETOOBIG;
	int n = lws_hdr_custom_copy(wsi, buf, (int)cap, key, (int)kn + 1);
	return n < 0 ? 0 : n;
}

MWS_API int mws_conn_info_headers(const mws_conn_info *pub, char *buf, size_t cap)
{
	if (!pub || !buf || cap == 0 || cap > INT32_MAX)
		return MWS_EINVAL;
	const mws__srv_info *info = MWS__CONTAINER_OF(pub, mws__srv_info, pub);
	buf[0] = '\0';
	if (!info->head)
		return MWS_ESTATE;
	int n = mws__head_lines(info->head, info->head_len, buf, cap);
	return n < 0 ? MWS_ETOOBIG : n;
}
