#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_heartbeat.h"
#include "core/rng.h"

static mws__jhb_msg msg;

static int parse(const char *text)
{
	memset(&msg, 0xAB, sizeof(msg));
	return mws__jhb_parse(text, strlen(text), &msg);
}

Test(json_heartbeat, format_writes_the_exact_text)
{
	char buf[128];
	int n = mws__jhb_format(buf, sizeof(buf), 1700000000123ULL, "42");
	const char *want = "{\"type\":\"heartbeat\",\"timestamp\":1700000000123,\"connectionId\":42}";
	cr_assert_eq(n, (int)strlen(want));
	cr_expect_str_eq(buf, want);
}

Test(json_heartbeat, format_handles_the_largest_numbers)
{
	char buf[128];
	int n = mws__jhb_format(buf, sizeof(buf), UINT64_MAX, "18446744073709551615");
	cr_assert_gt(n, 0);
	cr_expect_str_eq(buf, "{\"type\":\"heartbeat\",\"timestamp\":18446744073709551615,"
	                      "\"connectionId\":18446744073709551615}");
}

Test(json_heartbeat, format_reports_a_buffer_too_small)
{
	char buf[128];
	int n = mws__jhb_format(buf, sizeof(buf), 1, "2");
	cr_assert_gt(n, 0);
	cr_expect_eq(mws__jhb_format(buf, (size_t)n, 1, "2"), -1, "no room for the NUL");
	cr_expect_eq(mws__jhb_format(buf, (size_t)n + 1, 1, "2"), n);
	cr_expect_eq(mws__jhb_format(NULL, 0, 1, "2"), -1);
}

Test(json_heartbeat, our_own_heartbeat_parses_back)
{
	char buf[128];
	int n = mws__jhb_format(buf, sizeof(buf), 1234567, "99");
	cr_expect_eq(mws__jhb_parse(buf, (size_t)n, &msg), MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.kind, MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.timestamp_ms, 1234567);
	cr_expect_str_eq(msg.connection_id, "99");
}

Test(json_heartbeat, ack_with_a_string_id)
{
	cr_expect_eq(parse(" \n{\"type\":\"heartbeat_ack\",\"timestamp\":5,\"connectionId\":\"abc-1\"}"),
	             MWS__JHB_ACK);
	cr_expect_eq(msg.timestamp_ms, 5);
	cr_expect_str_eq(msg.connection_id, "abc-1");
	cr_expect_str_eq(msg.connection_id_json, "\"abc-1\"");
}

Test(json_heartbeat, connection_ack_without_a_timestamp)
{
	cr_expect_eq(parse("{\"connectionId\":7,\"type\":\"connection_ack\",\"extra\":[1,2]}"),
	             MWS__JHB_CONNECTION_ACK);
	cr_expect_eq(msg.timestamp_ms, 0);
	cr_expect_str_eq(msg.connection_id, "7");
}

Test(json_heartbeat, missing_or_odd_fields_read_as_absent)
{
	cr_expect_eq(parse("{\"type\":\"heartbeat\"}"), MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.timestamp_ms, 0);
	cr_expect_str_eq(msg.connection_id, "");
	cr_expect_eq(parse("{\"type\":\"heartbeat\",\"timestamp\":-5,\"connectionId\":null}"),
	             MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.timestamp_ms, 0);
	cr_expect_str_eq(msg.connection_id, "");
	cr_expect_eq(parse("{\"type\":\"heartbeat\",\"timestamp\":\"12\",\"connectionId\":{}}"),
	             MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.timestamp_ms, 0);
	cr_expect_str_eq(msg.connection_id, "");
	cr_expect_eq(parse("{\"type\":\"heartbeat\",\"timestamp\":1e400}"), MWS__JHB_HEARTBEAT);
	cr_expect_eq(msg.timestamp_ms, 0);
}

Test(json_heartbeat, numeric_ids_print_as_integers)
{
	parse("{\"type\":\"heartbeat\",\"connectionId\":1e3}");
	cr_expect_str_eq(msg.connection_id, "1000");
	parse("{\"type\":\"heartbeat\",\"connectionId\":-12}");
	cr_expect_str_eq(msg.connection_id, "-12");
	parse("{\"type\":\"heartbeat\",\"connectionId\":9007199254740992}");
	cr_expect_str_eq(msg.connection_id, "9007199254740992");
	parse("{\"type\":\"heartbeat\",\"connectionId\":1.5}");
	cr_expect_str_eq(msg.connection_id, "1.5");
}

Test(json_heartbeat, an_id_too_long_for_the_buffer_reads_as_absent)
{
	char text[256];
	char id[80];
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"type\":\"heartbeat_ack\",\"connectionId\":\"%s\"}", id);
	cr_expect_eq(parse(text), MWS__JHB_ACK);
	cr_expect_str_eq(msg.connection_id, "");
	id[63] = '\0'; /* 63 characters: just fits */
	snprintf(text, sizeof(text), "{\"type\":\"heartbeat_ack\",\"connectionId\":\"%s\"}", id);
	parse(text);
	cr_expect_str_eq(msg.connection_id, id);
}

Test(json_heartbeat, other_json_is_application_data)
{
	const char *other[] = {
		"{\"type\":\"chat\",\"text\":\"hi\"}",
		"{\"type\":\"HEARTBEAT\"}",
		"{\"type\":1}",
		"{\"kind\":\"heartbeat\"}",
		"{}",
		"[{\"type\":\"heartbeat\"}]",
		"\"heartbeat\"",
		"42",
		"{\"Type\":\"heartbeat\"}",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		cr_expect_eq(parse(other[i]), MWS__JHB_NONE, "%s", other[i]);
		cr_expect_eq(msg.kind, MWS__JHB_NONE);
		cr_expect_str_eq(msg.connection_id, "");
	}
}

Test(json_heartbeat, length_bounds_the_parse)
{
	/* Only the first len bytes count: the closing brace is outside. */
	const char *text = "{\"type\":\"heartbeat\"}";
	cr_expect_eq(mws__jhb_parse(text, strlen(text) - 1, &msg), MWS__JHB_NONE);
	cr_expect_eq(mws__jhb_parse(text, strlen(text), &msg), MWS__JHB_HEARTBEAT);
	/* Not NUL-terminated at len. */
	char buf[64];
	memset(buf, '}', sizeof(buf));
	memcpy(buf, text, strlen(text));
	cr_expect_eq(mws__jhb_parse(buf, strlen(text), &msg), MWS__JHB_HEARTBEAT);
}

Test(json_heartbeat, garbage_never_crashes)
{
	const char *garbage[] = {
		"",
		"   ",
		"{",
		"{\"type\":\"heartbeat\"",
		"{\"type\":\"heart",
		"{\"type\":\"heartbeat\",}",
		"{\"type\":\"heartbeat\" \"timestamp\":1}",
		"{\"type\":\"\xff\xfe\xc3\x28\"}",
		"{\"\xc0\xaf\":\"heartbeat\"}",
		"{\"type\":\"heartbeat\\ud800\"}",
		"{{{{{{{{",
		"}",
		"not json at all",
		"\x00{\"type\":\"heartbeat\"}",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		cr_expect_eq(parse(garbage[i]), MWS__JHB_NONE, "case %zu", i);
	/* cJSON strings are C strings: an escaped NUL cuts the type short, so
	 * this one reads as a heartbeat. Harmless (at worst an extra ack). */
	cr_expect_eq(parse("{\"type\":\"heartbeat\\u0000x\"}"), MWS__JHB_HEARTBEAT);
	cr_expect_eq(mws__jhb_parse(NULL, 10, &msg), MWS__JHB_NONE);
	cr_expect_eq(mws__jhb_parse("{\"type\":\"heartbeat\"}", 20, NULL), MWS__JHB_HEARTBEAT,
	             "out may be NULL");
}

Test(json_heartbeat, deep_nesting_never_crashes)
{
	enum { DEPTH = 100000 };
	char *text = malloc(2 * DEPTH + 64);
	cr_assert_not_null(text);
	size_t n = (size_t)sprintf(text, "{\"type\":\"heartbeat\",\"x\":");
	for (int i = 0; i < DEPTH; i++)
		text[n++] = '[';
	for (int i = 0; i < DEPTH; i++)
		text[n++] = ']';
	text[n++] = '}';
	cr_expect_eq(mws__jhb_parse(text, n, &msg), MWS__JHB_NONE);
	/* Within the size cap, nesting is cJSON's to refuse (limit 1000). */
	n = (size_t)sprintf(text, "{\"type\":\"heartbeat\",\"x\":");
	for (int i = 0; i < 1500; i++)
		text[n++] = '[';
	for (int i = 0; i < 1500; i++)
		text[n++] = ']';
	text[n++] = '}';
	cr_expect_eq(mws__jhb_parse(text, n, &msg), MWS__JHB_NONE);
	free(text);
}

Test(json_heartbeat, huge_messages_are_application_data)
{
	size_t n = 1 << 20;
	char *text = malloc(n);
	cr_assert_not_null(text);
	memset(text, ' ', n);
	const char *head = "{\"type\":\"heartbeat\"";
	memcpy(text, head, strlen(head));
	text[n - 1] = '}';
	cr_expect_eq(mws__jhb_parse(text, n, &msg), MWS__JHB_NONE);
	free(text);
}

Test(json_heartbeat, random_bytes_never_crash)
{
	mws__rng rng;
	mws__rng_seed(&rng, 1);
	char buf[256];
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)mws__rng_between(&rng, 0, sizeof(buf));
		for (size_t k = 0; k < len; k++)
			buf[k] = (char)mws__rng_next(&rng);
		if (len)
			buf[0] = '{'; /* past the quick rejection, into cJSON */
		int kind = mws__jhb_parse(buf, len, &msg);
		cr_assert(kind >= MWS__JHB_NONE && kind <= MWS__JHB_CONNECTION_ACK);
		cr_assert(memchr(msg.connection_id, '\0', sizeof(msg.connection_id)));
	}
}

Test(json_heartbeat, a_string_id_goes_back_as_the_same_string)
{
	char buf[256];
	cr_assert_eq(parse("{\"type\":\"connection_ack\",\"connectionId\":\"a\\\"b\\\\c 7\"}"),
	             MWS__JHB_CONNECTION_ACK);
	cr_expect_str_eq(msg.connection_id, "a\"b\\c 7");
	int n = mws__jhb_format(buf, sizeof buf, 5, msg.connection_id_json);
	cr_assert_gt(n, 0);
	cr_assert_eq(parse(buf), MWS__JHB_HEARTBEAT);
	cr_expect_str_eq(msg.connection_id, "a\"b\\c 7", "round trip keeps the string");
	cr_expect(strstr(buf, "\"connectionId\":\"a\\\"b"), "%s", buf);
}

Test(json_heartbeat, a_numeric_id_goes_back_as_a_number)
{
	char buf[256];
	cr_assert_eq(parse("{\"type\":\"connection_ack\",\"connectionId\":7001}"),
	             MWS__JHB_CONNECTION_ACK);
	cr_expect_str_eq(msg.connection_id_json, "7001");
	mws__jhb_format(buf, sizeof buf, 5, msg.connection_id_json);
	cr_expect_str_eq(buf, "{\"type\":\"heartbeat\",\"timestamp\":5,\"connectionId\":7001}");
}

Test(json_heartbeat, format_needs_an_id)
{
	char buf[128];
	cr_expect_eq(mws__jhb_format(buf, sizeof buf, 1, ""), -1);
	cr_expect_eq(mws__jhb_format(buf, sizeof buf, 1, NULL), -1);
}
