/* The JSON heartbeat protocol spoken by many hand-rolled servers:
 * {"type":"heartbeat","timestamp":ms,"connectionId":id} answered by
 * {"type":"heartbeat_ack",...}. Parsed with cJSON. */
#ifndef MWS_CORE_JSON_HEARTBEAT_H
#define MWS_CORE_JSON_HEARTBEAT_H
#include <stddef.h>
#include <stdint.h>

/* Writes the heartbeat into buf; returns its length, or -1 if it does not
 * fit. `timestamp_ms` is Unix epoch milliseconds (what Date.now() gives);
 * `connection_id_json` is a JSON value written as is: the server's id as
 * mws__jhb_msg.connection_id_json holds it, or a number. */
int mws__jhb_format(char *buf, size_t cap, uint64_t timestamp_ms,
                    const char *connection_id_json);

typedef enum mws__jhb_kind {
	MWS__JHB_NONE = 0,       /* not JSON, or not one of ours: application data */
	MWS__JHB_HEARTBEAT,      /* {"type":"heartbeat",...} */
	MWS__JHB_ACK,            /* {"type":"heartbeat_ack",...} */
	MWS__JHB_CONNECTION_ACK  /* {"type":"connection_ack","connectionId":...} */
} mws__jhb_kind;

typedef struct mws__jhb_msg {
	int kind;                /* mws__jhb_kind */
	uint64_t timestamp_ms;   /* 0 if absent */
	char connection_id[64];  /* "" if absent; numbers are printed as text */
	/* The same id as a JSON value, to send back as the server gave it: a
	 * string quoted and escaped, a number as its digits; "" if absent. */
	char connection_id_json[160];
} mws__jhb_msg;

/* Classifies a received text message; cheap rejection of non-JSON text. */
int mws__jhb_parse(const char *text, size_t len, mws__jhb_msg *out);

#endif
