/*
 * The client end of the Autobahn|Testsuite run (wstest -m fuzzingserver):
 * one managedws client per case, written over the public header only, that
 * echoes every message back (text as text, binary as binary) until the
 * suite ends the connection, then asks the suite to write its reports.
 *
 *   testee_client ws://127.0.0.1:9001 [--agent NAME] [--case-timeout MS]
 *
 * Exit status: 0 when every case ran (the verdicts are in the suite's
 * report), 1 when the suite could not be reached or a case hung.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "managedws.h"

typedef struct run {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ended;         /* the connection is over (any state but the live ones) */
	int last_code;
	char last_reason[128];
	char text[64];     /* the first text message (the case count) */
} run;

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	run *r = ud;
	if (ch->to == MWS_STATE_CONNECTING || ch->to == MWS_STATE_CONNECTED)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->ended) { /* our own close() after the end */
		pthread_mutex_unlock(&r->lock);
		return;
	}
	r->ended = 1;
	r->last_code = ch->close_code;
	snprintf(r->last_reason, sizeof r->last_reason, "%s", ch->reason);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	run *r = ud;
	if (!r->text[0] && type == MWS_MSG_TEXT && len < sizeof r->text) {
		memcpy(r->text, data, len);
		r->text[len] = '\0';
	}
	int rc = mws_client_send(c, data, len, type);
	if (rc)
		fprintf(stderr, "testee: echo of %zu bytes refused: %s\n", len, mws_strerror(rc));
}

/* Connects to url, echoes until the connection ends, waits at most
 * timeout_ms. Returns 0, or -1 if it hung (or could not start). */
static int one_connection(mws_ctx *ctx, const char *url, int timeout_ms, run *r)
{
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF; /* the suite counts every frame */
	cfg.connect_timeout_ms = 5000;
	cfg.handshake_timeout_ms = 5000;
	cfg.queue_max_messages = 1 << 20;
	cfg.queue_max_bytes = (size_t)256 << 20;
	cfg.max_message_bytes = (size_t)256 << 20;
	cfg.base_delay_ms = 60000; /* a retry never comes: the case ends first */

	memset(r->text, 0, sizeof r->text);
	r->ended = 0;
	r->last_code = 0;
	mws_client *c = NULL;
	int rc = mws_client_new(&c, ctx, url, &cfg);
	mws_client_callbacks cbs = {sizeof cbs, on_state, on_message, NULL};
	if (rc || (rc = mws_client_set_callbacks(c, &cbs, r, NULL)) ||
	    (rc = mws_client_connect(c))) {
		fprintf(stderr, "testee: %s: %s\n", url, mws_strerror(rc));
		mws_client_free(c);
		return -1;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->ended)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until))
			break;
	int ended = r->ended;
	pthread_mutex_unlock(&r->lock);
	mws_client_close(c, 1000, NULL); /* no retry after the case */
	mws_client_free(c);
	if (!ended)
		fprintf(stderr, "testee: %s: no end within %d ms\n", url, timeout_ms);
	return ended ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *base = NULL, *agent = "managedws";
	int case_timeout_ms = 60000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--agent") && i + 1 < argc)
			agent = argv[++i];
		else if (!strcmp(argv[i], "--case-timeout") && i + 1 < argc)
			case_timeout_ms = atoi(argv[++i]);
		else if (!base && argv[i][0] != '-')
			base = argv[i];
		else {
			fprintf(stderr, "usage: %s URL [--agent NAME] [--case-timeout MS]\n", argv[0]);
			return 2;
		}
	}
	if (!base || case_timeout_ms <= 0) {
		fprintf(stderr, "usage: %s URL [--agent NAME] [--case-timeout MS]\n", argv[0]);
		return 2;
	}

	mws_ctx *ctx = NULL;
	if (mws_ctx_new(&ctx, NULL)) {
		fprintf(stderr, "testee: cannot create a context\n");
		return 1;
	}
	run r;
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);

	char url[512];
	int status = 0;
	snprintf(url, sizeof url, "%s/getCaseCount", base);
	long count = 0;
	if (one_connection(ctx, url, 10000, &r) || (count = strtol(r.text, NULL, 10)) <= 0) {
		fprintf(stderr, "testee: no case count from %s (code %d: %s)\n", url, r.last_code,
		        r.last_reason);
		status = 1;
	}
	for (long i = 1; i <= count; i++) {
		snprintf(url, sizeof url, "%s/runCase?case=%ld&agent=%s", base, i, agent);
		if (one_connection(ctx, url, case_timeout_ms, &r))
			status = 1;
	}
	if (count > 0) {
		snprintf(url, sizeof url, "%s/updateReports?agent=%s", base, agent);
		if (one_connection(ctx, url, 30000, &r))
			status = 1;
	}
	fprintf(stderr, "testee: %ld cases run as agent %s\n", count, agent);
	mws_ctx_free(ctx);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cond);
	return status;
}
