/* The credentials hook's door: what it may set for the attempt at hand. */
#include <stdlib.h>
#include <string.h>

#include "io/client_io.h"

/* Header names are HTTP tokens; values may not break the header block. */
static int mws__header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
			return 0;
	return 1;
}

MWS_API int mws_credentials_set_header(mws_credentials *creds, const char *name,
                                       const char *value)
{
	if (!creds || !name || !value || !mws__header_name_ok(name) ||
	    strpbrk(value, "\r\n"))
		return MWS_EINVAL;
	size_t add = strlen(name) + strlen(value) + 3; /* ": " + '\n' */
	char *grown = realloc(creds->headers, creds->headers_len + add + 1);
	if (!grown) {
		creds->failed = 1;
		return MWS_ENOMEM;
	}
	creds->headers = grown;
	memcpy(grown + creds->headers_len, name, strlen(name));
	creds->headers_len += strlen(name);
	memcpy(grown + creds->headers_len, ": ", 2);
	creds->headers_len += 2;
	memcpy(grown + creds->headers_len, value, strlen(value));
	creds->headers_len += strlen(value);
	grown[creds->headers_len++] = '\n';
	grown[creds->headers_len] = '\0';
	return 0;
}

MWS_API int mws_credentials_set_query(mws_credentials *creds, const char *query)
{
	if (!creds || !query || strpbrk(query, " \r\n#") || strlen(query) > 2047)
		return MWS_EINVAL;
	char *copy = strdup(query[0] == '?' ? query + 1 : query);
	if (!copy) {
		creds->failed = 1;
		return MWS_ENOMEM;
	}
	free(creds->query);
	creds->query = copy;
	return 0;
}

MWS_API int mws_credentials_set_url(mws_credentials *creds, const char *url)
{
	if (!creds || !url)
		return MWS_EINVAL;
	mws__url *parsed = malloc(sizeof *parsed);
	char *copy = strdup(url);
	if (!parsed || !copy) {
		free(parsed);
		free(copy);
		creds->failed = 1;
		return MWS_ENOMEM;
	}
	if (mws__url_parse(parsed, url)) {
		free(parsed);
		free(copy);
		return MWS_EINVAL;
	}
	free(creds->url);
	free(creds->url_text);
	creds->url = parsed;
	creds->url_text = copy;
	return 0;
}

MWS_API uint32_t mws_credentials_attempt(const mws_credentials *creds)
{
	return creds ? creds->attempt : 0;
}

MWS_API int mws_credentials_last_http_status(const mws_credentials *creds)
{
	return creds ? creds->last_http_status : 0;
}
