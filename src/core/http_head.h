/* Reading an HTTP/1.1 request head held as raw bytes (request line,
 * header lines, ending with an empty line): what the server's early
 * admission needs before libwebsockets parses the same bytes. */
#ifndef MWS_CORE_HTTP_HEAD_H
#define MWS_CORE_HTTP_HEAD_H
#include <stddef.h>

/* Copies the request target ("/chat?token=abc") with a NUL into out.
 * Its length, or -1 if the request line is malformed or it does not fit. */
int mws__head_target(const char *head, size_t len, char *out, size_t cap);

/* Copies the value of header `name` (case-insensitive, no colon; the first
 * such line, surrounding blanks removed) with a NUL into out. Its length,
 * 0 if absent, -1 if it does not fit in cap. */
int mws__head_header(const char *head, size_t len, const char *name, char *out, size_t cap);

/* Copies the header lines (after the request line, up to the empty line,
 * each with its CRLF) with a NUL into out. Their length, or -1 if they do
 * not fit in cap. */
int mws__head_lines(const char *head, size_t len, char *out, size_t cap);

/* 1 when `value` (a comma-separated header list) holds `token`,
 * case-insensitively ("Upgrade: websocket", "Connection: keep-alive, Upgrade"). */
int mws__head_has_token(const char *value, const char *token);

#endif
