/* Counts the heap allocations the calling thread makes: the test binary's
 * own malloc family, in front of glibc's (it interposes on every library
 * in the process, ours and libwebsockets included). Sanitizers bring their
 * own allocator, so there the count is not available. Include once. */
#ifndef MWS_TEST_ALLOC_COUNTER_H
#define MWS_TEST_ALLOC_COUNTER_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ALLOC_COUNTER_WORKS 0
static inline long allocs_here(void) { return 0; }
#else
#define ALLOC_COUNTER_WORKS 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static _Thread_local long alloc_counter_n;

void *malloc(size_t n)
{
	alloc_counter_n++;
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	alloc_counter_n++;
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	alloc_counter_n++;
	return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n)
{
	alloc_counter_n++;
	return __libc_memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n)
{
	alloc_counter_n++;
	void *p = __libc_memalign(a, n);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

/* Allocations made by this thread so far. */
static inline long allocs_here(void) { return alloc_counter_n; }
#endif

#endif
