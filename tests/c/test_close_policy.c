#include <criterion/criterion.h>
#include <string.h>

#include "core/close_policy.h"

#define RECONNECT MWS_CLOSE_ACTION_RECONNECT
#define RESTART MWS_CLOSE_ACTION_RESTART
#define FAIL MWS_CLOSE_ACTION_FAIL
#define CLOSE MWS_CLOSE_ACTION_CLOSE

static mws__close_decision decide(const mws__close_policy *p, int code, const char *reason)
{
	return mws__close_policy_decide(p, code, reason, reason ? strlen(reason) : 0);
}

Test(close_policy, default_table_matches_the_design)
{
	static const struct {
		int code, action;
	} table[] = {
		{1000, CLOSE},     {1001, RESTART},   {1012, RESTART},   {1013, RECONNECT},
		{1003, FAIL},      {1007, FAIL},      {1008, FAIL},      {1009, FAIL},
		{1010, FAIL},      {4001, FAIL},      {1002, RECONNECT}, {1006, RECONNECT},
		{1011, RECONNECT}, {1014, RECONNECT}, {4000, RECONNECT}, {1004, RECONNECT},
		{1005, RECONNECT}, {1015, RECONNECT}, {3000, RECONNECT}, {4999, RECONNECT},
		{0, RECONNECT},    {-1, RECONNECT},   {70000, RECONNECT},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		cr_expect_eq(mws__close_policy_default(table[i].code), table[i].action,
		             "code %d", table[i].code);
}

Test(close_policy, named_codes_have_their_design_meaning)
{
	cr_expect_eq(mws__close_policy_default(MWS__CODE_ABNORMAL), RECONNECT);
	cr_expect_eq(mws__close_policy_default(MWS__CODE_HEARTBEAT_TIMEOUT), RECONNECT);
	cr_expect_eq(mws__close_policy_default(MWS__CODE_AUTH), FAIL);
}

Test(close_policy, decide_without_rules_uses_the_defaults)
{
	mws__close_policy p;
	cr_assert_eq(mws__close_policy_init(&p, NULL, 0), 0);
	mws__close_decision d = decide(&p, 1008, NULL);
	cr_expect_eq(d.action, FAIL);
	cr_expect_eq(d.code, 1008);
	cr_expect_eq(d.retry_after_ms, -1);
	cr_expect_eq(decide(NULL, 1000, "").action, CLOSE);
}

Test(close_policy, overrides_win_over_the_defaults)
{
	mws__close_policy p;
	mws_close_rule rules[] = {{1000, RECONNECT}, {4001, RECONNECT}, {4500, FAIL}};
	cr_assert_eq(mws__close_policy_init(&p, rules, 3), 0);
	cr_expect_eq(decide(&p, 1000, NULL).action, RECONNECT);
	cr_expect_eq(decide(&p, 4001, NULL).action, RECONNECT);
	cr_expect_eq(decide(&p, 4500, NULL).action, FAIL);
	cr_expect_eq(decide(&p, 1008, NULL).action, FAIL); /* untouched code */
	cr_expect_eq(decide(&p, 1001, NULL).action, RESTART);
}

Test(close_policy, the_last_rule_for_a_code_wins)
{
	mws__close_policy p;
	mws_close_rule rules[] = {{1000, FAIL}, {1000, RESTART}};
	cr_assert_eq(mws__close_policy_init(&p, rules, 2), 0);
	cr_expect_eq(decide(&p, 1000, NULL).action, RESTART);
}

Test(close_policy, a_default_rule_means_the_built_in_action)
{
	mws__close_policy p;
	mws_close_rule rules[] = {{1008, MWS_CLOSE_ACTION_DEFAULT}};
	cr_assert_eq(mws__close_policy_init(&p, rules, 1), 0);
	cr_expect_eq(decide(&p, 1008, NULL).action, FAIL);
}

Test(close_policy, init_rejects_bad_codes_actions_and_too_many_rules)
{
	mws__close_policy p;
	mws_close_rule low[] = {{999, FAIL}}, high[] = {{5000, FAIL}};
	mws_close_rule bad_action[] = {{1000, 5}}, negative_action[] = {{1000, -1}};
	cr_expect_eq(mws__close_policy_init(&p, low, 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(&p, high, 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(&p, bad_action, 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(&p, negative_action, 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(&p, NULL, 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(NULL, NULL, 0), MWS_EINVAL);

	mws_close_rule many[MWS__CLOSE_RULES_MAX + 1];
	for (int i = 0; i < MWS__CLOSE_RULES_MAX + 1; i++)
		many[i] = (mws_close_rule){4000 + i, FAIL};
	cr_expect_eq(mws__close_policy_init(&p, many, MWS__CLOSE_RULES_MAX + 1), MWS_EINVAL);
	cr_expect_eq(mws__close_policy_init(&p, many, MWS__CLOSE_RULES_MAX), 0);
	cr_expect_eq(p.count, MWS__CLOSE_RULES_MAX);
	cr_expect_eq(mws__close_policy_init(&p, (mws_close_rule[]){{1000, FAIL}, {1000, 5}}, 2),
	             MWS_EINVAL, "one bad rule among good ones");
}

Test(close_policy, code_1002_carrying_code_1012_and_retry_after_is_a_restart)
{
	mws__close_policy p;
	mws__close_policy_init(&p, NULL, 0);
	mws__close_decision d = decide(&p, 1002, "code=1012 retry-after=2500");
	cr_expect_eq(d.action, RESTART);
	cr_expect_eq(d.code, 1012);
	cr_expect_eq(d.retry_after_ms, 2500);
}

Test(close_policy, code_1002_without_a_hint_reconnects)
{
	mws__close_decision d = decide(NULL, 1002, "protocol error");
	cr_expect_eq(d.action, RECONNECT);
	cr_expect_eq(d.code, 1002);
	cr_expect_eq(d.retry_after_ms, -1);
}

Test(close_policy, the_real_code_in_the_reason_is_matched_against_overrides)
{
	mws__close_policy p;
	mws_close_rule rules[] = {{1012, FAIL}};
	mws__close_policy_init(&p, rules, 1);
	cr_expect_eq(decide(&p, 1002, "code=1012").action, FAIL);
}

Test(close_policy, a_code_hint_is_ignored_unless_the_wire_said_1002)
{
	mws__close_decision d = decide(NULL, 1008, "code=1012");
	cr_expect_eq(d.code, 1008);
	cr_expect_eq(d.action, FAIL);
}

Test(close_policy, a_code_hint_outside_1000_to_4999_is_ignored)
{
	cr_expect_eq(decide(NULL, 1002, "code=999").code, 1002);
	cr_expect_eq(decide(NULL, 1002, "code=5000").code, 1002);
	cr_expect_eq(decide(NULL, 1002, "code=0").code, 1002);
}

Test(close_policy, retry_after_is_honoured_for_try_again_later)
{
	mws__close_decision d = decide(NULL, 1013, "busy; retry-after=750");
	cr_expect_eq(d.action, RECONNECT);
	cr_expect_eq(d.retry_after_ms, 750);
	cr_expect_eq(decide(NULL, 1013, "retry-after=0").retry_after_ms, 0);
}

Test(close_policy, malformed_hints_read_as_absent)
{
	const char *bad[] = {
		"code=",           "code=abc",          "code=10x2",    "code=-1012",
		"code =1012",      "xcode=1012",        "code:1012",    "retry-after=",
		"retry-after=-5",  "retry-after=1.5",   "code=1012retry-after=1",
		"code=99999999999999999999999999",      "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mws__close_decision d = decide(NULL, 1002, bad[i]);
		cr_expect_eq(d.code, 1002, "\"%s\"", bad[i]);
		cr_expect_eq(d.retry_after_ms, -1, "\"%s\"", bad[i]);
	}
}

Test(close_policy, reason_number_finds_keys_after_separators)
{
	const char *r = "shutting down, code=1012;retry-after=2500";
	cr_expect_eq(mws__reason_number(r, strlen(r), "code"), 1012);
	cr_expect_eq(mws__reason_number(r, strlen(r), "retry-after"), 2500);
	cr_expect_eq(mws__reason_number(r, strlen(r), "after"), -1);
	cr_expect_eq(mws__reason_number(r, strlen(r), "missing"), -1);
	cr_expect_eq(mws__reason_number("a=1,b=2", 7, "b"), 2);
	cr_expect_eq(mws__reason_number("a=1\tb=2", 7, "b"), 2);
}

Test(close_policy, reason_number_stays_within_len)
{
	/* Not NUL-terminated: the bytes after len must not be read as digits. */
	char buf[16];
	memcpy(buf, "code=1012999999", 15);
	buf[15] = '9';
	cr_expect_eq(mws__reason_number(buf, 9, "code"), 1012);
	cr_expect_eq(mws__reason_number(buf, 5, "code"), -1); /* "code=" */
	cr_expect_eq(mws__reason_number(buf, 4, "code"), -1); /* "code" */
	cr_expect_eq(mws__reason_number(buf, 0, "code"), -1);
	cr_expect_eq(mws__reason_number(NULL, 10, "code"), -1);
	cr_expect_eq(mws__reason_number("code=1", 6, ""), -1);
}

Test(close_policy, reason_number_overflow_reads_as_absent)
{
	const char *r = "retry-after=9223372036854775808"; /* LONG_MAX + 1 on LP64 */
	cr_expect_eq(mws__reason_number(r, strlen(r), "retry-after"), -1);
	r = "retry-after=9223372036854775807";
	cr_expect_eq(mws__reason_number(r, strlen(r), "retry-after"), 9223372036854775807L);
}

Test(close_policy, null_reason_with_a_length_is_safe)
{
	mws__close_decision d = mws__close_policy_decide(NULL, 1002, NULL, 100);
	cr_expect_eq(d.code, 1002);
	cr_expect_eq(d.retry_after_ms, -1);
}
