#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/session_store.h"
#include "managedws.h"

static mws__store st;

static void setup(void)
{
	mws__store_config cfg = {.ttl_ms = 1000, .max_sessions = 3, .max_bytes_per_session = 64,
	                         .max_messages_per_session = 4};
	cr_assert_eq(mws__store_mem_new(&st, &cfg), 0);
}

static void teardown(void)
{
	mws__store_free(&st);
}

TestSuite(session_store, .init = setup, .fini = teardown);

static void id_of(unsigned char *id, int n)
{
	memset(id, 0, MWS__ENV_ID_LEN);
	id[0] = (unsigned char)n;
	id[15] = 0x5a;
}

static mws__store_rec *create(int n, uint64_t now)
{
	unsigned char id[16], secret[16];
	id_of(id, n);
	memset(secret, n, sizeof(secret));
	mws__store_rec *r = NULL;
	cr_assert_eq(mws__store_create(&st, id, secret, 100 + (uint64_t)n, now, &r), 0);
	return r;
}

static mws__store_rec *lookup(int n, int secret_byte, uint64_t now)
{
	unsigned char id[16], secret[16];
	id_of(id, n);
	memset(secret, secret_byte, sizeof(secret));
	return mws__store_lookup(&st, id, secret, now);
}

Test(session_store, defaults_are_the_documented_ones)
{
	mws__store d;
	cr_assert_eq(mws__store_mem_new(&d, NULL), 0);
	cr_expect_eq(d.cfg.ttl_ms, 120000);
	cr_expect_eq(d.cfg.max_sessions, 10000);
	cr_expect_eq(d.cfg.max_bytes_per_session, 1u << 20);
	cr_expect_eq(d.cfg.max_messages_per_session, 1024);
	mws__store_free(&d);
}

Test(session_store, a_created_session_is_found_with_its_secret_only)
{
	mws__store_rec *r = create(1, 0);
	cr_expect_eq(r->app_id, 101);
	cr_expect_not(r->suspended);
	cr_expect_eq(lookup(1, 1, 10), r);
	cr_expect_null(lookup(1, 2, 10), "wrong secret");
	cr_expect_null(lookup(2, 1, 10), "unknown id");
	cr_expect_eq(mws__store_count(&st), 1);
}

Test(session_store, an_id_sharing_the_hash_key_is_not_confused)
{
	create(1, 0);
	unsigned char id[16], secret[16];
	id_of(id, 1);
	id[15] = 0x5b; /* same first 8 bytes, another id */
	memset(secret, 1, sizeof(secret));
	cr_expect_null(mws__store_lookup(&st, id, secret, 0));
	mws__store_rec *r;
	cr_expect_eq(mws__store_create(&st, id, secret, 9, 0, &r), MWS_EINVAL,
	             "the caller draws another id");
}

Test(session_store, max_sessions_refuses_the_next)
{
	create(1, 0);
	create(2, 0);
	create(3, 0);
	unsigned char id[16], secret[16] = {0};
	id_of(id, 4);
	mws__store_rec *r = NULL;
	cr_expect_eq(mws__store_create(&st, id, secret, 4, 0, &r), MWS_EQUEUEFULL);
	cr_expect_null(r);
	cr_expect_eq(mws__store_count(&st), 3);
}

Test(session_store, the_session_engine_is_bounded_by_the_store_limits)
{
	mws__store_rec *r = create(1, 0);
	cr_expect_eq(r->sess.lim.max_bytes, 64);
	cr_expect_eq(r->sess.lim.max_messages, 4);
	cr_expect_eq(mws__sess_can_push(&r->sess, 65), MWS_ETOOBIG);
	for (int i = 0; i < 4; i++) {
		mws__msg *m = mws__msg_new("x", 1, MWS_MSG_BINARY);
		cr_assert_eq(mws__sess_push(&r->sess, m, NULL), 0);
	}
	cr_expect_eq(mws__sess_can_push(&r->sess, 1), MWS_EQUEUEFULL);
}

static int expired_calls;
static uint64_t expired_ids[8];
static void on_expired(mws__store_rec *r, void *user)
{
	cr_assert_eq(user, &st);
	expired_ids[expired_calls++] = r->app_id;
}

Test(session_store, a_suspended_session_expires_after_the_ttl_on_the_fake_clock)
{
	mws__store_rec *r = create(1, 0);
	mws__store_suspend(&st, r, 5000);
	cr_expect(r->suspended);
	cr_expect_eq(r->expires_at_ms, 6000);
	cr_expect_eq(mws__store_expire(&st, 5999, on_expired, &st), 0);
	cr_expect_eq(lookup(1, 1, 5999), r, "still there just before the TTL");
	cr_expect_null(lookup(1, 1, 6000), "expired sessions are not found");
	cr_expect_eq(mws__store_expire(&st, 6000, on_expired, &st), 1);
	cr_expect_eq(expired_calls, 1);
	cr_expect_eq(expired_ids[0], 101);
	cr_expect_eq(mws__store_count(&st), 0);
}

Test(session_store, an_active_session_never_expires)
{
	mws__store_rec *r = create(1, 0);
	mws__store_suspend(&st, r, 0);
	mws__store_activate(&st, r, 500);
	cr_expect_not(r->suspended);
	cr_expect_eq(mws__store_expire(&st, 1000000, on_expired, &st), 0);
	cr_expect_eq(lookup(1, 1, 1000000), r);
}

Test(session_store, touch_moves_the_expiry_and_the_order)
{
	mws__store_rec *a = create(1, 0), *b = create(2, 0);
	mws__store_suspend(&st, a, 0);
	mws__store_suspend(&st, b, 100);
	mws__store_touch(&st, a, 500); /* a now expires at 1500, after b (1100) */
	cr_expect_eq(a->expires_at_ms, 1500);
	cr_expect_eq(mws__store_expire(&st, 1200, on_expired, &st), 1);
	cr_expect_eq(expired_ids[0], 102);
	cr_expect_eq(mws__store_expire(&st, 1500, on_expired, &st), 1);
	cr_expect_eq(expired_ids[1], 101);
	mws__store_rec *c = create(3, 0);
	mws__store_touch(&st, c, 9999);
	cr_expect_eq(c->expires_at_ms, UINT64_MAX, "touching an active session changes nothing");
}

Test(session_store, remove_frees_a_session_in_any_state)
{
	mws__store_rec *a = create(1, 0), *b = create(2, 0);
	mws__msg *m = mws__msg_new("kept", 4, MWS_MSG_TEXT);
	cr_assert_eq(mws__sess_push(&a->sess, m, NULL), 0);
	mws__store_suspend(&st, b, 0);
	mws__store_remove(&st, a);
	mws__store_remove(&st, b);
	cr_expect_eq(mws__store_count(&st), 0);
	cr_expect_eq(mws__store_expire(&st, 100000, on_expired, &st), 0);
	cr_expect_eq(expired_calls, 0);
	cr_expect_null(lookup(1, 1, 0));
}

Test(session_store, secrets_compare_whole)
{
	unsigned char a[16] = {0}, b[16] = {0};
	cr_expect(mws__store_secret_equal(a, b));
	b[15] = 1;
	cr_expect_not(mws__store_secret_equal(a, b));
	b[15] = 0;
	b[0] = 0x80;
	cr_expect_not(mws__store_secret_equal(a, b));
}

Test(session_store, freeing_a_store_with_sessions_left_frees_them)
{
	for (int i = 1; i <= 3; i++) {
		mws__store_rec *r = create(i, 0);
		mws__msg *m = mws__msg_new("x", 1, MWS_MSG_TEXT);
		cr_assert_eq(mws__sess_push(&r->sess, m, NULL), 0);
		if (i == 2)
			mws__store_suspend(&st, r, 0);
	}
	/* teardown frees; ASan/valgrind builds would report a leak. */
}
