/* What a close code means for the client: reconnect, spread, fail, close.
 * The defaults are DESIGN.md's table; the application may override codes. */
#ifndef MWS_CORE_CLOSE_POLICY_H
#define MWS_CORE_CLOSE_POLICY_H
#include <stddef.h>
#include "managedws.h"

#define MWS__CLOSE_RULES_MAX 32

/* Close codes used for events that are not close frames. */
#define MWS__CODE_ABNORMAL 1006
#define MWS__CODE_HEARTBEAT_TIMEOUT 4000
#define MWS__CODE_AUTH 4001

typedef struct mws__close_policy {
	mws_close_rule rules[MWS__CLOSE_RULES_MAX];
	size_t count;
} mws__close_policy;

typedef struct mws__close_decision {
	int action;        /* mws_close_action, never DEFAULT */
	int code;          /* the code acted on: the real one found in the reason
	                      ("code=1012") when the wire said 1002 */
	long retry_after_ms; /* from "retry-after=MS" in the reason, -1 if none */
} mws__close_decision;

/* MWS_EINVAL for a code outside 1000..4999, a bad action or too many rules. */
int mws__close_policy_init(mws__close_policy *p, const mws_close_rule *rules,
                           size_t count);
/* The built-in action for `code`. */
int mws__close_policy_default(int code);
/* Decides for a close frame with `code` and `reason` (may be NULL). */
mws__close_decision mws__close_policy_decide(const mws__close_policy *p, int code,
                                             const char *reason, size_t reason_len);
/* Reads "key=NUMBER" from a reason such as "code=1012 retry-after=2500".
 * Returns the number, or -1 when absent or malformed. */
long mws__reason_number(const char *reason, size_t len, const char *key);

#endif
