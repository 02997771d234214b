/* Linked into every test binary of the AddressSanitizer build.
 *
 * Criterion runs each test in a worker process (boxfort re-executes the
 * binary with BXFI_MAP set); the runner process itself runs none of our
 * code. Criterion 2.4.1's runner leaks 48 bytes of its own (a calloc under
 * criterion_run_all_tests, seen with --jobs 2), which LeakSanitizer reports
 * with a two-frame stack (libcriterion has no frame pointers), so no
 * suppression narrower than the module can name it. The module is therefore
 * suppressed in the runner process only: in a worker, where our tests and
 * library run, every leak is reported, also those whose stack passes through
 * libcriterion (a test's main thread always does). */
#include <stdlib.h>

/* Decided once, before main: the runner sets BXFI_MAP in its own
 * environment later, when it starts spawning workers. */
static const char *suppressions;

static void decide(void)
{
	if (!suppressions)
		suppressions = getenv("BXFI_MAP") ? "" : "leak:libcriterion.so\n";
}

__attribute__((constructor)) static void decide_early(void)
{
	decide();
}

__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
	decide();
	return suppressions;
}
