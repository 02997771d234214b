/* The public client: argument checks, settings, and the hand-off of every
 * request to the I/O thread. The send path is the hot path: one copy into
 * one allocation (with the frame header's room in front), one ring push,
 * and a wake only when the I/O thread is not already coming; from a
 * callback, straight into the connection's queue. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/state_machine.h"
#include "io/client_io.h"

MWS_API const char *mws_state_name(int state) { return mws__state_name(state); }

MWS_API int mws_client_config_init(mws_client_config *cfg)
{
	if (!cfg)
		return MWS_EINVAL;
	memset(cfg, 0, sizeof *cfg);
	cfg->size = sizeof *cfg;
	return 0;
}

static char *mws__strdup_or_null(const char *s, int *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

/* libwebsockets would take an interface name too, and bind nothing when
 * there is none: only an address says what the caller means. */
static int mws__is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static uint64_t mws__or(long v, uint64_t dflt) { return v > 0 ? (uint64_t)v : dflt; }

/* Every default in one place; the header states the same numbers. */
static int mws__settings_resolve(mws__client_settings *s, const mws_client_config *cfg)
{
	if (cfg->connect_timeout_ms < 0 || cfg->handshake_timeout_ms < 0 ||
	    cfg->base_delay_ms < 0 || cfg->max_delay_ms < 0 || cfg->restart_spread_ms < 0 ||
	    cfg->min_uptime_ms < 0 || cfg->max_attempts < 0 || cfg->breaker_failures < 0 ||
	    cfg->breaker_window_ms < 0 || cfg->heartbeat_interval_ms < 0 ||
	    cfg->heartbeat_timeout_ms < 0 || cfg->queue_max_messages < 0 ||
	    cfg->jitter < 0 || cfg->jitter > MWS_JITTER_NONE || cfg->heartbeat_mode < 0 ||
	    cfg->heartbeat_mode > MWS_HEARTBEAT_OFF || cfg->jitter_proportion < 0 ||
	    cfg->jitter_proportion > 100 || (cfg->headers && strpbrk(cfg->headers, "\r")) ||
	    !(cfg->backoff_factor == 0 || (cfg->backoff_factor >= 1 && cfg->backoff_factor <= 1000)))
		return MWS_EINVAL;
	if ((cfg->protocol_mode < 0 || cfg->protocol_mode > MWS_PROTOCOL_PLAIN ||
	     cfg->session_lost_mode < 0 || cfg->session_lost_mode > MWS_SESSION_LOST_DISCARD ||
	     cfg->ack_every < 0 || cfg->ack_delay_ms < 0))
		return MWS_EINVAL;
	if (cfg->local_address && !mws__is_ip_literal(cfg->local_address))
		return MWS_EINVAL;
	int oom = 0;
	s->subprotocol = mws__strdup_or_null(cfg->subprotocol, &oom);
	s->local_address = mws__strdup_or_null(cfg->local_address, &oom);
	s->origin = mws__strdup_or_null(cfg->origin, &oom);
	s->headers = mws__strdup_or_null(cfg->headers, &oom);
	s->ca_file = mws__strdup_or_null(cfg->ca_file, &oom);
	s->connect_timeout_ms = mws__or(cfg->connect_timeout_ms, 10000);
	s->handshake_timeout_ms = mws__or(cfg->handshake_timeout_ms, 10000);
	s->heartbeat_mode = cfg->heartbeat_mode ? cfg->heartbeat_mode : MWS_HEARTBEAT_PING;
	s->heartbeat_interval_ms = mws__or(cfg->heartbeat_interval_ms, 20000);
	s->heartbeat_timeout_ms = mws__or(cfg->heartbeat_timeout_ms, 10000);
	s->queue_max_messages = (size_t)mws__or(cfg->queue_max_messages, 1024);
	s->queue_max_bytes = cfg->queue_max_bytes ? cfg->queue_max_bytes : 4u << 20;
	s->max_message_bytes = cfg->max_message_bytes ? cfg->max_message_bytes : 16u << 20;
	s->insecure = cfg->insecure != 0;
	s->no_offline_queue = cfg->no_offline_queue != 0;
	s->hold_queue_on_connect = cfg->hold_queue_on_connect != 0;
	return oom ? MWS_ENOMEM : 0;
}

static void mws__client_settings_free(mws__client_settings *s)
{
	free(s->subprotocol);
	free(s->origin);
	free(s->headers);
	free(s->ca_file);
	free(s->local_address);
}

static void mws__client_release(struct mws_client *c)
{
	if (c->free_user_data)
		c->free_user_data(c->user_data);
	free(c->free_cmd);
	mws__client_v1_destroy(c);
	mws__spsc_destroy(&c->ring);
	mws__msg_pool_clear(&c->pool);
	mws__client_settings_free(&c->set);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->stats_lock);
	pthread_mutex_destroy(&c->room_lock);
	pthread_cond_destroy(&c->room_cond);
	free(c->url_text);
	free(c);
}

/* ---- commands: every request runs on the I/O thread ---- */

typedef struct mws__client_cmd {
	mws__cmd cmd;
	struct mws_client *client;
	int kind;
	int code;
	char reason[124];
	uint64_t upto;        /* MWS__CMD_CLEAR: sends accepted before it */
} mws__client_cmd;

enum { MWS__CMD_ATTACH, MWS__CMD_CONNECT, MWS__CMD_RECONNECT_NOW, MWS__CMD_DISCONNECT,
       MWS__CMD_CLOSE, MWS__CMD_FREE, MWS__CMD_CLEAR };

static void mws__client_cmd_run(mws_ctx *ctx, mws__cmd *cmd)
{
	mws__client_cmd *cc = MWS__CONTAINER_OF(cmd, mws__client_cmd, cmd);
	struct mws_client *c = cc->client;
	/* Stopped context: only freeing still makes sense. */
	int alive = c->member.next != NULL || cc->kind == MWS__CMD_ATTACH;
	switch (cc->kind) {
	case MWS__CMD_ATTACH:
		if (!ctx->stopping)
			mws__client_attach(ctx, c);
		break;
	case MWS__CMD_CONNECT:
		if (alive)
			mws__client_do_connect(c);
		break;
	case MWS__CMD_RECONNECT_NOW:
		if (alive)
			mws__client_do_reconnect_now(c);
		break;
	case MWS__CMD_DISCONNECT:
	case MWS__CMD_CLOSE:
		if (alive)
			mws__client_do_disconnect(c, cc->code, cc->reason,
			                          cc->kind == MWS__CMD_CLOSE);
		break;
	case MWS__CMD_CLEAR:
		if (alive)
			mws__client_clear_upto(c, cc->upto);
		break;
	case MWS__CMD_FREE:
		mws__client_do_free(c);
		if (cmd->waited) {
			mws__ctx_complete(ctx, cmd); /* the caller frees both */
			return;
		}
		mws__client_release(c); /* deferred from a callback */
		break;
	}
	free(cc);
}

static int mws__client_post(struct mws_client *c, int kind, int code, const char *reason)
{
	mws__client_cmd *cc = calloc(1, sizeof *cc);
	if (!cc)
		return MWS_ENOMEM;
	cc->cmd.run = mws__client_cmd_run;
	cc->client = c;
	cc->kind = kind;
	cc->code = code;
	if (reason)
		strncpy(cc->reason, reason, sizeof cc->reason - 1);
	mws__ctx_post(c->ctx, &cc->cmd);
	return 0;
}

/* ---- public API ---- */

MWS_API int mws_client_new(mws_client **out, mws_ctx *ctx, const char *url,
                           const mws_client_config *cfg_in)
{
	if (!out)
		return MWS_EINVAL;
	*out = NULL;
	if (!url)
		return MWS_EINVAL;
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	if (cfg_in) {
		if (cfg_in->size < offsetof(mws_client_config, subprotocol) ||
		    cfg_in->size > 1 << 16)
			return MWS_EINVAL;
		memcpy(&cfg, cfg_in, cfg_in->size < sizeof cfg ? cfg_in->size : sizeof cfg);
	}
	struct mws_client *c = calloc(1, sizeof *c);
	if (!c)
		return MWS_ENOMEM;
	int rc = mws__url_parse(&c->url, url);
	if (rc == 0)
		rc = mws__settings_resolve(&c->set, &cfg);
	if (rc == 0)
		rc = mws__close_policy_init(&c->policy, cfg.close_rules, cfg.close_rule_count);
	if (rc == 0 && cfg.close_rule_count && !cfg.close_rules)
		rc = MWS_EINVAL;
	if (rc == 0 && (uint64_t)cfg.max_delay_ms && cfg.base_delay_ms > cfg.max_delay_ms)
		rc = MWS_EINVAL;
	if (rc == 0 && !(c->url_text = strdup(url)))
		rc = MWS_ENOMEM;
	if (rc == 0)
		rc = mws__spsc_init(&c->ring, c->set.queue_max_messages);
	if (rc) {
		mws__client_settings_free(&c->set);
		free(c->url_text);
		free(c);
		return rc;
	}
	if (!ctx && !(ctx = mws_ctx_default())) {
		mws__spsc_destroy(&c->ring);
		mws__client_settings_free(&c->set);
		free(c->url_text);
		free(c);
		return MWS_EIO;
	}
	c->ctx = ctx;
	mws__msg_pool_init(&c->pool, mws__client_pool_limit(c->set.queue_max_bytes));
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	pthread_mutex_init(&c->room_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* a wait's deadline ignores clock steps */
	pthread_cond_init(&c->room_cond, &ca);
	pthread_condattr_destroy(&ca);
	mws__hist_init(&c->rtt_us);
	mws__hist_init(&c->uptime_ms);
	mws__msgq_init(&c->txq);
	mws__msgq_init(&c->held);
	c->ready.drain = mws__client_drain;
	mws__client_v1_init(c, cfg.protocol_mode, cfg.session_lost_mode,
	                    (uint32_t)cfg.ack_every, (uint32_t)cfg.ack_delay_ms);
	mws__backoff_init(&c->retry.backoff, mws__or(cfg.base_delay_ms, 500),
	                  mws__or(cfg.max_delay_ms, 30000),
	                  cfg.jitter ? cfg.jitter : MWS_JITTER_FULL,
	                  cfg.jitter_proportion > 0 ? cfg.jitter_proportion : 0.3);
	if (cfg.backoff_factor > 0)
		mws__backoff_set_factor(&c->retry.backoff, cfg.backoff_factor);
	mws__breaker_init(&c->retry.breaker, (uint32_t)cfg.breaker_failures,
	                  mws__or(cfg.breaker_window_ms, 60000));
	mws__rng_seed(&c->retry.rng, cfg.random_seed ? cfg.random_seed
	                                             : mws__now_us() ^ (uint64_t)(uintptr_t)c);
	c->retry.max_attempts = (uint32_t)cfg.max_attempts;
	c->retry.min_uptime_ms = mws__or(cfg.min_uptime_ms, 5000);
	c->retry.restart_spread_ms = mws__or(cfg.restart_spread_ms, 5000);
	c->retry.no_retry = cfg.no_reconnect != 0;
	c->state = MWS_STATE_DISCONNECTED;
	c->free_cmd = calloc(1, sizeof(mws__client_cmd));
	if (!c->free_cmd || mws__client_post(c, MWS__CMD_ATTACH, 0, NULL)) {
		mws__client_release(c);
		return MWS_ENOMEM;
	}
	*out = c;
	return 0;
}

MWS_API int mws_client_set_callbacks(mws_client *c, const mws_client_callbacks *cbs,
                                     void *user_data, void (*free_user_data)(void *))
{
	if (!c || !cbs || cbs->size < sizeof(size_t) || cbs->size > 1 << 16)
		return MWS_EINVAL;
	if (atomic_load(&c->started))
		return MWS_ESTATE;
	memset(&c->cbs, 0, sizeof c->cbs);
	memcpy(&c->cbs, cbs, cbs->size < sizeof c->cbs ? cbs->size : sizeof c->cbs);
	c->cbs.size = sizeof c->cbs;
	if (c->free_user_data && c->user_data != user_data)
		c->free_user_data(c->user_data);
	c->user_data = user_data;
	c->free_user_data = free_user_data;
	return 0;
}

MWS_API int mws_client_connect(mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	int st = atomic_load(&c->state_pub);
	if (st == MWS_STATE_CLOSED || atomic_load(&c->freeing) || atomic_load(&c->closed_by_app))
		return MWS_ECLOSED;
	if (st != MWS_STATE_DISCONNECTED && st != MWS_STATE_FAILED)
		return MWS_ESTATE;
	atomic_store(&c->started, 1);
	return mws__client_post(c, MWS__CMD_CONNECT, 0, NULL);
}

MWS_API int mws_client_reconnect_now(mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	int st = atomic_load(&c->state_pub);
	if (st == MWS_STATE_CLOSED)
		return MWS_ECLOSED;
	if (st != MWS_STATE_RECONNECTING)
		return MWS_ESTATE;
	return mws__client_post(c, MWS__CMD_RECONNECT_NOW, 0, NULL);
}

static int mws__client_close_args(int *code, const char *reason)
{
	if (*code == 0)
		*code = 1000;
	if (*code != 1000 && (*code < 3000 || *code > 4999))
		return MWS_EINVAL; /* what an application may send, RFC 6455 7.4 */
	if (reason && strlen(reason) > 123)
		return MWS_EINVAL;
	return 0;
}

MWS_API int mws_client_disconnect(mws_client *c, int code, const char *reason)
{
	if (!c || mws__client_close_args(&code, reason))
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->closed_by_app))
		return MWS_ECLOSED;
	return mws__client_post(c, MWS__CMD_DISCONNECT, code, reason);
}

MWS_API int mws_client_close(mws_client *c, int code, const char *reason)
{
	if (!c || mws__client_close_args(&code, reason))
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->closed_by_app))
		return MWS_ECLOSED;
	/* Set before the I/O thread gets to it: once close() returns, every
	 * send fails, whatever the I/O thread is doing. */
	atomic_store(&c->closed_by_app, 1);
	int rc = mws__client_post(c, MWS__CMD_CLOSE, code, reason);
	if (rc)
		atomic_store(&c->closed_by_app, 0);
	return rc;
}

MWS_API int mws_client_send(mws_client *c, const void *data, size_t len, int type)
{
	return mws_client_send_seq(c, data, len, type, NULL);
}

MWS_API int mws_client_send_seq(mws_client *c, const void *data, size_t len, int type,
                                uint64_t *number)
{
	if (!c || (!data && len) || (type != MWS_MSG_TEXT && type != MWS_MSG_BINARY))
		return MWS_EINVAL;
	int ended = mws__client_ended(c);
	if (ended)
		return ended;
	if (c->set.no_offline_queue && atomic_load_explicit(&c->state_pub, memory_order_relaxed) !=
	                                   MWS_STATE_CONNECTED)
		return MWS_ESTATE;
	if (len > c->set.queue_max_bytes)
		return MWS_ETOOBIG;
	/* On the I/O thread (a callback) the message goes straight to the
	 * connection's queue: no ring, no wake. */
	int local = mws__ctx_on_io_thread(c->ctx);

	/* The bound is checked before anything is allocated: a refused send
	 * costs nothing. The copy is made under the lock, which only the
	 * producers of this client take. */
	pthread_mutex_lock(&c->send_lock);
	size_t msgs = atomic_load_explicit(&c->pending_msgs, memory_order_relaxed);
	uint64_t bytes = atomic_load_explicit(&c->pending_bytes, memory_order_relaxed);
	if (msgs + 1 > c->set.queue_max_messages || bytes + len > c->set.queue_max_bytes) {
		pthread_mutex_unlock(&c->send_lock);
		atomic_fetch_add_explicit(&c->queue_full, 1, memory_order_relaxed);
		return MWS_EQUEUEFULL;
	}
	if (!msgs) /* nothing in flight: no burst to keep blocks for */
		mws__msg_pool_shrink_spare(&c->pool, MWS__CLIENT_POOL_KEEP);
	mws__msg *m = mws__msg_pool_new(&c->pool, data, len, type);
	if (!m) {
		pthread_mutex_unlock(&c->send_lock);
		return MWS_ENOMEM;
	}
	atomic_fetch_add_explicit(&c->pending_msgs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->pending_bytes, len, memory_order_relaxed);
	/* Numbers follow the ring's order: the I/O thread counts them off. */
	uint64_t n = atomic_load_explicit(&c->v1.send_number, memory_order_relaxed) + 1;
	atomic_store_explicit(&c->v1.send_number, n, memory_order_relaxed);
	if (local)
		mws__client_send_local(c, m);
	else
		/* Cannot fail: the ring holds queue_max_messages and only
		 * pending messages occupy it. */
		mws__spsc_push(&c->ring, m);
	pthread_mutex_unlock(&c->send_lock);
	if (number)
		*number = n;
	if (local)
		mws__client_kick(c); /* outside the lock: producers do not wait on the socket */
	else
		mws__client_wake(c);
	return 0;
}

MWS_API int mws_client_clear_queue(mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->freeing))
		return MWS_ECLOSED;
	mws__client_cmd *cc = calloc(1, sizeof *cc);
	if (!cc)
		return MWS_ENOMEM;
	cc->cmd.run = mws__client_cmd_run;
	cc->client = c;
	cc->kind = MWS__CMD_CLEAR;
	pthread_mutex_lock(&c->send_lock);
	cc->upto = atomic_load(&c->v1.send_number);
	pthread_mutex_unlock(&c->send_lock);
	mws__ctx_post(c->ctx, &cc->cmd);
	return 0;
}

MWS_API int mws_client_release_queue(mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->freeing))
		return MWS_ECLOSED;
	pthread_mutex_lock(&c->send_lock);
	atomic_store(&c->release_upto, atomic_load(&c->v1.send_number));
	atomic_store(&c->release_pending, 1);
	pthread_mutex_unlock(&c->send_lock);
	mws__ctx_schedule(c->ctx, &c->ready);
	return 0;
}

MWS_API int mws_client_pause_rx(mws_client *c, int paused)
{
	if (!c)
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->freeing))
		return MWS_ECLOSED;
	atomic_store(&c->rx_paused, paused != 0);
	mws__ctx_schedule(c->ctx, &c->ready);
	return 0;
}

MWS_API int mws_client_credentials_ready(mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	if (atomic_load(&c->state_pub) == MWS_STATE_CLOSED || atomic_load(&c->freeing))
		return MWS_ECLOSED;
	atomic_store(&c->creds_ready, 1);
	mws__ctx_schedule(c->ctx, &c->ready);
	return 0;
}

MWS_API int mws_client_state(const mws_client *c)
{
	if (!c)
		return MWS_EINVAL;
	return atomic_load(&((struct mws_client *)c)->state_pub);
}

MWS_API int mws_client_stats_get(const mws_client *cc, mws_client_stats *out)
{
	if (!cc || !out || out->size < sizeof(size_t) || out->size > 1 << 16)
		return MWS_EINVAL;
	struct mws_client *c = (struct mws_client *)cc;
	mws_client_stats s;
	memset(&s, 0, sizeof s);
	s.size = out->size < sizeof s ? out->size : sizeof s;
	s.state = atomic_load(&c->state_pub);
	s.connection_id = atomic_load(&c->connection_id);
	s.attempt = atomic_load(&c->attempt_pub);
	s.attempts_total = atomic_load(&c->attempts_total);
	s.connects = atomic_load(&c->connects);
	s.reconnects = atomic_load(&c->reconnects);
	s.refused_events = atomic_load(&c->refused_events);
	s.heartbeats_sent = atomic_load(&c->heartbeats_sent);
	s.heartbeat_timeouts = atomic_load(&c->heartbeat_timeouts);
	s.queue_messages = (uint32_t)atomic_load(&c->pending_msgs);
	s.queue_bytes = atomic_load(&c->pending_bytes);
	s.queue_full = atomic_load(&c->queue_full);
	s.msgs_out = atomic_load(&c->msgs_out);
	s.bytes_out = atomic_load(&c->bytes_out);
	s.msgs_in = atomic_load(&c->msgs_in);
	s.bytes_in = atomic_load(&c->bytes_in);
	s.msgs_discarded = atomic_load(&c->msgs_discarded);
	s.managed = atomic_load(&c->v1.managed_pub);
	s.send_number = atomic_load(&c->v1.send_number);
	s.acked_number = atomic_load(&c->v1.acked_number);
	s.unacked = atomic_load(&c->v1.unacked);
	s.replayed = atomic_load(&c->v1.replayed);
	s.duplicates_dropped = atomic_load(&c->v1.duplicates);
	s.sessions_started = atomic_load(&c->v1.sessions_started);
	s.sessions_resumed = atomic_load(&c->v1.sessions_resumed);
	s.sessions_lost = atomic_load(&c->v1.sessions_lost);
	s.lost_resent = atomic_load(&c->v1.lost_resent);
	s.lost_discarded = atomic_load(&c->v1.lost_discarded);
	s.protocol_errors = atomic_load(&c->v1.protocol_errors);
	s.batches_out = atomic_load(&c->v1.batches_out);
	s.goaways = atomic_load(&c->v1.goaways);
	pthread_mutex_lock(&c->stats_lock);
	s.rtt_p50_us = (uint32_t)mws__hist_quantile(&c->rtt_us, 0.50);
	s.rtt_p90_us = (uint32_t)mws__hist_quantile(&c->rtt_us, 0.90);
	s.rtt_p99_us = (uint32_t)mws__hist_quantile(&c->rtt_us, 0.99);
	s.uptime_p50_ms = (uint32_t)mws__hist_quantile(&c->uptime_ms, 0.50);
	s.uptime_p90_ms = (uint32_t)mws__hist_quantile(&c->uptime_ms, 0.90);
	s.uptime_p99_ms = (uint32_t)mws__hist_quantile(&c->uptime_ms, 0.99);
	pthread_mutex_unlock(&c->stats_lock);
	memcpy(out, &s, s.size);
	return 0;
}

MWS_API int mws_client_server_connection_id(const mws_client *cc, char *buf, size_t cap)
{
	if (!cc || !buf || !cap)
		return MWS_EINVAL;
	struct mws_client *c = (struct mws_client *)cc;
	pthread_mutex_lock(&c->stats_lock);
	size_t n = strlen(c->server_conn_id);
	int rc = n < cap ? (int)n : MWS_ETOOBIG;
	if (rc >= 0)
		memcpy(buf, c->server_conn_id, n + 1);
	pthread_mutex_unlock(&c->stats_lock);
	return rc;
}

MWS_API void mws_client_free(mws_client *c)
{
	if (!c || atomic_exchange(&c->freeing, 1))
		return;
	mws__client_cmd *cc = c->free_cmd;
	c->free_cmd = NULL;
	cc->cmd.run = mws__client_cmd_run;
	cc->client = c;
	cc->kind = MWS__CMD_FREE;
	if (mws__ctx_on_io_thread(c->ctx)) {
		/* Inside a callback: the teardown runs after it returns. */
		mws__ctx_post(c->ctx, &cc->cmd);
		return;
	}
	mws__ctx_call(c->ctx, &cc->cmd);
	free(cc);
	mws__client_release(c);
}
