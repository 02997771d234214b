/* The runner behind tests/tsan_runner/criterion/criterion.h: a main() that
 * runs each registered test in a forked child, enforces its timeout and
 * prints Criterion's report lines. Used only by the ThreadSanitizer build
 * (Criterion 2.4 cannot start under TSan: Snaipe/Criterion#274).
 *
 * The parent stays single-threaded and only forks, waits and reads the
 * child's result, so the runner adds no threads of its own for TSan to see.
 * The child reports through a shared page, written with atomics because a
 * test's own threads may fail an expectation too; the parent reads it only
 * after waitpid(). The child's stderr is inherited, so a TSan report reaches
 * stderr as it is printed, and its exit status (66 by default) marks the
 * test failed. Tests run one at a time; --jobs is accepted and ignored. */
#include "criterion/criterion.h"

#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Weak, so that a binary with no Test() or no TestSuite() still links. */
extern struct mws_cr_test *__start_mws_cr_tests[] __attribute__((weak));
extern struct mws_cr_test *__stop_mws_cr_tests[] __attribute__((weak));
extern struct mws_cr_suite *__start_mws_cr_suites[] __attribute__((weak));
extern struct mws_cr_suite *__stop_mws_cr_suites[] __attribute__((weak));

/* TSan catches SIGSEGV and friends itself, prints the stack and exits with
 * status 66, which would count a crash as a mere failure. abort_on_error
 * makes it end with SIGABRT instead, so a crash still counts as Crashing;
 * a data race report keeps exiting 66 at the end of the child. TSAN_OPTIONS
 * overrides this default. */
__attribute__((visibility("default"))) const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "abort_on_error=1";
}

/* Written by the child, read by the parent once the child is reaped. */
struct result {
	atomic_int failed;   /* an assertion or expectation failed */
	atomic_int skipped;  /* cr_skip_test() */
	atomic_int finished; /* the child got through teardown */
};

static struct result *result;
static int verbose;

/* The child's test, its main thread and where a fatal assertion jumps. */
static const struct mws_cr_test *current;
static pthread_t test_thread;
static jmp_buf abort_jump;

/* ---- child side: what the header's macros call -------------------------- */

/* One write() per message, so lines from several threads never interleave. */
static void emit(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Ends the test after a fatal assertion or a skip. On the test's own thread
 * it jumps back so that .fini still runs, as in Criterion; on any other
 * thread it ends the child, whose result is already recorded. */
static _Noreturn void abort_test(void)
{
	if (pthread_equal(pthread_self(), test_thread))
		longjmp(abort_jump, 1);
	fflush(stdout);
	_exit(0);
}

static void report_failure(const char *file, int line, const char *what,
			   const char *actual, const char *expected,
			   const char *fmt, va_list ap)
{
	char msg[2048], out[4096];
	vsnprintf(msg, sizeof msg, fmt, ap);
	const char *text = msg + 1; /* the padding space of mws_cr_check_ */
	char dflt[1536];
	if (*text == '\0') {
		if (actual && expected)
			snprintf(dflt, sizeof dflt,
				 "%s: actual=`%s` expected=`%s`.", what, actual,
				 expected);
		else
			snprintf(dflt, sizeof dflt, "%s", what);
		text = dflt;
	}
	atomic_store(&result->failed, 1);

	int n = snprintf(out, sizeof out, "[----] %s:%d: Assertion Failed\n[----]   \n",
			 file, line);
	while (n < (int)sizeof out && *text) {
		size_t len = strcspn(text, "\n");
		n += snprintf(out + n, sizeof out - (size_t)n, "[----]   %.*s\n",
			      (int)len, text);
		text += len + (text[len] == '\n');
	}
	if (n < (int)sizeof out)
		n += snprintf(out + n, sizeof out - (size_t)n, "[----]   \n");
	emit(out, n < (int)sizeof out ? (size_t)n : sizeof out - 1);
}

void mws_cr_expect_failed_(const char *file, int line, const char *what,
			   const char *actual, const char *expected,
			   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_failure(file, line, what, actual, expected, fmt, ap);
	va_end(ap);
}

void mws_cr_assert_failed_(const char *file, int line, const char *what,
			   const char *actual, const char *expected,
			   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_failure(file, line, what, actual, expected, fmt, ap);
	va_end(ap);
	abort_test();
}

void mws_cr_skip_(const char *fmt, ...)
{
	char msg[1024], out[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	atomic_store(&result->skipped, 1);
	int n = snprintf(out, sizeof out, "[SKIP] %s::%s: %s\n", current->suite,
			 current->name, msg[1] ? msg + 1 : "Test was skipped");
	emit(out, n < (int)sizeof out ? (size_t)n : sizeof out - 1);
	abort_test();
}

void mws_cr_log_(int level, const char *fmt, ...)
{
	static const char *const prefix[] = { "[----] ", "[WARN] ", "[ERR ] " };
	char out[2048];
	if (level == 0 && !verbose)
		return;
	int n = snprintf(out, sizeof out, "%s", prefix[level]);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(out + n, sizeof out - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof out - 2)
		n = (int)sizeof out - 2;
	out[n++] = '\n';
	emit(out, (size_t)n);
}

/* Suite init, test init, body, then test fini and suite fini, as Criterion
 * orders them; a fatal assertion skips to the teardown. */
static _Noreturn void run_child(const struct mws_cr_test *t,
				const struct mws_cr_suite *s)
{
	/* Test code may print to stdout through a buffer inherited from the
	 * parent; the parent flushed it before fork(). */
	current = t;
	test_thread = pthread_self();
	volatile bool set_up = false; /* volatile: read after longjmp */
	if (setjmp(abort_jump) == 0) {
		if (s && s->attrs.init)
			s->attrs.init();
		if (t->attrs.init)
			t->attrs.init();
		set_up = true;
		t->fn();
	}
	if (set_up && setjmp(abort_jump) == 0) {
		if (t->attrs.fini)
			t->attrs.fini();
		if (s && s->attrs.fini)
			s->attrs.fini();
	}
	atomic_store(&result->finished, 1);
	fflush(stdout);
	fflush(stderr);
	/* _exit, not exit: atexit handlers belong to the parent. TSan still
	 * finalizes here and turns the status into 66 if it reported. */
	_exit(0);
}

/* ---- parent side --------------------------------------------------------- */

enum outcome { PASSED, FAILED, CRASHED, SKIPPED };

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct mws_cr_suite *find_suite(const char *name)
{
	for (struct mws_cr_suite **s = __start_mws_cr_suites;
	     s && s < __stop_mws_cr_suites; s++)
		if (strcmp((*s)->name, name) == 0)
			return *s;
	return NULL;
}

static enum outcome run_test(const struct mws_cr_test *t,
			     const struct mws_cr_suite *s)
{
	double timeout = t->attrs.timeout;
	if (timeout == 0 && s)
		timeout = s->attrs.timeout;

	memset(result, 0, sizeof *result);
	if (verbose)
		fprintf(stderr, "[RUN ] %s::%s\n", t->suite, t->name);
	fflush(stdout);
	fflush(stderr);

	double start = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "[FAIL] %s::%s: fork: %s\n", t->suite, t->name,
			strerror(errno));
		return FAILED;
	}
	if (pid == 0)
		run_child(t, s);

	/* Poll rather than wait on SIGCHLD: simple, and 10 ms is nothing next
	 * to the tests' own timeouts. */
	int status = 0;
	bool timed_out = false;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "[FAIL] %s::%s: waitpid: %s\n", t->suite,
				t->name, strerror(errno));
			return FAILED;
		}
		if (timeout > 0 && now_s() - start >= timeout) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			timed_out = true;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	double elapsed = now_s() - start;

	if (timed_out) {
		fprintf(stderr, "[FAIL] %s::%s: Timed out. (%.2fs)\n", t->suite,
			t->name, elapsed);
		return FAILED;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		fprintf(stderr,
			"[----] %s:%d: Unexpected signal caught below this line!\n"
			"[FAIL] %s::%s: CRASH! (signal %d, %s)\n",
			t->file, t->line, t->suite, t->name, sig, strsignal(sig));
		return CRASHED;
	}
	int code = WEXITSTATUS(status);
	if (code != 0) {
		/* Our child only ever exits 0, so this came from elsewhere:
		 * most often TSan at exit, or the test calling exit(). */
		fprintf(stderr, "[FAIL] %s::%s: exited with status %d%s (%.2fs)\n",
			t->suite, t->name, code,
			code == 66 ? ", ThreadSanitizer's: see its report above"
				   : "",
			elapsed);
		return FAILED;
	}
	if (atomic_load(&result->failed)) {
		fprintf(stderr, "[FAIL] %s::%s: (%.2fs)\n", t->suite, t->name,
			elapsed);
		return FAILED;
	}
	if (atomic_load(&result->skipped))
		return SKIPPED;
	if (!atomic_load(&result->finished)) {
		/* Criterion would pass this; it is more likely a bug. */
		fprintf(stderr, "[FAIL] %s::%s: exited before the test ended (%.2fs)\n",
			t->suite, t->name, elapsed);
		return FAILED;
	}
	if (verbose)
		fprintf(stderr, "[PASS] %s::%s: (%.2fs)\n", t->suite, t->name,
			elapsed);
	return PASSED;
}

static int by_suite_then_name(const void *a, const void *b)
{
	const struct mws_cr_test *x = *(struct mws_cr_test *const *)a;
	const struct mws_cr_test *y = *(struct mws_cr_test *const *)b;
	int c = strcmp(x->suite, y->suite);
	return c ? c : strcmp(x->name, y->name);
}

static void usage(FILE *to, const char *argv0)
{
	fprintf(to,
		"usage: %s [--filter SUITE/NAME-GLOB] [--jobs N] [--verbose]\n"
		"A Criterion-compatible runner for the ThreadSanitizer build;\n"
		"tests run one at a time, each in a forked child.\n",
		argv0);
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--filter") == 0 && i + 1 < argc)
			filter = argv[++i];
		else if (strncmp(a, "--filter=", 9) == 0)
			filter = a + 9;
		else if ((strcmp(a, "--jobs") == 0 || strcmp(a, "-j") == 0) &&
			 i + 1 < argc)
			i++; /* accepted, ignored: tests run one at a time */
		else if (strncmp(a, "--jobs=", 7) == 0 ||
			 (strncmp(a, "-j", 2) == 0 && a[2]))
			;
		else if (strcmp(a, "--verbose") == 0 ||
			 strncmp(a, "--verbose=", 10) == 0)
			verbose = 1;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout, argv[0]);
			return 0;
		} else {
			fprintf(stderr, "%s: unsupported option '%s'\n", argv[0], a);
			usage(stderr, argv[0]);
			return 2;
		}
	}

	result = mmap(NULL, sizeof *result, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		perror("mmap");
		return 2;
	}

	struct mws_cr_test **tests = __start_mws_cr_tests;
	size_t ntests = tests ? (size_t)(__stop_mws_cr_tests - tests) : 0;
	qsort(tests, ntests, sizeof *tests, by_suite_then_name);

	unsigned tested = 0, passing = 0, failing = 0, crashing = 0;
	for (size_t i = 0; i < ntests; i++) {
		const struct mws_cr_test *t = tests[i];
		const struct mws_cr_suite *s = find_suite(t->suite);
		if (filter) {
			char id[512];
			snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
			if (fnmatch(filter, id, 0) != 0)
				continue;
		}
		if (t->attrs.disabled || (s && s->attrs.disabled)) {
			fprintf(stderr, "[SKIP] %s::%s: Test is disabled\n",
				t->suite, t->name);
			continue;
		}
		switch (run_test(t, s)) {
		case PASSED:
			tested++, passing++;
			break;
		case FAILED:
			tested++, failing++;
			break;
		case CRASHED: /* Criterion counts a crash as a failure too */
			tested++, failing++, crashing++;
			break;
		case SKIPPED:
			break;
		}
	}
	fprintf(stderr,
		"[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: %u \n",
		tested, passing, failing, crashing);
	return failing ? 1 : 0;
}
