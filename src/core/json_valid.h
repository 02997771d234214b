/* Whether a text message is one JSON value, as JSON.parse() or
 * json.loads() would take it. */
#ifndef MWS_CORE_JSON_VALID_H
#define MWS_CORE_JSON_VALID_H
#include <stddef.h>

/* 1 if text[0..len) is exactly one JSON value (whitespace around it
 * allowed), else 0. */
int mws__json_valid(const char *text, size_t len);

#endif
