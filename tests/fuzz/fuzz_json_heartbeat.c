/* libFuzzer target: the JSON heartbeat classifier that every received text
 * message passes through. The input is not NUL-terminated on purpose. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_heartbeat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mws__jhb_msg m;
	int kind = mws__jhb_parse((const char *)data, size, &m);
	if (kind < MWS__JHB_NONE || kind > MWS__JHB_CONNECTION_ACK || m.kind != kind)
		abort();
	if (memchr(m.connection_id, '\0', sizeof(m.connection_id)) == NULL)
		abort(); /* always a C string */
	return 0;
}
