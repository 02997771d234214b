/* The server tests' own managedws client: a record of what it saw, a
 * constructor that connects it (plain protocol unless a config is given),
 * and (client_wait.h) waits on its state. */
#ifndef MWS_TEST_SERVER_OUR_CLIENT_H
#define MWS_TEST_SERVER_OUR_CLIENT_H

#include "client_wait.h"
#include "server_common.h"
#include "test_timing.h"

typedef struct client_rec {
	pthread_mutex_t lock;
	atomic_int connected, messages, closed_or_failed, state_changes;
	int last_code;
	int first_close_code; /* of the first RECONNECTING/FAILED/CLOSED */
	int last_state;
	char last_reason[128];
	char last_msg[256];
	const char *token; /* sent as X-Token by the credentials hook */
} client_rec;

static inline void cl_on_state(mws_client *c, const mws_state_change *ch,
                               void *ud)
{
	(void)c;
	client_rec *r = ud;
	pthread_mutex_lock(&r->lock);
	r->last_code = ch->close_code;
	r->last_state = ch->to;
	snprintf(r->last_reason, sizeof r->last_reason, "%s", ch->reason);
	pthread_mutex_unlock(&r->lock);
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&r->connected, 1);
	if (ch->to == MWS_STATE_FAILED || ch->to == MWS_STATE_CLOSED ||
	    ch->to == MWS_STATE_RECONNECTING) {
		pthread_mutex_lock(&r->lock);
		if (!r->first_close_code)
			r->first_close_code = ch->close_code;
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&r->closed_or_failed, 1);
	}
	atomic_fetch_add(&r->state_changes, 1);
}

static inline void cl_on_message(mws_client *c, const void *data, size_t len, int type,
                                 void *ud)
{
	(void)c;
	(void)type;
	client_rec *r = ud;
	pthread_mutex_lock(&r->lock);
	snprintf(r->last_msg, sizeof r->last_msg, "%.*s", (int)(len < 255 ? len : 255),
	         (const char *)data);
	pthread_mutex_unlock(&r->lock);
	atomic_fetch_add(&r->messages, 1);
}

static inline int cl_on_credentials(mws_client *c, mws_credentials *creds,
                                    void *ud)
{
	(void)c;
	client_rec *r = ud;
	if (r->token)
		mws_credentials_set_header(creds, "X-Token", r->token);
	return 0;
}

static inline mws_client *our_client(mws_ctx *ctx, int port, const char *path,
                                     client_rec *r, mws_client_config *cfg)
{
	char url[128];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path ? path : "/");
	mws_client_config dflt;
	if (!cfg) {
		mws_client_config_init(&dflt);
		/* plain connections here; mws.v1 is tested in test_v1_*.c */
		dflt.protocol_mode = MWS_PROTOCOL_PLAIN;
		cfg = &dflt;
	}
	mws_client *c = NULL;
	pthread_mutex_init(&r->lock, NULL);
	cr_assert_eq(mws_client_new(&c, ctx, url, cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, cl_on_state, cl_on_message, cl_on_credentials};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, r, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	return c;
}

static inline mws_ctx *new_ctx(void)
{
	mws_ctx_config cc;
	mws_ctx_config_init(&cc);
	cc.fd_limit = 1024;
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, &cc), 0);
	return ctx;
}

#endif
