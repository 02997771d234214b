#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "managedws.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} codes[] = {
#define ROW(name, value, text) {MWS_##name, "MWS_" #name, text},
	MWS_ERRNO_MAP(ROW)
#undef ROW
};
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

Test(errors, every_code_has_its_name_and_sentence)
{
	for (size_t i = 0; i < N_CODES; i++) {
		cr_expect_lt(codes[i].code, 0, "%s is not negative", codes[i].name);
		cr_expect_str_eq(mws_err_name(codes[i].code), codes[i].name);
		cr_expect_str_eq(mws_strerror(codes[i].code), codes[i].text);
	}
}

Test(errors, codes_names_and_sentences_are_distinct)
{
	for (size_t a = 0; a < N_CODES; a++) {
		for (size_t b = a + 1; b < N_CODES; b++) {
			cr_expect_neq(codes[a].code, codes[b].code);
			cr_expect_str_neq(mws_err_name(codes[a].code), mws_err_name(codes[b].code));
			cr_expect_str_neq(mws_strerror(codes[a].code), mws_strerror(codes[b].code));
		}
		cr_expect_str_neq(mws_strerror(codes[a].code), "unknown error");
		cr_expect_str_neq(mws_strerror(codes[a].code), "success");
	}
}

Test(errors, ok_is_success)
{
	cr_expect_str_eq(mws_err_name(MWS_OK), "MWS_OK");
	cr_expect_str_eq(mws_strerror(MWS_OK), "success");
}

Test(errors, unknown_codes_are_named_unknown)
{
	int unknown[] = {1, 42, -1000, -99, 2147483647, -2147483647 - 1};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		cr_expect_str_eq(mws_err_name(unknown[i]), "MWS_UNKNOWN", "%d", unknown[i]);
		cr_expect_str_eq(mws_strerror(unknown[i]), "unknown error", "%d", unknown[i]);
	}
}

Test(errors, version_matches_the_header)
{
	unsigned want = (MWS_VERSION_MAJOR << 16) | (MWS_VERSION_MINOR << 8) | MWS_VERSION_PATCH;
	cr_expect_eq(mws_version(), want);
	char text[32];
	snprintf(text, sizeof(text), "%d.%d.%d", MWS_VERSION_MAJOR, MWS_VERSION_MINOR,
	         MWS_VERSION_PATCH);
	cr_expect_str_eq(mws_version_string(), text);
}
