/*
 * The text commands of the CLI's control channel ("pass", "delay=MS",
 * "upstream=HOST:PORT", ...), turned into the public calls.
 */
#include "fault_proxy.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

static bool parse_int(const char *s, size_t len, int lo, int hi, int *out)
{
	long v = 0;

	if (len == 0 || len > 9)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

int mws_fault_proxy_command(mws_fault_proxy *p, const char *line)
{
	static const struct {
		const char *word;
		mws_fault_mode mode;
	} plain[] = {
		{ "pass", MWS_FAULT_PASS },
		{ "blackhole", MWS_FAULT_BLACKHOLE },
		{ "reset", MWS_FAULT_RESET },
		{ "refuse", MWS_FAULT_REFUSE },
	};
	const char *s, *e;
	size_t len;
	int v;

	if (!p || !line)
		return -1;
	for (s = line; *s == ' ' || *s == '\t'; s++)
		;
	for (e = s + strlen(s); e > s && strchr(" \t\r\n", e[-1]); e--)
		;
	len = (size_t)(e - s);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (len == strlen(plain[i].word) &&
		    memcmp(s, plain[i].word, len) == 0)
			return mws_fault_proxy_set_mode(p, plain[i].mode, 0);
	if (len > 6 && memcmp(s, "delay=", 6) == 0) {
		if (!parse_int(s + 6, len - 6, 0, 600000, &v))
			return -1;
		return mws_fault_proxy_set_mode(p, MWS_FAULT_DELAY, v);
	}
	if (len > 9 && memcmp(s, "upstream=", 9) == 0) {
		/* Split at the last colon so that an IPv6 host works, with
		 * or without brackets: "[::1]:8080", "::1:8080". */
		const char *h = s + 9, *colon = NULL;
		char host[256];

		for (const char *q = h; q < e; q++)
			if (*q == ':')
				colon = q;
		if (!colon || colon == h || (size_t)(colon - h) >= sizeof(host) ||
		    !parse_int(colon + 1, (size_t)(e - colon - 1), 1, 65535,
			       &v))
			return -1;
		if (*h == '[' && colon[-1] == ']') {
			memcpy(host, h + 1, (size_t)(colon - h - 2));
			host[colon - h - 2] = '\0';
		} else {
			memcpy(host, h, (size_t)(colon - h));
			host[colon - h] = '\0';
		}
		return mws_fault_proxy_set_upstream(p, host, v);
	}
	return -1;
}
