/* libFuzzer target: the close-reason parser ("code=1012 retry-after=2500")
 * and the decision built on it. First two bytes: the close code. */
#include <stdint.h>
#include <stdlib.h>

#include "core/close_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int code = (data[0] << 8) | data[1];
	const char *reason = (const char *)data + 2;
	size_t len = size - 2;
	long n = mws__reason_number(reason, len, "retry-after");
	if (n < -1)
		abort();
	mws__close_decision d = mws__close_policy_decide(NULL, code, reason, len);
	if (d.action < MWS_CLOSE_ACTION_RECONNECT || d.action > MWS_CLOSE_ACTION_CLOSE)
		abort();
	if (d.code != code && (code != 1002 || d.code < 1000 || d.code > 4999))
		abort();
	return 0;
}
