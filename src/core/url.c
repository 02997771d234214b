/* ws:// and wss:// URL splitting. Strict on purpose: whatever passes here
 * goes into a connection attempt's Host header, SNI and request line. */
#include "url.h"
#include "managedws.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Spaces, control characters and raw non-ASCII bytes (which must be
 * percent-encoded in a URL) are refused anywhere. */
static int all_printable_ascii(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f)
			return 0;
	}
	return 1;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* Copies [s, s+len) into dst (cap bytes with the NUL); 0 if it does not fit. */
static int copy_part(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return 0;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 1;
}

/* "1".."65535", digits only. */
static int parse_port(const char *s, size_t len, int *port)
{
	if (len == 0 || len > 5)
		return 0;
	int value = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		value = value * 10 + (s[i] - '0');
	}
	if (value < 1 || value > 65535)
		return 0;
	*port = value;
	return 1;
}

/* host, [v6] or host:port, [v6]:port. */
static int parse_authority(mws__url *u, const char *s, size_t len)
{
	/* Userinfo ("user:pass@") is refused rather than dropped: libwebsockets
	 * would not send it, and credentials in a URL end up in logs. The
	 * credentials callback sets an Authorization header instead. */
	if (memchr(s, '@', len))
		return 0;
	const char *port = NULL;
	size_t host_len;
	if (len && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return 0;
		host_len = (size_t)(close - s) - 1;
		if (!copy_part(u->host, sizeof(u->host), s + 1, host_len))
			return 0;
		struct in6_addr addr;
		if (inet_pton(AF_INET6, u->host, &addr) != 1)
			return 0;
		const char *rest = close + 1;
		if (rest < s + len) {
			if (*rest != ':')
				return 0;
			port = rest + 1;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		host_len = colon ? (size_t)(colon - s) : len;
		for (size_t i = 0; i < host_len; i++) {
			if (!host_char(s[i]))
				return 0;
		}
		if (!copy_part(u->host, sizeof(u->host), s, host_len))
			return 0;
		if (colon)
			port = colon + 1;
	}
	if (host_len == 0)
		return 0;
	/* "host:" with an empty port is refused too: it is almost always a typo. */
	return !port || parse_port(port, (size_t)(s + len - port), &u->port);
}

int mws__url_parse(mws__url *u, const char *text)
{
	if (!u || !text || !all_printable_ascii(text))
		return MWS_EINVAL;
	mws__url url = {0};
	const char *p;
	if (strncasecmp(text, "ws://", 5) == 0) {
		p = text + 5;
	} else if (strncasecmp(text, "wss://", 6) == 0) {
		url.tls = 1;
		p = text + 6;
	} else {
		return MWS_EINVAL;
	}
	url.port = url.tls ? 443 : 80;

	size_t authority_len = strcspn(p, "/?#");
	if (!parse_authority(&url, p, authority_len))
		return MWS_EINVAL;
	p += authority_len;

	size_t path_len = strcspn(p, "?#");
	if (path_len == 0)
		strcpy(url.path, "/");
	else if (!copy_part(url.path, sizeof(url.path), p, path_len))
		return MWS_EINVAL;
	p += path_len;

	if (*p == '?') {
		p++;
		size_t query_len = strcspn(p, "#");
		if (!copy_part(url.query, sizeof(url.query), p, query_len))
			return MWS_EINVAL;
	}
	/* A fragment is never sent to a server: dropped. */
	*u = url;
	return 0;
}

int mws__url_host_is_literal(const mws__url *u)
{
	unsigned char addr[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, u->host, addr) == 1 || inet_pton(AF_INET6, u->host, addr) == 1;
}

int mws__url_host_header(const mws__url *u, char *out, size_t cap)
{
	/* RFC 7230 5.4: the port only when it is not the scheme's default;
	 * IPv6 literals in brackets. */
	int v6 = strchr(u->host, ':') != NULL;
	int dflt = u->port == (u->tls ? 443 : 80);
	int n = dflt ? snprintf(out, cap, v6 ? "[%s]" : "%s", u->host)
	             : snprintf(out, cap, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
