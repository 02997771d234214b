/* One JSON object per line on stdout (see json_lines.h). */
#include "json_lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

cJSON *jl_event(const char *name)
{
	cJSON *o = cJSON_CreateObject();
	if (o)
		cJSON_AddStringToObject(o, "event", name);
	return o;
}

void jl_add_u64(cJSON *obj, const char *name, uint64_t v)
{
	/* Exact up to 2^53, which counters do not reach. */
	cJSON_AddNumberToObject(obj, name, (double)v);
}

void jl_emit(cJSON *obj)
{
	if (!obj)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	jl_add_u64(obj, "t", (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u);
	char *text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!text)
		return;
	/* Lines from the I/O thread and the main thread never interleave. */
	flockfile(stdout);
	fputs(text, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	funlockfile(stdout);
	free(text);
}

void jl_add_data(cJSON *obj, const void *data, size_t len, int type)
{
	cJSON_AddStringToObject(obj, "type", type == MWS_MSG_BINARY ? "binary" : "text");
	int hex = type == MWS_MSG_BINARY || memchr(data, 0, len) != NULL;
	char *buf = malloc(hex ? 2 * len + 1 : len + 1);
	if (!buf)
		return;
	if (hex) {
		static const char digits[] = "0123456789abcdef";
		const unsigned char *p = data;
		for (size_t i = 0; i < len; i++) {
			buf[2 * i] = digits[p[i] >> 4];
			buf[2 * i + 1] = digits[p[i] & 15];
		}
		buf[2 * len] = '\0';
		cJSON_AddStringToObject(obj, "encoding", "hex");
	} else {
		memcpy(buf, data, len);
		buf[len] = '\0';
	}
	cJSON_AddStringToObject(obj, "data", buf);
	free(buf);
}

void jl_state(const mws_state_change *ch)
{
	cJSON *o = jl_event("state");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "from", mws_state_name(ch->from));
	cJSON_AddStringToObject(o, "to", mws_state_name(ch->to));
	cJSON_AddNumberToObject(o, "code", ch->close_code);
	cJSON_AddStringToObject(o, "reason", ch->reason);
	if (ch->to == MWS_STATE_RECONNECTING)
		cJSON_AddNumberToObject(o, "retry_in_ms", ch->retry_delay_ms);
	cJSON_AddNumberToObject(o, "attempt", ch->attempt);
	jl_emit(o);
}

void jl_client_summary(const mws_client_stats *st, int exit_status)
{
	cJSON *o = jl_event("summary");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "state", mws_state_name(st->state));
	jl_add_u64(o, "connects", st->connects);
	jl_add_u64(o, "reconnects", st->reconnects);
	jl_add_u64(o, "attempts", st->attempts_total);
	jl_add_u64(o, "heartbeats", st->heartbeats_sent);
	jl_add_u64(o, "heartbeat_timeouts", st->heartbeat_timeouts);
	jl_add_u64(o, "rtt_p50_us", st->rtt_p50_us);
	jl_add_u64(o, "rtt_p99_us", st->rtt_p99_us);
	jl_add_u64(o, "msgs_out", st->msgs_out);
	jl_add_u64(o, "msgs_in", st->msgs_in);
	jl_add_u64(o, "queued", st->queue_messages);
	jl_add_u64(o, "queue_full", st->queue_full);
	jl_add_u64(o, "discarded", st->msgs_discarded);
	cJSON_AddNumberToObject(o, "exit", exit_status);
	jl_emit(o);
}
