/* --json output of mws connect and mws serve: one JSON object per line on
 * stdout, each with "event" and "t" (Unix epoch milliseconds), for scripts. */
#ifndef MWS_TOOL_JSON_LINES_H
#define MWS_TOOL_JSON_LINES_H
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "managedws.h"

/* A new object with "event": name. NULL when out of memory. */
cJSON *jl_event(const char *name);
/* Prints obj as one line (adding "t") and frees it; NULL is ignored. */
void jl_emit(cJSON *obj);
/* "data": the text as a JSON string, or hex with "encoding": "hex" for
 * binary messages (and text that holds a NUL). */
void jl_add_data(cJSON *obj, const void *data, size_t len, int type);
void jl_add_u64(cJSON *obj, const char *name, uint64_t v);
/* {"event":"state", from, to, code, reason, retry_in_ms, attempt} */
void jl_state(const mws_state_change *ch);
/* {"event":"summary", ...} from a client's statistics and the exit status. */
void jl_client_summary(const mws_client_stats *st, int exit_status);

#endif
