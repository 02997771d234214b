/* The context's own life: created and freed with nothing on it, the stop
 * command races with nothing (mws_ctx_free wakes the I/O thread while the
 * I/O thread may already be tearing down). */
#include <criterion/criterion.h>

#include "managedws.h"

/* The I/O thread may take the stop command before mws_ctx_free's wake has
 * returned; it must not destroy the libwebsockets context (and its wake
 * eventfd) under that wake. ThreadSanitizer saw the race here; the other
 * builds check that 300 quick cycles complete. */
Test(ctx, freed_right_after_creation_again_and_again)
{
	for (int i = 0; i < 300; i++) {
		mws_ctx_config cfg;
		mws_ctx_config_init(&cfg);
		cfg.fd_limit = 64; /* small tables: this test is about threads */
		mws_ctx *ctx = NULL;
		cr_assert_eq(mws_ctx_new(&ctx, &cfg), 0, "cycle %d", i);
		cr_assert_eq(mws_ctx_free(ctx), 0, "cycle %d", i);
	}
}
