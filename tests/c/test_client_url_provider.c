/* mws_credentials_set_url(): the credentials hook picks the URL of each
 * attempt (a server list, a discovery service), against real servers. */
#include "server_common.h"

#include <time.h>

typedef struct two {
	rec a, b;
	mws_server *sa, *sb;
	char url_b[128];
	atomic_int calls;
	atomic_int set_rc;      /* what the last set_url returned */
	int bad_url;            /* give an invalid URL instead */
	int switch_from;        /* attempt number from which B is chosen; 0: always */
} two;

static int pick_url(mws_client *c, mws_credentials *creds, void *ud)
{
	(void)c;
	two *t = ud;
	atomic_fetch_add(&t->calls, 1);
	if (t->switch_from && (int)atomic_load(&t->calls) < t->switch_from)
		return 0;
	int rc = mws_credentials_set_url(creds, t->bad_url ? "http://nope" : t->url_b);
	atomic_store(&t->set_rc, rc);
	return 0;
}

static mws_client *client_for(mws_ctx *ctx, const char *url, two *t)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 100;
	cfg.restart_spread_ms = 50;
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, NULL, pick_url};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, t, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

static void two_servers(mws_ctx *ctx, two *t)
{
	memset(t, 0, sizeof *t);
	rec_init(&t->a);
	rec_init(&t->b);
	t->sa = rec_server(ctx, NULL, &t->a);
	t->sb = rec_server(ctx, NULL, &t->b);
	snprintf(t->url_b, sizeof t->url_b, "ws://127.0.0.1:%d/there?from=hook",
	         mws_server_port(t->sb));
}

Test(client_url_provider, the_hook_sends_the_attempt_to_another_url, .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	two t;
	two_servers(ctx, &t);
	char url_a[64];
	snprintf(url_a, sizeof url_a, "ws://127.0.0.1:%d/here", mws_server_port(t.sa));
	mws_client *c = client_for(ctx, url_a, &t);
	cr_assert(wait_at_least(&t.b.connects, 1, 5000), "B never saw the client");
	cr_assert_eq(atomic_load(&t.set_rc), 0);
	cr_assert_eq(atomic_load(&t.a.connects), 0);
	pthread_mutex_lock(&t.b.lock);
	cr_assert_str_eq(t.b.last_path, "/there?from=hook");
	pthread_mutex_unlock(&t.b.lock);
	mws_client_free(c);
	mws_server_free(t.sa);
	mws_server_free(t.sb);
	mws_ctx_free(ctx);
}

Test(client_url_provider, a_later_attempt_moves_to_another_server, .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	two t;
	two_servers(ctx, &t);
	t.switch_from = 2; /* the first attempt keeps A's URL */
	char url_a[64];
	snprintf(url_a, sizeof url_a, "ws://127.0.0.1:%d/here", mws_server_port(t.sa));
	mws_client *c = client_for(ctx, url_a, &t);
	cr_assert(wait_at_least(&t.a.connects, 1, 5000));
	/* A restarts: the next attempt asks the hook, which chooses B. */
	cr_assert_eq(mws_server_close(t.sa, rec_last_id(&t.a), 1012, "restart"), 0);
	cr_assert(wait_at_least(&t.b.connects, 1, 5000), "the reconnect did not go to B");
	cr_assert_geq(atomic_load(&t.calls), 2);
	cr_assert_eq(atomic_load(&t.a.connects), 1);
	mws_client_free(c);
	mws_server_free(t.sa);
	mws_server_free(t.sb);
	mws_ctx_free(ctx);
}

Test(client_url_provider, a_bad_url_is_refused_and_the_attempt_keeps_its_url, .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	two t;
	two_servers(ctx, &t);
	t.bad_url = 1;
	char url_a[64];
	snprintf(url_a, sizeof url_a, "ws://127.0.0.1:%d/here", mws_server_port(t.sa));
	mws_client *c = client_for(ctx, url_a, &t);
	cr_assert(wait_at_least(&t.a.connects, 1, 5000));
	cr_assert_eq(atomic_load(&t.set_rc), MWS_EINVAL);
	cr_assert_eq(mws_credentials_set_url(NULL, url_a), MWS_EINVAL);
	mws_client_free(c);
	mws_server_free(t.sa);
	mws_server_free(t.sb);
	mws_ctx_free(ctx);
}

/* MWS_CREDENTIALS_PENDING: the hook answers from another thread. */
typedef struct deferred {
	two *t;
	mws_client *c;
	atomic_int calls, answered, attempts_seen;
	int never;               /* never answer: the attempt times out */
} deferred;

static void *answer_soon(void *arg)
{
	deferred *d = arg;
	nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
	atomic_store(&d->answered, 1);
	cr_assert_eq(mws_client_credentials_ready(d->c), 0);
	return NULL;
}

static int pending_hook(mws_client *c, mws_credentials *creds, void *ud)
{
	deferred *d = ud;
	atomic_fetch_add(&d->calls, 1);
	atomic_store(&d->attempts_seen, (int)mws_credentials_attempt(creds));
	if (d->never || !atomic_load(&d->answered)) {
		if (!d->never && atomic_load(&d->calls) == 1) {
			pthread_t th;
			d->c = c;
			pthread_create(&th, NULL, answer_soon, d);
			pthread_detach(th);
		}
		return MWS_CREDENTIALS_PENDING;
	}
	return mws_credentials_set_url(creds, d->t->url_b);
}

Test(client_url_provider, a_pending_hook_holds_the_attempt_until_ready, .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	two t;
	two_servers(ctx, &t);
	deferred d = {.t = &t};
	char url_a[64];
	snprintf(url_a, sizeof url_a, "ws://127.0.0.1:%d/here", mws_server_port(t.sa));
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url_a, NULL), 0);
	d.c = c;
	mws_client_callbacks cbs = {sizeof cbs, NULL, NULL, pending_hook};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &d, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(wait_at_least(&t.b.connects, 1, 5000), "the answer did not move the attempt to B");
	cr_assert_eq(atomic_load(&t.a.connects), 0, "the attempt went on before the answer");
	cr_assert_eq(atomic_load(&d.calls), 2, "asked once, then again once ready");
	cr_assert_eq(atomic_load(&d.attempts_seen), 1, "the same attempt");
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	cr_assert_eq(st.attempts_total, 1);
	cr_assert_eq(mws_client_credentials_ready(NULL), MWS_EINVAL);
	mws_client_free(c);
	mws_server_free(t.sa);
	mws_server_free(t.sb);
	mws_ctx_free(ctx);
}

static bool reached_reconnecting(void *arg)
{
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(arg, &st);
	return st.attempts_total >= 2;
}

Test(client_url_provider, an_unanswered_pending_hook_fails_the_attempt_at_the_connect_timeout,
     .timeout = 30)
{
	mws_ctx *ctx;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	two t;
	two_servers(ctx, &t);
	deferred d = {.t = &t, .never = 1};
	char url_a[64];
	snprintf(url_a, sizeof url_a, "ws://127.0.0.1:%d/here", mws_server_port(t.sa));
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.connect_timeout_ms = 300;
	cfg.base_delay_ms = 50;
	cfg.max_delay_ms = 100;
	mws_client *c = NULL;
	cr_assert_eq(mws_client_new(&c, ctx, url_a, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, NULL, pending_hook};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &d, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(mws_test_wait_until(reached_reconnecting, c, 5000),
	          "the waiting attempt never timed out");
	cr_assert_eq(atomic_load(&t.a.connects), 0);
	cr_assert_eq(atomic_load(&t.b.connects), 0);
	mws_client_free(c);
	mws_server_free(t.sa);
	mws_server_free(t.sb);
	mws_ctx_free(ctx);
}
