/* The public server: argument checks, settings, and the hand-off of every
 * request to the I/O thread. Sends go through a mutex-protected outbox
 * (one per server, so the order of calls is the order on every connection)
 * and one wake per burst; a send from a callback (on the I/O thread) goes
 * straight to the connection's queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "io/server_io.h"
#include "store/redis_store.h"

static const double mws__rtt_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1,    2.5, 5};
static const double mws__duration_bounds[] = {0.1, 1, 5, 15, 60, 300, 900, 3600, 14400,
                                              86400};

MWS_API int mws_server_config_init(mws_server_config *cfg)
{
	if (!cfg)
		return MWS_EINVAL;
	memset(cfg, 0, sizeof *cfg);
	cfg->size = sizeof *cfg;
	return 0;
}

static uint64_t mws__or(long v, uint64_t dflt) { return v > 0 ? (uint64_t)v : dflt; }
static void mws__srv_release(struct mws_server *srv);

static void mws__srv_settings_free(mws__srv_settings *s)
{
	free(s->iface);
	free(s->cert_file);
	free(s->key_file);
	for (size_t i = 0; i < s->origin_count; i++)
		free(s->origins[i]);
	free(s->origins);
	for (size_t i = 0; i < s->keep_header_count; i++)
		free(s->keep_headers[i]);
	free(s->keep_headers);
	free(s->store_url);
}

static char *mws__dup(const char *s, int *oom)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

/* Copies n strings into *out (*count of them copied, so that freeing works
 * after a failure). MWS_EINVAL for a NULL string. */
static int mws__dup_list(const char *const *in, size_t n, char ***out, size_t *count,
                         int *oom)
{
	if (!in)
		return 0;
	*out = calloc(n ? n : 1, sizeof **out);
	if (!*out) {
		*oom = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!in[i])
			return MWS_EINVAL;
		(*out)[i] = mws__dup(in[i], oom);
		*count = i + 1;
	}
	return 0;
}

/* Every default in one place; the header states the same numbers. */
static int mws__srv_settings_resolve(mws__srv_settings *s, const mws_server_config *c)
{
	if (c->port < 0 || c->port > 65535 || c->heartbeat_timeout_ms < 0 ||
	    c->check_interval_ms < 0 || c->max_connections < 0 || c->rate_burst < 0 ||
	    c->handshake_timeout_ms < 0 || (!c->cert_file != !c->key_file) ||
	    (c->origin_count && !c->origins) || (c->keep_header_count && !c->keep_headers) ||
	    c->rate_per_sec != c->rate_per_sec)
		return MWS_EINVAL;
	if ((c->protocol_mode != MWS_PROTOCOL_OFFER && c->protocol_mode != MWS_PROTOCOL_PLAIN) ||
	    c->session_ttl_ms < 0 || c->max_sessions < 0 || c->session_max_messages < 0 ||
	    (c->rx_buffer_bytes && (c->rx_buffer_bytes < 128 || c->rx_buffer_bytes > 1u << 20)))
		return MWS_EINVAL;
	int oom = 0;
	memset(s, 0, sizeof *s);
	s->iface = mws__dup(c->iface, &oom);
	s->cert_file = mws__dup(c->cert_file, &oom);
	s->key_file = mws__dup(c->key_file, &oom);
	if (mws__dup_list(c->origins, c->origin_count, &s->origins, &s->origin_count, &oom) ||
	    mws__dup_list(c->keep_headers, c->keep_header_count, &s->keep_headers,
	                  &s->keep_header_count, &oom)) {
		mws__srv_settings_free(s);
		return MWS_EINVAL;
	}
	s->port = c->port;
	s->heartbeat_timeout_ms = mws__or(c->heartbeat_timeout_ms, 60000);
	s->check_interval_ms = mws__or(c->check_interval_ms, 5000);
	s->ping_interval_ms = c->ping_interval_ms < 0 ? 0 : mws__or(c->ping_interval_ms, 25000);
	s->json_protocol = c->json_protocol != 0;
	s->json_allow_invalid = c->json_allow_invalid != 0;
	s->max_handshakes_per_address =
		c->max_handshakes_per_address < 0 ? 0 : (int)mws__or(c->max_handshakes_per_address, 64);
	s->max_message_bytes = c->max_message_bytes ? c->max_message_bytes : 1u << 20;
	s->max_connections = (size_t)mws__or(c->max_connections, 10000);
	s->rate_per_sec = c->rate_per_sec < 0 ? 0 : c->rate_per_sec > 0 ? c->rate_per_sec : 10;
	s->rate_burst = (double)mws__or(c->rate_burst, 20);
	s->handshake_timeout_ms = mws__or(c->handshake_timeout_ms, 10000);
	s->send_queue_max_bytes = c->send_queue_max_bytes ? c->send_queue_max_bytes : 8u << 20;
	s->random_seed = c->random_seed;
	s->v1_enabled = c->protocol_mode != MWS_PROTOCOL_PLAIN;
	s->rx_buffer_bytes = c->rx_buffer_bytes ? c->rx_buffer_bytes : 512;
	s->release_port_on_shutdown = c->release_port_on_shutdown != 0;
	s->store.ttl_ms = mws__or(c->session_ttl_ms, 120000);
	s->store.max_sessions = (size_t)mws__or(c->max_sessions, 10000);
	s->store.max_bytes_per_session = c->session_max_bytes ? c->session_max_bytes : 1u << 20;
	s->store.max_messages_per_session = (size_t)mws__or(c->session_max_messages, 1024);
	if (c->session_store_url && !(s->store_url = strdup(c->session_store_url)))
		oom = 1;
	if (oom) {
		mws__srv_settings_free(s);
		return MWS_ENOMEM;
	}
	return 0;
}

MWS_API int mws_server_new(mws_server **out, mws_ctx *ctx, const mws_server_config *cfg_in)
{
	if (!out)
		return MWS_EINVAL;
	*out = NULL;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	if (cfg_in) {
		if (cfg_in->size < offsetof(mws_server_config, iface) || cfg_in->size > 1 << 16)
			return MWS_EINVAL;
		memcpy(&cfg, cfg_in, cfg_in->size < sizeof cfg ? cfg_in->size : sizeof cfg);
	}
	if (!ctx)
		ctx = mws_ctx_default();
	if (!ctx)
		return MWS_EIO;
	struct mws_server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return MWS_ENOMEM;
	int rc = mws__srv_settings_resolve(&srv->set, &cfg);
	if (rc) {
		free(srv);
		return rc;
	}
	if (mws__idm_init(&srv->map, 64)) {
		mws__srv_settings_free(&srv->set);
		free(srv);
		return MWS_ENOMEM;
	}
	if (mws__ac_init(&srv->hs_count, 256)) {
		mws__idm_destroy(&srv->map);
		mws__srv_settings_free(&srv->set);
		free(srv);
		return MWS_ENOMEM;
	}
	if (srv->set.rate_per_sec > 0 &&
	    (rc = mws__ipl_init(&srv->limiter, srv->set.rate_per_sec, srv->set.rate_burst, 4096))) {
		mws__ac_destroy(&srv->hs_count);
		mws__idm_destroy(&srv->map);
		mws__srv_settings_free(&srv->set);
		free(srv);
		return rc;
	}
	srv->ctx = ctx;
	srv->lsn_fd = -1;
	srv->admitting_fd = -1;
	srv->cbs.size = sizeof srv->cbs;
	srv->conns.next = srv->conns.prev = &srv->conns;
	srv->ghosts.next = srv->ghosts.prev = &srv->ghosts;
	if (mws__store_mem_new(&srv->store, &srv->set.store)) {
		if (srv->set.rate_per_sec > 0)
			mws__ipl_destroy(&srv->limiter);
		mws__ac_destroy(&srv->hs_count);
		mws__idm_destroy(&srv->map);
		mws__srv_settings_free(&srv->set);
		free(srv);
		return MWS_ENOMEM;
	}
	if (srv->set.store_url) {
		char err[160];
		rc = mws__redis_store_new(&srv->shared, srv->set.store_url, err, sizeof err);
		if (rc) {
			mws__log(ctx, MWS_LOG_ERROR, "server: session store: %s", err);
			mws__store_free(&srv->store);
			if (srv->set.rate_per_sec > 0)
				mws__ipl_destroy(&srv->limiter);
			mws__ac_destroy(&srv->hs_count);
			mws__idm_destroy(&srv->map);
			mws__srv_settings_free(&srv->set);
			free(srv);
			return rc;
		}
		srv->shared_configured = 1;
		srv->next_id = srv->shared.id_base; /* ids unique across the nodes */
	}
	srv->ready.drain = mws__srv_drain;
	srv->release = mws__srv_release;
	uint64_t seed = srv->set.random_seed;
	if (!seed && getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = mws__now_us() ^ (uint64_t)(uintptr_t)srv;
	mws__rng_seed(&srv->rng, seed);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_mutex_init(&srv->stats_lock, NULL);
	mws__hist_init(&srv->rtt_us);
	mws__hist_init(&srv->duration_ms);
	mws__ph_init(&srv->prom_rtt, mws__rtt_bounds, sizeof mws__rtt_bounds / sizeof(double));
	mws__ph_init(&srv->prom_duration, mws__duration_bounds,
	             sizeof mws__duration_bounds / sizeof(double));
	*out = srv;
	return 0;
}

MWS_API int mws_server_set_callbacks(mws_server *srv, const mws_server_callbacks *cbs,
                                     void *user_data, void (*free_user_data)(void *))
{
	if (!srv)
		return MWS_EINVAL;
	if (cbs && (cbs->size < offsetof(mws_server_callbacks, on_auth) || cbs->size > 1 << 16))
		return MWS_EINVAL;
	if (atomic_load(&srv->started))
		return MWS_ESTATE;
	if (srv->free_user_data && srv->free_user_data != free_user_data)
		srv->free_user_data(srv->user_data);
	memset(&srv->cbs, 0, sizeof srv->cbs);
	if (cbs)
		memcpy(&srv->cbs, cbs, cbs->size < sizeof srv->cbs ? cbs->size : sizeof srv->cbs);
	srv->cbs.size = sizeof srv->cbs;
	srv->user_data = user_data;
	srv->free_user_data = free_user_data;
	return 0;
}

/* ---- commands run on the I/O thread ---- */

typedef struct mws__srv_cmd {
	mws__cmd cmd;
	struct mws_server *srv;
	int code;
	uint64_t window_ms, deadline_ms;
	int rc;
} mws__srv_cmd;

static void mws__srv_shutdown_hook(mws_ctx *ctx, mws__member *m)
{
	(void)ctx;
	struct mws_server *srv = MWS__CONTAINER_OF(m, struct mws_server, member);
	mws__srv_shutdown_begin(srv, 1001, 0, 2000, NULL);
}

static void mws__srv_start_run(mws_ctx *ctx, mws__cmd *cmd)
{
	mws__srv_cmd *sc = MWS__CONTAINER_OF(cmd, mws__srv_cmd, cmd);
	struct mws_server *srv = sc->srv;
	if (ctx->stopping) {
		sc->rc = MWS_ESTATE;
	} else {
		sc->rc = mws__server_listen(srv);
		if (sc->rc == 0 && (sc->rc = mws__srv_shared_start(srv)))
			mws__server_unlisten(srv);
		if (sc->rc == 0) {
			srv->member.shutdown = mws__srv_shutdown_hook;
			mws__ctx_add_member(ctx, &srv->member);
			mws__srv_timers_start(srv);
		}
	}
	mws__ctx_complete(ctx, cmd);
}

MWS_API int mws_server_start(mws_server *srv)
{
	if (!srv)
		return MWS_EINVAL;
	if (mws__ctx_on_io_thread(srv->ctx))
		return MWS_EDEADLK;
	if (atomic_exchange(&srv->started, 1))
		return MWS_ESTATE;
	mws__srv_cmd sc = {.srv = srv};
	sc.cmd.run = mws__srv_start_run;
	mws__ctx_call(srv->ctx, &sc.cmd);
	return sc.rc;
}

MWS_API int mws_server_port(const mws_server *srv)
{
	return srv ? atomic_load(&((struct mws_server *)srv)->port) : 0;
}

static int mws__srv_usable(const struct mws_server *srv)
{
	return atomic_load(&((struct mws_server *)srv)->started) &&
	       atomic_load(&((struct mws_server *)srv)->port);
}

/* An operation carrying a copy of `data`, or NULL when out of memory. */
static mws__srv_op *mws__srv_op_with_payload(int kind, const void *data, size_t len,
                                             int type)
{
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->p = mws__srv_payload_new(data, len, type);
	if (!op->p) {
		free(op);
		return NULL;
	}
	op->kind = kind;
	return op;
}

MWS_API int mws_server_send(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                            int type)
{
	if (!srv || (len && !data) || (type != MWS_MSG_TEXT && type != MWS_MSG_BINARY))
		return MWS_EINVAL;
	if (!mws__srv_usable(srv))
		return MWS_ECLOSED;
	int local = mws__ctx_on_io_thread(srv->ctx), direct = 0;
	mws__srv_op *op = NULL;
	pthread_mutex_lock(&srv->lock);
	mws__srv_conn *c = mws__idm_get(&srv->map, id);
	int rc = 0;
	if (!c && srv->shared_configured && !mws__srv_shared_behind_locked(srv, id)) {
		/* Held by another node, or by none now (its inbox waits). */
		pthread_mutex_unlock(&srv->lock);
		return mws__srv_shared_send(srv, id, data, len, type);
	}
	if (!c && srv->shared_configured) { /* it left: after what waits for it here */
		if (!(op = mws__srv_op_new_send(data, len, type))) {
			rc = MWS_ENOMEM;
		} else {
			op->id = id;
			mws__srv_post_locked(srv, op);
			mws__srv_shared_left_locked(srv, id);
		}
	} else if (!c)
		rc = MWS_ECLOSED;
	else if (c->pending_bytes + len > (c->v1 && c->v1->queue_max_bytes
	                                       ? c->v1->queue_max_bytes
	                                       : srv->set.send_queue_max_bytes) ||
	         (c->v1 && c->v1->queue_max_msgs && c->v1->pending_msgs + 1 > c->v1->queue_max_msgs)) {
		rc = MWS_EQUEUEFULL; /* refused before anything is allocated */
		atomic_fetch_add(&srv->send_queue_full, 1);
	} else if (!(op = mws__srv_op_new_send(data, len, type))) {
		rc = MWS_ENOMEM;
	} else {
		op->counted = 1;
		op->id = id;
		c->pending_bytes += len;
		if (c->v1 && c->v1->queue_max_msgs)
			c->v1->pending_msgs++;
		/* From a callback, a plain connection's send goes straight to
		 * its queue, unless earlier requests wait in the outbox (their
		 * order is the order of the calls). */
		direct = local && !c->managed && c->wsi && !c->close_state && !srv->out_head;
		if (direct)
			mws__srv_enqueue(c, op);
		else
			mws__srv_post_locked(srv, op);
	}
	pthread_mutex_unlock(&srv->lock);
	if (rc)
		return rc;
	if (direct)
		mws__srv_kick(srv, c); /* I/O thread: only it frees connections */
	else
		mws__ctx_schedule(srv->ctx, &srv->ready);
	return 0;
}

/* Posts a request for op->id, or MWS_ECLOSED (and frees it) when `map`
 * (connections, or handshakes waiting for their auth answer) has no such
 * id. */
static int mws__srv_post_if_known(struct mws_server *srv, mws__id_map *map, mws__srv_op *op)
{
	pthread_mutex_lock(&srv->lock);
	int rc = map->slots && mws__idm_get(map, op->id) ? 0 : MWS_ECLOSED;
	if (!rc)
		mws__srv_post_locked(srv, op);
	pthread_mutex_unlock(&srv->lock);
	if (rc) {
		free(op);
		return rc;
	}
	mws__ctx_schedule(srv->ctx, &srv->ready);
	return 0;
}

MWS_API int mws_server_close(mws_server *srv, mws_conn_id id, int code, const char *reason)
{
	if (!srv || (code && (code < 1000 || code > 4999 || code == 1004 || code == 1005 ||
	                      code == 1006 || code == 1015)))
		return MWS_EINVAL;
	if (reason && strlen(reason) > 123)
		return MWS_EINVAL;
	if (!mws__srv_usable(srv))
		return MWS_ECLOSED;
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return MWS_ENOMEM;
	op->kind = MWS__SOP_CLOSE;
	op->id = id;
	op->code = code ? code : 1000;
	if (reason)
		snprintf(op->reason, sizeof op->reason, "%s", reason);
	return mws__srv_post_if_known(srv, &srv->map, op);
}

MWS_API int mws_server_pause_rx(mws_server *srv, mws_conn_id id, int paused)
{
	if (!srv)
		return MWS_EINVAL;
	if (!mws__srv_usable(srv))
		return MWS_ECLOSED;
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return MWS_ENOMEM;
	op->kind = MWS__SOP_PAUSE_RX;
	op->id = id;
	op->code = paused != 0;
	return mws__srv_post_if_known(srv, &srv->map, op);
}

MWS_API int mws_server_auth_answer(mws_server *srv, uint64_t auth_id, int status)
{
	if (!srv || !auth_id || status == MWS_AUTH_PENDING)
		return MWS_EINVAL;
	if (!mws__srv_usable(srv))
		return MWS_ECLOSED;
	mws__srv_op *op = calloc(1, sizeof *op);
	if (!op)
		return MWS_ENOMEM;
	op->kind = MWS__SOP_AUTH_ANSWER;
	op->id = auth_id;
	op->code = status;
	return mws__srv_post_if_known(srv, &srv->auth_map, op);
}

MWS_API int mws_server_broadcast(mws_server *srv, const void *data, size_t len, int type)
{
	if (!srv || (len && !data) || (type != MWS_MSG_TEXT && type != MWS_MSG_BINARY))
		return MWS_EINVAL;
	if (!mws__srv_usable(srv))
		return MWS_ECLOSED;
	mws__srv_op *op = mws__srv_op_with_payload(MWS__SOP_BROADCAST, data, len, type);
	if (!op)
		return MWS_ENOMEM;
	pthread_mutex_lock(&srv->lock);
	mws__srv_post_locked(srv, op);
	pthread_mutex_unlock(&srv->lock);
	mws__ctx_schedule(srv->ctx, &srv->ready);
	if (srv->shared_configured) /* the other nodes' clients; ours have it */
		return srv->shared.ops->broadcast(srv->shared.self, data, len, type);
	return 0;
}

static void mws__srv_shutdown_run(mws_ctx *ctx, mws__cmd *cmd)
{
	(void)ctx;
	mws__srv_cmd *sc = MWS__CONTAINER_OF(cmd, mws__srv_cmd, cmd);
	struct mws_server *srv = sc->srv;
	if (!srv->vh || srv->free_cmd) {
		sc->rc = MWS_ESTATE;
		if (cmd->waited)
			mws__ctx_complete(ctx, cmd);
		else
			free(sc);
		return;
	}
	/* The waiter learns the outcome when it is woken (drain_dropped). A
	 * shutdown with nobody connected completes inside begin(), and the
	 * waiter's command is gone after that: read `waited` first. */
	int waited = cmd->waited;
	mws__srv_shutdown_begin(srv, sc->code, sc->window_ms, sc->deadline_ms,
	                        waited ? cmd : NULL);
	if (!waited)
		free(sc);
}

MWS_API int mws_server_shutdown(mws_server *srv, int code, int spread_window_ms,
                                int deadline_ms)
{
	if (!srv || spread_window_ms < 0 || deadline_ms < 0 ||
	    (code && (code < 1000 || code > 4999)))
		return MWS_EINVAL;
	if (!atomic_load(&srv->started))
		return MWS_ESTATE;
	int on_io = mws__ctx_on_io_thread(srv->ctx);
	mws__srv_cmd local = {0}, *sc = on_io ? calloc(1, sizeof *sc) : &local;
	if (!sc)
		return MWS_ENOMEM;
	sc->srv = srv;
	sc->code = code ? code : 1012;
	sc->window_ms = (uint64_t)spread_window_ms;
	sc->deadline_ms = deadline_ms ? (uint64_t)deadline_ms : 5000;
	sc->cmd.run = mws__srv_shutdown_run;
	if (on_io) {
		sc->cmd.waited = 0;
		mws__srv_shutdown_run(srv->ctx, &sc->cmd);
		return 0;
	}
	mws__ctx_call(srv->ctx, &sc->cmd);
	if (sc->rc)
		return sc->rc;
	/* Read after the I/O thread completed us: its writes happened before. */
	return srv->drain_dropped ? MWS_ETIMEDOUT : 0;
}

static void mws__srv_release(struct mws_server *srv)
{
	if (srv->free_user_data)
		srv->free_user_data(srv->user_data);
	while (srv->out_head) {
		mws__srv_op *op = srv->out_head;
		srv->out_head = op->next;
		mws__srv_op_free(op);
	}
	free(srv->free_cmd);
	free(srv->tx_scratch);
	mws__store_free(&srv->store);
	mws__idm_destroy(&srv->map);
	if (srv->auth_map.slots)
		mws__idm_destroy(&srv->auth_map);
	mws__ac_destroy(&srv->hs_count);
	if (srv->set.rate_per_sec > 0)
		mws__ipl_destroy(&srv->limiter);
	mws__srv_settings_free(&srv->set);
	pthread_mutex_destroy(&srv->lock);
	pthread_mutex_destroy(&srv->stats_lock);
	free(srv);
}

static void mws__srv_free_run(mws_ctx *ctx, mws__cmd *cmd)
{
	(void)ctx;
	mws__srv_cmd *sc = MWS__CONTAINER_OF(cmd, mws__srv_cmd, cmd);
	mws__srv_free_begin(sc->srv, cmd);
}

MWS_API void mws_server_free(mws_server *srv)
{
	if (!srv)
		return;
	mws__srv_cmd *sc = calloc(1, sizeof *sc);
	if (!sc)
		abort(); /* cannot free safely without it */
	sc->srv = srv;
	sc->cmd.run = mws__srv_free_run;
	if (mws__ctx_on_io_thread(srv->ctx)) {
		/* From a callback: finishes after it returns, then releases. */
		if (srv->free_cmd) {
			free(sc);
			return;
		}
		sc->cmd.waited = 0;
		mws__srv_free_begin(srv, &sc->cmd);
		return;
	}
	mws__ctx_call(srv->ctx, &sc->cmd);
	mws__srv_release(srv); /* frees sc through free_cmd */
}
