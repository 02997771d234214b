/* A client's life on the I/O thread: attempts, timeouts, the close policy
 * and the one function through which every state change goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/state_machine.h"
#include "io/client_io.h"

/* libwebsockets' own idle ping (5 min by default) must not interfere with
 * our heartbeats. A hang-up time of 0 turns it off (lws 4.1.6,
 * _lws_validity_confirmed_role); a long one (65535 s, before) kept a timer
 * per connection in lws's sorted timer list, which every connection
 * established and every pong re-inserted by walking the whole list. */
static const lws_retry_bo_t mws__no_idle_policy = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

int mws__client_transition(struct mws_client *c, int event, const char *reason,
                           int close_code, int retry_delay_ms)
{
	int from = c->state;
	int to = mws__sm_next(from, event);
	if (to == MWS__STATE_INVALID) {
		atomic_fetch_add(&c->refused_events, 1);
		mws__log(c->ctx, MWS_LOG_DEBUG, "client %s: refused %s in %s", c->url_text,
		         mws__event_name(event), mws__state_name(from));
		return -1;
	}
	/* What was read or written before the change is told before it. */
	mws__client_batch_flush(c);
	c->state = to;
	atomic_store(&c->state_pub, to);
	atomic_store(&c->attempt_pub, c->retry.attempt);
	if (to == MWS_STATE_CLOSED || to == MWS_STATE_FAILED)
		mws__client_room_wake(c); /* a sender waiting for room: it never comes */
	mws__log(c->ctx, MWS_LOG_INFO, "client %s: %s -> %s (%s, code %d)", c->url_text,
	         mws__state_name(from), mws__state_name(to), reason, close_code);
	if (c->cbs.on_state) {
		mws_state_change ch = {from, to, reason, close_code, retry_delay_ms, c->retry.attempt,
		                       to == MWS_STATE_CONNECTED ? c->v1.session_event : 0};
		c->cbs.on_state(c, &ch, c->user_data);
	}
	return 0;
}

/* The answer to an attempt that was abandoned is thrown away. */
static void mws__client_orphan_resolve(struct mws_client *c)
{
	if (c->resolving) {
		c->resolving->owner = NULL;
		c->resolving = NULL;
	}
}

void mws__client_detach_wsi(struct mws_client *c, int code, const char *reason)
{
	struct lws *wsi = c->wsi;
	atomic_store(&c->tx_waiting, 0); /* no WRITEABLE for us comes now */
	if (!wsi)
		return;
	c->wsi = NULL;
	lws_set_opaque_user_data(wsi, NULL);
	if (c->phase != MWS__PHASE_OPEN) {
		/* No WebSocket yet, so no close frame: just drop the socket. */
		lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	size_t n = reason ? strlen(reason) : 0;
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason,
	                 n > 123 ? 123 : n);
	lws_callback_on_writable(wsi);
	/* A dead network never lets the close frame out: do not wait long. */
	lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
}

static void mws__client_attempt_start(struct mws_client *c);

/* Starts attempts that wait, as far as slots are free (not from inside the
 * callback of the socket that freed one). */
static void mws__client_admit_pump(mws__timer *t)
{
	mws_ctx *ctx = MWS__CONTAINER_OF(t, mws_ctx, admit_timer);
	mws__admit_node *n;
	while ((n = mws__admission_next(&ctx->admit)))
		mws__client_attempt_start(MWS__CONTAINER_OF(n, struct mws_client, admit));
}

/* The attempt no longer needs its slot (or its place in line). */
static void mws__client_admit_release(struct mws_client *c)
{
	mws_ctx *ctx = c->ctx;
	int held = c->admit.state == MWS__ADMIT_IN;
	mws__admission_done(&ctx->admit, &c->admit);
	if (held && ctx->admit.waiting && !ctx->admit_timer.list)
		mws__timer_in(ctx, &ctx->admit_timer, 0, mws__client_admit_pump);
}

/* Leaves the current attempt or connection behind: timers, socket, buffers. */
static void mws__client_end_connection(struct mws_client *c, int code, const char *reason)
{
	mws__timer_cancel(&c->timeout_sul);
	mws__client_admit_release(c);
	mws__timer_cancel(&c->hb_sul);
	mws__client_orphan_resolve(c);
	if (atomic_exchange(&c->tx_waiting, 0)) {
		/* Sends made since counted on a WRITEABLE that will not come:
		 * taken here, as the wake they skipped would have. */
		atomic_thread_fence(memory_order_seq_cst);
		mws__client_take_ring(c);
	}
	mws__client_detach_wsi(c, code, reason);
	mws__client_rx_reset(c);
	c->ping_due = c->json_hb_due = 0;
	c->tx_off = 0; /* a message cut by the end goes again whole */
	c->tx_room = 0;
	mws__msg_pool_trim(&c->pool); /* nothing kept for a connection that is gone */
	c->phase = MWS__PHASE_IDLE;
	mws__client_v1_conn_reset(c);
	mws__client_queue_unhold(c);
	if (c->set.no_offline_queue)
		mws__client_discard_pending(c);
	if (c->state == MWS_STATE_CONNECTED) {
		uint64_t up = mws__now_ms() - c->opened_at_ms;
		pthread_mutex_lock(&c->stats_lock);
		mws__hist_add(&c->uptime_ms, up);
		pthread_mutex_unlock(&c->stats_lock);
		mws__retry_connection_ended(&c->retry, up);
	}
}

static void mws__client_attempt(struct mws_client *c);

static void mws__client_retry_due(mws__timer *sul)
{
	struct mws_client *c = MWS__CONTAINER_OF(sul, struct mws_client, retry_sul);
	if (mws__client_transition(c, MWS__EV_RETRY_DUE, "retrying", 0, 0) == 0)
		mws__client_attempt(c);
}

static void mws__client_schedule_retry(struct mws_client *c, uint64_t delay_ms, int code,
                                       const char *reason)
{
	if (delay_ms > INT32_MAX)
		delay_ms = INT32_MAX;
	/* The timer is armed before the state callback runs, which may close. */
	mws__timer_in(c->ctx, &c->retry_sul, delay_ms, mws__client_retry_due);
	if (mws__client_transition(c, MWS__EV_DROP_RETRY, reason, code, (int)delay_ms))
		mws__timer_cancel(&c->retry_sul);
}

void mws__client_dropped(struct mws_client *c, int code, const char *reason,
                         size_t reason_len, int http_status)
{
	if (c->state != MWS_STATE_CONNECTING && c->state != MWS_STATE_CONNECTED)
		return; /* an answer for an attempt already given up */
	char why[160];
	snprintf(why, sizeof why, "%.*s", (int)(reason_len < 150 ? reason_len : 150),
	         reason ? reason : "");
	mws__client_end_connection(c, code, why);

	if (http_status == 401 || http_status == 403) {
		c->last_http_status = http_status;
		if (c->auth_retry_used || c->retry.no_retry) {
			snprintf(why, sizeof why, "authentication refused (HTTP %d)", http_status);
			mws__client_transition(c, MWS__EV_DROP_FAIL, why, MWS__CODE_AUTH, 0);
			return;
		}
		/* Once: the credentials hook runs again and may refresh the token. */
		c->auth_retry_used = 1;
		snprintf(why, sizeof why, "HTTP %d, refreshing credentials", http_status);
		mws__client_schedule_retry(c, 0, MWS__CODE_AUTH, why);
		return;
	}
	if (http_status >= 300 && !*why)
		snprintf(why, sizeof why, "handshake refused (HTTP %d)", http_status);
	/* A client error does not go away by asking again (a bad path, a bad
	 * request): FAILED, as with a refused token. 408 and 429 are about
	 * timing and are retried with backoff, like 5xx. */
	if (http_status >= 400 && http_status < 500 && http_status != 408 &&
	    http_status != 429) {
		snprintf(why, sizeof why, "handshake refused (HTTP %d)", http_status);
		mws__client_transition(c, MWS__EV_DROP_FAIL, why, code, 0);
		return;
	}

	mws__close_decision d = mws__close_policy_decide(&c->policy, code, reason, reason_len);
	code = d.code; /* the real code, when 1002 carried it in the reason */
	if (!*why)
		snprintf(why, sizeof why, "closed by server");
	if (d.action == MWS_CLOSE_ACTION_CLOSE) {
		mws__client_transition(c, MWS__EV_DROP_CLOSE, why, code, 0);
		return;
	}
	if (d.action == MWS_CLOSE_ACTION_FAIL) {
		mws__client_transition(c, MWS__EV_DROP_FAIL, why, code, 0);
		return;
	}
	mws__retry_plan plan = mws__retry_plan_for(&c->retry, &d, mws__now_ms());
	if (plan.give_up)
		mws__client_transition(c, MWS__EV_DROP_FAIL, plan.why, code, 0);
	else
		mws__client_schedule_retry(c, plan.delay_ms, code, why);
}

static void mws__client_timed_out(mws__timer *sul)
{
	struct mws_client *c = MWS__CONTAINER_OF(sul, struct mws_client, timeout_sul);
	const char *why = c->phase == MWS__PHASE_QUEUED
		? "connect timeout (queued behind other attempts)"
		: c->phase == MWS__PHASE_HANDSHAKE || c->v1.managed
		? "handshake timeout" : "connect timeout";
	mws__client_dropped(c, MWS__CODE_ABNORMAL, why, strlen(why), 0);
}

void mws__client_handshake_started(struct mws_client *c)
{
	c->phase = MWS__PHASE_HANDSHAKE;
	mws__timer_in(c->ctx, &c->timeout_sul, c->set.handshake_timeout_ms,
	              mws__client_timed_out);
}

void mws__client_opened(struct mws_client *c)
{
	mws__timer_cancel(&c->timeout_sul);
	mws__client_admit_release(c);
	c->phase = MWS__PHASE_OPEN;
	c->opened_at_ms = mws__now_ms();
	c->last_rx_ms = 0;
	c->auth_retry_used = 0;
	c->last_http_status = 0;
	pthread_mutex_lock(&c->stats_lock);
	c->server_conn_id[0] = c->server_conn_id_json[0] = '\0';
	pthread_mutex_unlock(&c->stats_lock);
	uint64_t n = atomic_fetch_add(&c->connects, 1);
	if (n > 0)
		atomic_fetch_add(&c->reconnects, 1);
	atomic_fetch_add(&c->connection_id, 1);
	/* What the CONNECTED callback sends (a resubscription) goes before the
	 * messages that waited for this connection: set those aside meanwhile.
	 * In mws.v1 that is among the messages not yet numbered: what a resumed
	 * session already numbered is replayed first, in its order. */
	mws__client_take_ring(c);
	mws__msg_queue waited = c->txq;
	mws__msgq_init(&c->txq);
	static const char *const why[] = {"connected", "session started", "session resumed",
	                                  "session lost"};
	int ev = c->v1.session_event;
	c->in_opened = 1;
	int refused = mws__client_transition(c, MWS__EV_OPENED,
	                                     why[ev >= 0 && ev <= 3 ? ev : 0], 0, 0);
	c->in_opened = 0;
	mws__client_queue_opened(c, &waited);
	if (refused)
		return;
	if (c->state != MWS_STATE_CONNECTED)
		return; /* the state callback already moved on */
	mws__client_heartbeat_start(c);
	c->rx_applied = 0; /* a new wsi reads until told otherwise */
	mws__client_rx_flow_apply(c);
	if (c->txq.head)
		lws_callback_on_writable(c->wsi);
}

static int mws__client_build_path(struct mws_client *c, char *path, size_t cap)
{
	const char *query = c->creds && c->creds->query ? c->creds->query : c->url.query;
	int n = snprintf(path, cap, "%s%s%s", c->url.path, *query ? "?" : "", query);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void mws__client_connect_to(struct mws_client *c, const char *ip)
{
	mws_ctx *ctx = c->ctx;
	char path[4200], host[300];
	struct lws_client_connect_info i;
	memset(&i, 0, sizeof i);
	if (mws__client_build_path(c, path, sizeof path) ||
	    mws__url_host_header(&c->url, host, sizeof host)) {
		mws__client_dropped(c, MWS__CODE_ABNORMAL, "URL too long", 12, 0);
		return;
	}
	i.context = ctx->lws;
	i.vhost = mws__client_vhost_for(ctx, c->set.ca_file);
	i.address = ip;
	i.port = c->url.port;
	i.path = path;
	/* Host header "name:port" off the default port; libwebsockets 4.1.6
	 * cuts at the first ':' for TLS SNI and the certificate check
	 * (openssl-client.c, lws_ssl_client_bio_create), so those keep the name. */
	i.host = host;
	i.origin = c->set.origin;
	char offer[300];
	i.protocol = mws__client_v1_offer(c, offer, sizeof offer);
	i.local_protocol_name = "mws-client";
	i.iface = c->set.local_address;
	if (c->url.tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (c->set.insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_EXPIRED |
			                    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			                    LCCSCF_ALLOW_INSECURE;
	}
	i.retry_and_idle_policy = &mws__no_idle_policy;
	i.opaque_user_data = c;

	uint64_t token = c->attempt_token;
	c->phase = MWS__PHASE_CONNECTING;
	ctx->live_wsi++;
	struct lws *wsi = i.vhost ? lws_client_connect_via_info(&i) : NULL;
	if (c->attempt_token != token || c->phase != MWS__PHASE_CONNECTING)
		return; /* its terminal callback already ran inside the call */
	if (!wsi) {
		ctx->live_wsi--;
		mws__client_dropped(c, MWS__CODE_ABNORMAL, "cannot start connection", 23, 0);
		return;
	}
	c->wsi = wsi;
}

static void mws__client_resolved(mws_ctx *ctx, mws__resolve_req *req)
{
	(void)ctx;
	struct mws_client *c = req->owner;
	if (c && c->resolving == req) {
		c->resolving = NULL;
		if (req->ok) {
			mws__client_connect_to(c, req->ip); /* lws copies it */
		} else {
			mws__client_dropped(c, MWS__CODE_ABNORMAL, "cannot resolve host", 19, 0);
		}
	}
	free(req);
}

static int mws__client_ask_credentials(struct mws_client *c)
{
	if (c->creds) {
		free(c->creds->headers);
		free(c->creds->query);
		free(c->creds->url);
		free(c->creds->url_text);
		free(c->creds);
		c->creds = NULL;
	}
	if (!c->cbs.on_credentials)
		return 0;
	c->creds = calloc(1, sizeof *c->creds);
	if (!c->creds)
		return -1;
	c->creds->client = c;
	c->creds->attempt = c->retry.attempt + 1;
	c->creds->last_http_status = c->last_http_status;
	int rc;
	rc = c->cbs.on_credentials(c, c->creds, c->user_data);
	if (rc == MWS_CREDENTIALS_PENDING && !c->creds->failed)
		return 1;
	if (rc || c->creds->failed)
		return -1;
	if (c->creds->url) { /* this attempt and the next go there */
		c->url = *c->creds->url;
		free(c->url_text);
		c->url_text = c->creds->url_text;
		c->creds->url_text = NULL;
		free(c->creds->url);
		c->creds->url = NULL;
	}
	return 0;
}

/* Asks the credentials hook: 0 when the attempt goes on, else it ended
 * (failed) or waits for mws_client_credentials_ready(). */
static int mws__client_credentials_step(struct mws_client *c)
{
	int rc = mws__client_ask_credentials(c);
	if (rc > 0) {
		/* Bounded like a connect: no answer in time is a failed attempt. */
		if (c->phase != MWS__PHASE_CREDENTIALS)
			mws__timer_in(c->ctx, &c->timeout_sul, c->set.connect_timeout_ms,
			              mws__client_timed_out);
		c->phase = MWS__PHASE_CREDENTIALS;
		return 1;
	}
	if (rc < 0) {
		mws__timer_cancel(&c->timeout_sul);
		c->phase = MWS__PHASE_IDLE;
		mws__client_transition(c, MWS__EV_DROP_FAIL, "credentials refused",
		                       MWS__CODE_AUTH, 0);
		return 1;
	}
	if (c->state != MWS_STATE_CONNECTING)
		return 1; /* the hook closed or disconnected the client */
	c->phase = MWS__PHASE_IDLE;
	return 0;
}

static void mws__client_attempt_go(struct mws_client *c);

/* Entered in CONNECTING: one attempt, from credentials to the socket. */
static void mws__client_attempt(struct mws_client *c)
{
	c->attempt_token++;
	atomic_fetch_add(&c->attempts_total, 1);
	c->peer_close_code = 0;
	c->peer_close_reason_len = 0;
	c->own_close_code = 0;
	if (mws__client_credentials_step(c))
		return;
	mws__client_attempt_go(c);
}

void mws__client_credentials_resume(struct mws_client *c)
{
	if (c->state != MWS_STATE_CONNECTING || c->phase != MWS__PHASE_CREDENTIALS)
		return; /* no attempt waits (a late answer) */
	if (mws__client_credentials_step(c))
		return;
	mws__client_attempt_go(c);
}

static void mws__client_attempt_go(struct mws_client *c)
{
	/* The connect timeout also bounds the wait for a slot. */
	mws__timer_in(c->ctx, &c->timeout_sul, c->set.connect_timeout_ms,
	              mws__client_timed_out);
	if (!mws__admission_request(&c->ctx->admit, &c->admit, mws__now_us())) {
		c->phase = MWS__PHASE_QUEUED;
		return;
	}
	mws__client_attempt_start(c);
}

/* With a slot: resolve (off the thread) or connect. */
static void mws__client_attempt_start(struct mws_client *c)
{
	c->phase = MWS__PHASE_IDLE;
	if (mws__url_host_is_literal(&c->url)) {
		mws__client_connect_to(c, c->url.host);
		return;
	}
	/* getaddrinfo() would stall every connection on this thread. */
	mws__resolve_req *req = calloc(1, sizeof *req);
	if (!req) {
		mws__client_dropped(c, MWS__CODE_ABNORMAL, "out of memory", 13, 0);
		return;
	}
	snprintf(req->host, sizeof req->host, "%s", c->url.host);
	req->owner = c;
	req->done = mws__client_resolved;
	c->resolving = req;
	c->phase = MWS__PHASE_RESOLVING;
	mws__ctx_resolve(c->ctx, req);
}

void mws__client_do_connect(struct mws_client *c)
{
	int was_failed = c->state == MWS_STATE_FAILED;
	if (mws__client_transition(c, MWS__EV_CONNECT, "connect requested", 0, 0))
		return;
	if (was_failed)
		mws__retry_reset(&c->retry);
	c->retry.stable_end = 0; /* a disconnect() in between is no failure */
	c->auth_retry_used = 0;
	if (c->state == MWS_STATE_CONNECTING)
		mws__client_attempt(c);
}

void mws__client_do_reconnect_now(struct mws_client *c)
{
	if (c->state != MWS_STATE_RECONNECTING) {
		atomic_fetch_add(&c->refused_events, 1);
		return;
	}
	mws__timer_cancel(&c->retry_sul);
	if (mws__client_transition(c, MWS__EV_RECONNECT_NOW, "reconnect requested", 0, 0) == 0 &&
	    c->state == MWS_STATE_CONNECTING)
		mws__client_attempt(c);
}

void mws__client_do_disconnect(struct mws_client *c, int code, const char *reason,
                               int close_for_good)
{
	int event = close_for_good ? MWS__EV_CLOSE : MWS__EV_DISCONNECT;
	if (mws__sm_next(c->state, event) == MWS__STATE_INVALID) {
		mws__client_transition(c, event, reason, code, 0); /* counts the refusal */
		return;
	}
	mws__timer_cancel(&c->retry_sul);
	mws__client_end_connection(c, code, reason);
	if (close_for_good)
		mws__client_discard_pending(c);
	if (close_for_good || code == 0 || code == 1000)
		mws__client_v1_end_session(c, close_for_good);
	mws__client_transition(c, event, reason && *reason ? reason : "closed by application",
	                       code, 0);
}

void mws__client_fail(struct mws_client *c, int code, const char *why)
{
	mws__timer_cancel(&c->retry_sul);
	mws__client_end_connection(c, code, why);
	mws__client_transition(c, MWS__EV_DROP_FAIL, why, code, 0);
}

/* Called when the context stops: everyone closes with "going away". */
static void mws__client_shutdown(mws_ctx *ctx, mws__member *m)
{
	(void)ctx;
	struct mws_client *c = MWS__CONTAINER_OF(m, struct mws_client, member);
	if (c->state != MWS_STATE_CLOSED)
		mws__client_do_disconnect(c, 1001, "context stopping", 1);
}

void mws__client_attach(mws_ctx *ctx, struct mws_client *c)
{
	c->member.shutdown = mws__client_shutdown;
	mws__ctx_add_member(ctx, &c->member);
}

void mws__client_do_free(struct mws_client *c)
{
	if (c->state != MWS_STATE_CLOSED && c->member.next)
		mws__client_do_disconnect(c, 1000, "client freed", 1);
	mws__ctx_remove_member(c->ctx, &c->member);
	mws__timer_cancel(&c->retry_sul);
	mws__timer_cancel(&c->timeout_sul);
	mws__timer_cancel(&c->hb_sul);
	mws__timer_cancel(&c->v1.ack_sul);
	mws__client_admit_release(c);
	mws__client_orphan_resolve(c);
	mws__client_detach_wsi(c, 1000, "client freed");
	mws__client_discard_pending(c);
	mws__client_rx_reset(c);
	free(c->tx_frag);
	c->tx_frag = NULL;
	mws__client_batch_free(c);
	if (c->creds) {
		free(c->creds->headers);
		free(c->creds->query);
		free(c->creds->url);
		free(c->creds->url_text);
		free(c->creds);
		c->creds = NULL;
	}
}
