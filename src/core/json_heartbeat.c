/* The JSON heartbeat protocol. Every received text message passes through
 * the parser, so anything that cannot be one of ours leaves cheaply. */
#include "json_heartbeat.h"
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Our three messages are a few dozen bytes; a larger text is application
 * data and is not worth parsing as JSON on the I/O thread. */
#define JHB_MAX_LEN 4096

int mws__jhb_format(char *buf, size_t cap, uint64_t timestamp_ms,
                    const char *connection_id_json)
{
	if (!connection_id_json || !*connection_id_json)
		return -1;
	int n = snprintf(buf, cap,
	                 "{\"type\":\"heartbeat\",\"timestamp\":%" PRIu64
	                 ",\"connectionId\":%s}",
	                 timestamp_ms, connection_id_json);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

static int starts_like_object(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		return c == '{';
	}
	return 0;
}

static int kind_of(const cJSON *type)
{
	if (!cJSON_IsString(type) || !type->valuestring)
		return MWS__JHB_NONE;
	if (strcmp(type->valuestring, "heartbeat") == 0)
		return MWS__JHB_HEARTBEAT;
	if (strcmp(type->valuestring, "heartbeat_ack") == 0)
		return MWS__JHB_ACK;
	if (strcmp(type->valuestring, "connection_ack") == 0)
		return MWS__JHB_CONNECTION_ACK;
	return MWS__JHB_NONE;
}

/* Non-negative finite numbers that fit; anything else reads as absent. */
static uint64_t timestamp_of(const cJSON *item)
{
	if (!cJSON_IsNumber(item))
		return 0;
	double v = item->valuedouble;
	if (!isfinite(v) || v < 0 || v >= 18446744073709551616.0)
		return 0;
	return (uint64_t)v;
}

/* Strings are copied when they fit (a cut id would be a wrong id); numbers
 * are printed as integers when they are integral, which is the usual case.
 * cJSON keeps numbers as doubles, so integers above 2^53 lose precision. */
static void connection_id_of(const cJSON *item, char *out, size_t cap, char *json,
                             size_t json_cap)
{
	out[0] = json[0] = '\0';
	if (cJSON_IsString(item) && item->valuestring) {
		size_t len = strlen(item->valuestring);
		char *quoted = cJSON_PrintUnformatted(item); /* quoted and escaped */
		if (len < cap && quoted && strlen(quoted) < json_cap) {
			memcpy(out, item->valuestring, len + 1);
			memcpy(json, quoted, strlen(quoted) + 1);
		}
		cJSON_free(quoted);
		return;
	} else if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
		double v = item->valuedouble;
		int n;
		if (v > -9.2e18 && v < 9.2e18 && (double)(int64_t)v == v)
			n = snprintf(out, cap, "%" PRId64, (int64_t)v);
		else
			n = snprintf(out, cap, "%.17g", v);
		if (n < 0 || (size_t)n >= cap || (size_t)n >= json_cap)
			out[0] = '\0';
		memcpy(json, out, strlen(out) + 1);
	}
}

int mws__jhb_parse(const char *text, size_t len, mws__jhb_msg *out)
{
	mws__jhb_msg msg = {.kind = MWS__JHB_NONE};
	if (text && len <= JHB_MAX_LEN && starts_like_object(text, len)) {
		cJSON *root = cJSON_ParseWithLength(text, len);
		if (cJSON_IsObject(root)) {
			msg.kind = kind_of(cJSON_GetObjectItemCaseSensitive(root, "type"));
			if (msg.kind != MWS__JHB_NONE) {
				msg.timestamp_ms = timestamp_of(
					cJSON_GetObjectItemCaseSensitive(root, "timestamp"));
				connection_id_of(
					cJSON_GetObjectItemCaseSensitive(root, "connectionId"),
					msg.connection_id, sizeof(msg.connection_id),
					msg.connection_id_json, sizeof(msg.connection_id_json));
			}
		}
		cJSON_Delete(root);
	}
	if (out)
		*out = msg;
	return msg.kind;
}
