/* A stand-in for <criterion/criterion.h>, used only by the ThreadSanitizer
 * build: Criterion 2.4 aborts at startup under TSan ("Could not initialize
 * inheritable arena", Snaipe/Criterion#274). tests/CMakeLists.txt puts this
 * directory first on the include path and links runner.c instead of
 * libcriterion.
 *
 * It covers the classic Criterion API that tests/c uses, nothing more; a
 * macro missing here is a compile error, never a silent pass. Each test runs
 * in its own forked child (see runner.c), so a fatal assertion only has to
 * end the child. Messages are printf formats given as string literals, as in
 * every test today. */
#ifndef MWS_TSAN_CRITERION_H
#define MWS_TSAN_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The attributes of Test() and TestSuite(); 0 means unset. */
struct mws_cr_attrs {
	int unused_; /* keeps `{ .unused_ = 0, __VA_ARGS__ }` valid when empty */
	void (*init)(void);
	void (*fini)(void);
	double timeout; /* seconds */
	bool disabled;
	const char *description;
};

struct mws_cr_test {
	const char *suite, *name, *file;
	int line;
	void (*fn)(void);
	struct mws_cr_attrs attrs;
};

struct mws_cr_suite {
	const char *name;
	struct mws_cr_attrs attrs;
};

/* Registration: a pointer to each descriptor goes into a named section; the
 * linker provides __start_/__stop_ symbols around it for runner.c. */
#define MWS_CR_SECTION_(sec) __attribute__((used, section(sec)))

#define Test(suite, name, ...)                                                 \
	static void suite##_##name##_impl(void);                               \
	static struct mws_cr_test suite##_##name##_desc = {                    \
		#suite, #name, __FILE__, __LINE__, suite##_##name##_impl,      \
		{ .unused_ = 0, __VA_ARGS__ } };                               \
	MWS_CR_SECTION_("mws_cr_tests") static struct mws_cr_test              \
		*suite##_##name##_ptr = &suite##_##name##_desc;                \
	static void suite##_##name##_impl(void)

#define TestSuite(suite, ...)                                                  \
	static struct mws_cr_suite suite##_suite_desc = {                      \
		#suite, { .unused_ = 0, __VA_ARGS__ } };                       \
	MWS_CR_SECTION_("mws_cr_suites") static struct mws_cr_suite            \
		*suite##_suite_ptr = &suite##_suite_desc

/* Implemented in runner.c. `fmt` always starts with one padding space (see
 * mws_cr_check_); without a user message it is just " " and `what` is
 * printed instead. `actual`/`expected` are set by string comparisons. */
void mws_cr_expect_failed_(const char *file, int line, const char *what,
			   const char *actual, const char *expected,
			   const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
_Noreturn void mws_cr_assert_failed_(const char *file, int line,
				     const char *what, const char *actual,
				     const char *expected, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
_Noreturn void mws_cr_skip_(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void mws_cr_log_(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message is optional: `" " __VA_ARGS__` turns "no message" into the
 * non-empty format " " (an empty one would trip -Wformat-zero-length) and
 * "fmt", args into " fmt", args. `kind` is assert (fatal) or expect. */
#define mws_cr_check_(kind, ok, what, actual, expected, ...)                  \
	do {                                                                   \
		if (!(ok))                                                     \
			mws_cr_##kind##_failed_(__FILE__, __LINE__, what,      \
						actual, expected,              \
						" " __VA_ARGS__);              \
	} while (0)

#define mws_cr_op_(kind, op, a, b, ...)                                       \
	mws_cr_check_(kind, (a) op (b),                                        \
		      "The expression (" #a ") " #op " (" #b ") is false.",    \
		      NULL, NULL, __VA_ARGS__)

#define mws_cr_str_op_(kind, op, a, b, ...)                                   \
	do {                                                                   \
		const char *mws_cr_a_ = (a), *mws_cr_b_ = (b);                 \
		mws_cr_check_(kind, strcmp(mws_cr_a_, mws_cr_b_) op 0,         \
			      "The expression (as strings) (" #a ") " #op      \
			      " (" #b ") is false",                            \
			      mws_cr_a_, mws_cr_b_, __VA_ARGS__);              \
	} while (0)

#define mws_cr_arr_op_(kind, op, a, b, n, ...)                                \
	mws_cr_check_(kind, memcmp((a), (b), (n)) op 0,                        \
		      "The expression (" #a ")[0 .. " #n "] " #op " (" #b      \
		      ")[0 .. " #n "] is false.",                              \
		      NULL, NULL, __VA_ARGS__)

#define cr_assert(c, ...)                                                      \
	mws_cr_check_(assert, (c), "The expression " #c " is false.", NULL,    \
		      NULL, __VA_ARGS__)
#define cr_expect(c, ...)                                                      \
	mws_cr_check_(expect, (c), "The expression " #c " is false.", NULL,    \
		      NULL, __VA_ARGS__)
#define cr_assert_not(c, ...)                                                  \
	mws_cr_check_(assert, !(c), "The expression !(" #c ") is false.",      \
		      NULL, NULL, __VA_ARGS__)
#define cr_expect_not(c, ...)                                                  \
	mws_cr_check_(expect, !(c), "The expression !(" #c ") is false.",      \
		      NULL, NULL, __VA_ARGS__)
#define cr_assert_fail(...)                                                    \
	mws_cr_check_(assert, 0,                                               \
		      "The conditions for this assertion were not met.", NULL, \
		      NULL, __VA_ARGS__)
#define cr_expect_fail(...)                                                    \
	mws_cr_check_(expect, 0,                                               \
		      "The conditions for this assertion were not met.", NULL, \
		      NULL, __VA_ARGS__)

#define cr_assert_eq(a, b, ...) mws_cr_op_(assert, ==, a, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) mws_cr_op_(expect, ==, a, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) mws_cr_op_(assert, !=, a, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) mws_cr_op_(expect, !=, a, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) mws_cr_op_(assert, <, a, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) mws_cr_op_(expect, <, a, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) mws_cr_op_(assert, <=, a, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) mws_cr_op_(expect, <=, a, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) mws_cr_op_(assert, >, a, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) mws_cr_op_(expect, >, a, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) mws_cr_op_(assert, >=, a, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) mws_cr_op_(expect, >=, a, b, __VA_ARGS__)

#define cr_assert_null(p, ...) mws_cr_op_(assert, ==, p, NULL, __VA_ARGS__)
#define cr_expect_null(p, ...) mws_cr_op_(expect, ==, p, NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) mws_cr_op_(assert, !=, p, NULL, __VA_ARGS__)
#define cr_expect_not_null(p, ...) mws_cr_op_(expect, !=, p, NULL, __VA_ARGS__)

#define cr_assert_str_eq(a, b, ...) mws_cr_str_op_(assert, ==, a, b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) mws_cr_str_op_(expect, ==, a, b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) mws_cr_str_op_(assert, !=, a, b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) mws_cr_str_op_(expect, !=, a, b, __VA_ARGS__)

#define cr_assert_arr_eq(a, b, n, ...) mws_cr_arr_op_(assert, ==, a, b, n, __VA_ARGS__)
#define cr_expect_arr_eq(a, b, n, ...) mws_cr_arr_op_(expect, ==, a, b, n, __VA_ARGS__)
#define cr_assert_arr_neq(a, b, n, ...) mws_cr_arr_op_(assert, !=, a, b, n, __VA_ARGS__)
#define cr_expect_arr_neq(a, b, n, ...) mws_cr_arr_op_(expect, !=, a, b, n, __VA_ARGS__)

#define cr_skip_test(...) mws_cr_skip_(" " __VA_ARGS__)

#define cr_log_info(...) mws_cr_log_(0, __VA_ARGS__)
#define cr_log_warn(...) mws_cr_log_(1, __VA_ARGS__)
#define cr_log_error(...) mws_cr_log_(2, __VA_ARGS__)

#endif
