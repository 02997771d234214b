#include "core/http_head.h"

#include <string.h>
#include <strings.h>

/* The end of the line starting at p (its CR or the end of the head). */
static const char *mws__line_end(const char *p, const char *end)
{
	while (p < end && !(*p == '\r' && p + 1 < end && p[1] == '\n'))
		p++;
	return p;
}

int mws__head_target(const char *head, size_t len, char *out, size_t cap)
{
	const char *end = head + len, *eol = mws__line_end(head, end);
	const char *sp = memchr(head, ' ', (size_t)(eol - head));
	if (!sp || cap == 0)
		return -1;
	const char *t = sp + 1, *te = memchr(t, ' ', (size_t)(eol - t));
	if (!te || te == t || (size_t)(te - t) >= cap)
		return -1;
	memcpy(out, t, (size_t)(te - t));
	out[te - t] = '\0';
	return (int)(te - t);
}

int mws__head_header(const char *head, size_t len, const char *name, char *out, size_t cap)
{
	const char *end = head + len, *p = mws__line_end(head, end);
	size_t nl = strlen(name);
	if (cap)
		out[0] = '\0';
	while (p + 2 <= end) {
		p += 2; /* past CRLF */
		const char *eol = mws__line_end(p, end);
		if (eol == p)
			break; /* the empty line: end of the head */
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1, *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if ((size_t)(ve - v) >= cap)
				return -1;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = '\0';
			return (int)(ve - v);
		}
		p = eol;
	}
	return 0;
}

int mws__head_has_token(const char *value, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = value; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *te = e;
		while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if ((size_t)(te - p) == tl && !strncasecmp(p, token, tl))
			return 1;
		p = e;
	}
	return 0;
}

int mws__head_lines(const char *head, size_t len, char *out, size_t cap)
{
	const char *end = head + len, *first = mws__line_end(head, end);
	if (first + 2 > end)
		return -1;
	first += 2;
	const char *p = first;
	while (p + 2 <= end) {
		const char *eol = mws__line_end(p, end);
		if (eol == p)
			break;
		p = eol + 2 <= end ? eol + 2 : end;
	}
	size_t n = (size_t)(p - first);
	if (n >= cap)
		return -1;
	memcpy(out, first, n);
	out[n] = '\0';
	return (int)n;
}
