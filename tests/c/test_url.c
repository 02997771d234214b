#include <criterion/criterion.h>
#include <string.h>

#include "core/url.h"
#include "managedws.h"

static mws__url u;

static void parse_ok(const char *text)
{
	memset(&u, 0xAB, sizeof(u));
	cr_assert_eq(mws__url_parse(&u, text), 0, "\"%s\" should parse", text);
}

Test(url, plain_ws_gets_port_80_and_path_slash)
{
	parse_ok("ws://example.com");
	cr_expect_eq(u.tls, 0);
	cr_expect_str_eq(u.host, "example.com");
	cr_expect_eq(u.port, 80);
	cr_expect_str_eq(u.path, "/");
	cr_expect_str_eq(u.query, "");
}

Test(url, wss_gets_port_443_and_tls)
{
	parse_ok("wss://example.com/feed");
	cr_expect_eq(u.tls, 1);
	cr_expect_eq(u.port, 443);
	cr_expect_str_eq(u.path, "/feed");
}

Test(url, scheme_is_case_insensitive)
{
	parse_ok("WS://a.b/");
	cr_expect_eq(u.tls, 0);
	parse_ok("WsS://a.b/");
	cr_expect_eq(u.tls, 1);
}

Test(url, other_schemes_are_refused)
{
	const char *bad[] = {"http://a.b/", "https://a.b/", "ws:/a.b/", "ws:a.b", "wss:",
	                     "ftp://a.b", "//a.b/", "a.b", "", "ws//a.b", "wsx://a.b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mws__url_parse(&u, bad[i]), MWS_EINVAL, "\"%s\"", bad[i]);
}

Test(url, explicit_ports_from_one_to_65535)
{
	parse_ok("ws://h:1/");
	cr_expect_eq(u.port, 1);
	parse_ok("wss://h:65535");
	cr_expect_eq(u.port, 65535);
	parse_ok("ws://h:8080?x=1");
	cr_expect_eq(u.port, 8080);
	cr_expect_str_eq(u.path, "/");
	cr_expect_str_eq(u.query, "x=1");
}

Test(url, bad_ports_are_refused)
{
	const char *bad[] = {"ws://h:0/",  "ws://h:65536/", "ws://h:/",     "ws://h:-1/",
	                     "ws://h:8a/", "ws://h:123456", "ws://h:80:80", "ws://h:+80/",
	                     "ws://h: 80"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mws__url_parse(&u, bad[i]), MWS_EINVAL, "\"%s\"", bad[i]);
}

Test(url, ipv4_literal_is_a_literal)
{
	parse_ok("ws://127.0.0.1:9000/x");
	cr_expect_str_eq(u.host, "127.0.0.1");
	cr_expect_eq(u.port, 9000);
	cr_expect(mws__url_host_is_literal(&u));
}

Test(url, ipv6_literal_in_brackets_loses_the_brackets)
{
	parse_ok("ws://[::1]:9000/x");
	cr_expect_str_eq(u.host, "::1");
	cr_expect_eq(u.port, 9000);
	cr_expect(mws__url_host_is_literal(&u));
	parse_ok("wss://[2001:db8::17]");
	cr_expect_str_eq(u.host, "2001:db8::17");
	cr_expect_eq(u.port, 443);
	cr_expect_str_eq(u.path, "/");
}

Test(url, bad_ipv6_literals_are_refused)
{
	const char *bad[] = {"ws://[::1/",     "ws://[]/",         "ws://[not:v6]/",
	                     "ws://[::1]x/",   "ws://::1/",        "ws://[::1]:/",
	                     "ws://[fe80::1%25eth0]/", "ws://[127.0.0.1]/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mws__url_parse(&u, bad[i]), MWS_EINVAL, "\"%s\"", bad[i]);
}

Test(url, host_names_are_not_literals)
{
	parse_ok("ws://localhost/");
	cr_expect_not(mws__url_host_is_literal(&u));
	parse_ok("ws://my-host_1.example.org/");
	cr_expect_not(mws__url_host_is_literal(&u));
	parse_ok("ws://1.2.3/"); /* not a dotted quad: left to the resolver */
	cr_expect_not(mws__url_host_is_literal(&u));
}

Test(url, path_and_query_are_split_and_the_fragment_dropped)
{
	parse_ok("ws://h/a/b?c=1&d=%20#frag");
	cr_expect_str_eq(u.path, "/a/b");
	cr_expect_str_eq(u.query, "c=1&d=%20");
	parse_ok("ws://h/p#frag?notquery");
	cr_expect_str_eq(u.path, "/p");
	cr_expect_str_eq(u.query, "");
	parse_ok("ws://h?q");
	cr_expect_str_eq(u.path, "/");
	cr_expect_str_eq(u.query, "q");
	parse_ok("ws://h#f");
	cr_expect_str_eq(u.host, "h");
	cr_expect_str_eq(u.path, "/");
	parse_ok("ws://h/?");
	cr_expect_str_eq(u.query, "");
}

/* Refused rather than silently dropped: libwebsockets would not send it,
 * and credentials in a URL leak into logs. The credentials callback is
 * where an Authorization header belongs. */
Test(url, userinfo_is_refused)
{
	cr_expect_eq(mws__url_parse(&u, "ws://user:pass@h/"), MWS_EINVAL);
	cr_expect_eq(mws__url_parse(&u, "ws://user@h/"), MWS_EINVAL);
	cr_expect_eq(mws__url_parse(&u, "ws://@h/"), MWS_EINVAL);
	parse_ok("ws://h/path@with-at"); /* '@' after the authority is fine */
	cr_expect_str_eq(u.path, "/path@with-at");
}

Test(url, empty_host_is_refused)
{
	const char *bad[] = {"ws://", "ws:///", "ws://:80/", "wss://?q", "ws://#f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mws__url_parse(&u, bad[i]), MWS_EINVAL, "\"%s\"", bad[i]);
}

Test(url, spaces_control_and_raw_non_ascii_bytes_are_refused)
{
	const char *bad[] = {"ws://h /",   " ws://h/",    "ws://h/a b",      "ws://h/\t",
	                     "ws://h/\r\n", "ws://h/\x7f", "ws://h\xc3\xa9/", "ws://h/?q=\xff",
	                     "ws://h!/",   "ws://h,i/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(mws__url_parse(&u, bad[i]), MWS_EINVAL, "case %zu", i);
}

static void expect_len_limit(const char *prefix, const char *suffix, size_t cap)
{
	static char text[8192];
	size_t plen = strlen(prefix);
	for (size_t n = cap - 2; n <= cap; n++) {
		memcpy(text, prefix, plen);
		memset(text + plen, 'a', n);
		strcpy(text + plen + n, suffix);
		int want = n < cap ? 0 : MWS_EINVAL;
		cr_expect_eq(mws__url_parse(&u, text), want, "%s + %zu chars", prefix, n);
	}
}

Test(url, overlong_parts_are_refused)
{
	/* Each part fits when shorter than its buffer (room for the NUL). */
	expect_len_limit("ws://", "/", sizeof(u.host));
	expect_len_limit("ws://h/", "", sizeof(u.path) - 1); /* the leading '/' counts */
	expect_len_limit("ws://h/?", "", sizeof(u.query));
}

Test(url, a_failed_parse_leaves_the_output_untouched)
{
	parse_ok("ws://keep.me/");
	cr_expect_eq(mws__url_parse(&u, "ws://bad host/"), MWS_EINVAL);
	cr_expect_str_eq(u.host, "keep.me");
}

Test(url, null_arguments_are_refused)
{
	cr_expect_eq(mws__url_parse(&u, NULL), MWS_EINVAL);
	cr_expect_eq(mws__url_parse(NULL, "ws://h/"), MWS_EINVAL);
}

static const char *host_header(const char *text)
{
	static char buf[300];
	parse_ok(text);
	cr_assert_eq(mws__url_host_header(&u, buf, sizeof buf), 0);
	return buf;
}

Test(url, host_header_carries_a_port_that_is_not_the_default)
{
	cr_expect_str_eq(host_header("ws://example.com/x"), "example.com");
	cr_expect_str_eq(host_header("ws://example.com:80/x"), "example.com");
	cr_expect_str_eq(host_header("wss://example.com:443"), "example.com");
	cr_expect_str_eq(host_header("ws://example.com:8080/x"), "example.com:8080");
	cr_expect_str_eq(host_header("wss://example.com:80"), "example.com:80");
	cr_expect_str_eq(host_header("ws://example.com:443"), "example.com:443");
	cr_expect_str_eq(host_header("ws://127.0.0.1:9001"), "127.0.0.1:9001");
	cr_expect_str_eq(host_header("ws://[::1]:9001/"), "[::1]:9001");
	cr_expect_str_eq(host_header("ws://[::1]/"), "[::1]");
}

Test(url, host_header_reports_a_buffer_too_small)
{
	char buf[8];
	parse_ok("ws://example.com:8080");
	cr_expect_eq(mws__url_host_header(&u, buf, sizeof buf), -1);
}
