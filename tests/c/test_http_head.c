/* The raw request-head reader used by the server's early admission. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/http_head.h"

static const char head[] = "GET /chat?token=a%20b HTTP/1.1\r\n"
                           "Host: 127.0.0.1:9\r\n"
                           "Upgrade:  WebSocket \r\n"
                           "Connection: keep-alive, Upgrade\r\n"
                           "X-Token:good\r\n"
                           "X-Token: second\r\n"
                           "\r\n"
                           "Not-A-Header: after the head\r\n";

Test(http_head, reads_the_request_target)
{
	char t[64];
	cr_assert_eq(mws__head_target(head, sizeof head - 1, t, sizeof t), 17);
	cr_assert_str_eq(t, "/chat?token=a%20b");
	cr_assert_eq(mws__head_target(head, sizeof head - 1, t, 5), -1);
	cr_assert_eq(mws__head_target("GET\r\n\r\n", 7, t, sizeof t), -1);
}

Test(http_head, finds_headers_case_insensitively_first_wins_blanks_trimmed)
{
	char v[64];
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "upgrade", v, sizeof v), 9);
	cr_assert_str_eq(v, "WebSocket");
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "x-token", v, sizeof v), 4);
	cr_assert_str_eq(v, "good");
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "X-Missing", v, sizeof v), 0);
	cr_assert_str_eq(v, "");
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "Not-A-Header", v, sizeof v), 0,
	             "read past the end of the head");
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "Host", v, 4), -1);
	/* "X-Tok" must not match "X-Token" */
	cr_assert_eq(mws__head_header(head, sizeof head - 1, "X-Tok", v, sizeof v), 0);
}

Test(http_head, finds_tokens_in_lists)
{
	cr_assert(mws__head_has_token("keep-alive, Upgrade", "upgrade"));
	cr_assert(mws__head_has_token("websocket", "websocket"));
	cr_assert_not(mws__head_has_token("websockets", "websocket"));
	cr_assert_not(mws__head_has_token("", "upgrade"));
}

Test(http_head, copies_the_header_lines_without_the_request_line_or_body)
{
	char v[512];
	int n = mws__head_lines(head, sizeof head - 1, v, sizeof v);
	cr_assert_gt(n, 0);
	cr_assert_eq(strncmp(v, "Host: 127.0.0.1:9\r\n", 19), 0, "%s", v);
	cr_assert_null(strstr(v, "Not-A-Header"));
	cr_assert_null(strstr(v, "GET "));
	cr_assert_eq(v[n - 1], '\n');
	cr_assert_eq(mws__head_lines(head, sizeof head - 1, v, 10), -1);
}
