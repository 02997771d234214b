/* Close codes to client actions: DESIGN.md's table, application overrides,
 * and the hints our server writes into the close reason. */
#include "close_policy.h"
#include <limits.h>
#include <string.h>

static int code_is_valid(int code)
{
	return code >= 1000 && code <= 4999;
}

int mws__close_policy_init(mws__close_policy *p, const mws_close_rule *rules,
                           size_t count)
{
	if (!p || count > MWS__CLOSE_RULES_MAX || (count && !rules))
		return MWS_EINVAL;
	for (size_t i = 0; i < count; i++) {
		/* DEFAULT is accepted: it means "the built-in action for this code". */
		if (!code_is_valid(rules[i].code) || rules[i].action < MWS_CLOSE_ACTION_DEFAULT ||
		    rules[i].action > MWS_CLOSE_ACTION_CLOSE)
			return MWS_EINVAL;
	}
	if (count)
		memcpy(p->rules, rules, count * sizeof(*rules));
	p->count = count;
	return 0;
}

int mws__close_policy_default(int code)
{
	switch (code) {
	case 1000:
		return MWS_CLOSE_ACTION_CLOSE;
	case 1001: /* going away */
	case 1012: /* service restart */
		return MWS_CLOSE_ACTION_RESTART;
	case 1003: /* unsupported data */
	case 1007: /* invalid payload */
	case 1008: /* policy violation */
	case 1009: /* too big */
	case 1010: /* missing extension */
	case MWS__CODE_AUTH:
		return MWS_CLOSE_ACTION_FAIL;
	default:
		/* 1002 (may hide 1012..2999 under libwebsockets 4.1), 1006, 1011,
		 * 1013, 1014, 4000 and unknown codes: try again with backoff. */
		return MWS_CLOSE_ACTION_RECONNECT;
	}
}

/* The last rule for a code wins, so an appended rule overrides earlier ones. */
static int override_for(const mws__close_policy *p, int code)
{
	if (!p)
		return MWS_CLOSE_ACTION_DEFAULT;
	for (size_t i = p->count; i-- > 0;) {
		if (p->rules[i].code == code)
			return p->rules[i].action;
	}
	return MWS_CLOSE_ACTION_DEFAULT;
}

mws__close_decision mws__close_policy_decide(const mws__close_policy *p, int code,
                                             const char *reason, size_t reason_len)
{
	mws__close_decision d = {.code = code, .retry_after_ms = -1};
	if (!reason)
		reason_len = 0;
	if (code == 1002) {
		long real = mws__reason_number(reason, reason_len, "code");
		if (real >= 1000 && real <= 4999)
			d.code = (int)real;
	}
	d.retry_after_ms = mws__reason_number(reason, reason_len, "retry-after");
	d.action = override_for(p, d.code);
	if (d.action == MWS_CLOSE_ACTION_DEFAULT)
		d.action = mws__close_policy_default(d.code);
	return d;
}

static int is_separator(char c)
{
	return c == ' ' || c == ',' || c == ';' || c == '\t';
}

/* Digits up to a separator or the end; -1 for none, junk after, or overflow. */
static long parse_digits(const char *s, size_t len)
{
	long value = 0;
	size_t i = 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		int digit = s[i] - '0';
		if (value > (LONG_MAX - digit) / 10)
			return -1;
		value = value * 10 + digit;
	}
	if (i == 0 || (i < len && s[i] != '\0' && !is_separator(s[i])))
		return -1;
	return value;
}

long mws__reason_number(const char *reason, size_t len, const char *key)
{
	if (!reason || !key || !*key)
		return -1;
	size_t key_len = strlen(key);
	/* The reason may carry a NUL before len (a C string): stop there. */
	const char *nul = memchr(reason, '\0', len);
	if (nul)
		len = (size_t)(nul - reason);
	/* The first "key=" that starts a word decides; "xcode=" is not "code=". */
	for (size_t i = 0; i + key_len < len; i++) {
		if (i > 0 && !is_separator(reason[i - 1]))
			continue;
		if (memcmp(reason + i, key, key_len) != 0 || reason[i + key_len] != '=')
			continue;
		size_t start = i + key_len + 1;
		return parse_digits(reason + start, len - start);
	}
	return -1;
}
