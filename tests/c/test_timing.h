/* Real-time slack for timing bounds in tests over real sockets and threads.
 *
 * A bound is derived from the configured timings (interval + timeout, the
 * shutdown window...) plus a slack for scheduling. The slack is given for a
 * plain build on a loaded two-core machine and multiplied by
 * MWS_TEST_SLOWDOWN, which tests/CMakeLists.txt sets per build (1 plain,
 * 2 AddressSanitizer, 4 ThreadSanitizer; -DMWS_TEST_SLOWDOWN=N overrides).
 * Only upper bounds on lateness get it: load makes things late, never early. */
#ifndef MWS_TEST_TIMING_H
#define MWS_TEST_TIMING_H

#ifndef MWS_TEST_SLOWDOWN
#define MWS_TEST_SLOWDOWN 1
#endif

#define MWS_TEST_SLACK_MS(ms) ((ms) * MWS_TEST_SLOWDOWN)

#endif
