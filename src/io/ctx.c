/* The context: a libwebsockets context serviced by one I/O thread, and the
 * door (commands, drain requests, one wake) from application threads. */
#include "io/ctx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/random.h>
#include <sys/resource.h>

#include "io/client_io.h"
#include "io/loop.h"

/* A graceful stop waits this long for close frames to go out. */
#define MWS__STOP_GRACE_US (2 * 1000 * 1000)

static _Thread_local const mws_ctx *mws__current_io_ctx;

uint64_t mws__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mws__now_ms(void) { return mws__now_us() / 1000u; }

uint64_t mws__now_ms_coarse(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mws__log(mws_ctx *ctx, int level, const char *fmt, ...)
{
	if (!ctx || !ctx->log_cb || level > ctx->log_level)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ctx->log_cb(level, line, ctx->log_user_data);
}

int mws__ctx_on_io_thread(const mws_ctx *ctx) { return mws__current_io_ctx == ctx; }

/* Under the door lock: the I/O thread closes the door (door_closed) before
 * it destroys the libwebsockets context, so no wake can still be inside
 * lws_cancel_service() then, not even the one of the stop command that
 * the I/O thread may already have run. */
static void mws__ctx_wake_locked(mws_ctx *ctx)
{
	if (!ctx->door_closed && !atomic_exchange(&ctx->wake_pending, 1)) {
		atomic_fetch_add_explicit(&ctx->wakes, 1, memory_order_relaxed);
		lws_cancel_service(ctx->lws);
	}
}

void mws__ctx_post(mws_ctx *ctx, mws__cmd *cmd)
{
	cmd->next = NULL;
	pthread_mutex_lock(&ctx->door);
	if (ctx->cmd_tail)
		ctx->cmd_tail->next = cmd;
	else
		ctx->cmd_head = cmd;
	ctx->cmd_tail = cmd;
	mws__ctx_wake_locked(ctx);
	pthread_mutex_unlock(&ctx->door);
}

void mws__ctx_call(mws_ctx *ctx, mws__cmd *cmd)
{
	cmd->waited = 1;
	cmd->done = 0;
	if (mws__ctx_on_io_thread(ctx)) {
		cmd->run(ctx, cmd);
		return;
	}
	mws__ctx_post(ctx, cmd);
	pthread_mutex_lock(&ctx->door);
	while (!cmd->done)
		pthread_cond_wait(&ctx->door_cond, &ctx->door);
	pthread_mutex_unlock(&ctx->door);
}

void mws__ctx_complete(mws_ctx *ctx, mws__cmd *cmd)
{
	pthread_mutex_lock(&ctx->door);
	cmd->done = 1;
	pthread_cond_broadcast(&ctx->door_cond);
	pthread_mutex_unlock(&ctx->door);
}

void mws__ctx_schedule(mws_ctx *ctx, mws__ready *r)
{
	if (atomic_exchange(&r->scheduled, 1))
		return;
	pthread_mutex_lock(&ctx->door);
	r->next = ctx->ready_head;
	ctx->ready_head = r;
	mws__ctx_wake_locked(ctx);
	pthread_mutex_unlock(&ctx->door);
}

void mws__ctx_unschedule(mws_ctx *ctx, mws__ready *r)
{
	pthread_mutex_lock(&ctx->door);
	for (mws__ready **pp = &ctx->ready_head; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	atomic_store(&r->scheduled, 0);
	pthread_mutex_unlock(&ctx->door);
}

/* Runs every command and drain request waiting at the door. */
static void mws__ctx_drain_door(mws_ctx *ctx)
{
	atomic_store(&ctx->wake_pending, 0);
	pthread_mutex_lock(&ctx->door);
	mws__cmd *cmds = ctx->cmd_head;
	mws__ready *ready = ctx->ready_head;
	ctx->cmd_head = ctx->cmd_tail = NULL;
	ctx->ready_head = NULL;
	pthread_mutex_unlock(&ctx->door);

	while (ready) {
		mws__ready *next = ready->next;
		/* Cleared before draining: a push racing with the drain schedules
		 * again rather than being stranded. */
		atomic_store(&ready->scheduled, 0);
		ready->drain(ctx, ready);
		ready = next;
	}
	while (cmds) {
		mws__cmd *next = cmds->next;
		cmds->run(ctx, cmds);
		cmds = next;
	}
}

int mws__ctx_pollfd_changed(mws_ctx *ctx, struct lws *wsi)
{
	if (lws_get_vhost(wsi))
		return 1;
	ctx->pollfd_watch = 1; /* the service thread's id is known: changes are reported */
	return 0;
}

void mws__ctx_on_wake(mws_ctx *ctx, struct lws *wsi)
{
	if (lws_get_vhost(wsi) == ctx->client_vhost)
		mws__ctx_drain_door(ctx);
}

void mws__ctx_add_member(mws_ctx *ctx, mws__member *m)
{
	m->next = ctx->members.next;
	m->prev = &ctx->members;
	ctx->members.next->prev = m;
	ctx->members.next = m;
}

void mws__ctx_remove_member(mws_ctx *ctx, mws__member *m)
{
	(void)ctx;
	if (!m->next)
		return;
	m->prev->next = m->next;
	m->next->prev = m->prev;
	m->next = m->prev = NULL;
}

static void mws__ctx_wheel_due(lws_sorted_usec_list_t *sul);

/* Wakes the loop at `at_us` unless it already wakes sooner. */
static void mws__ctx_wheel_arm(mws_ctx *ctx, uint64_t at_us, uint64_t now_us)
{
	if (at_us >= ctx->wheel_armed_us)
		return;
	ctx->wheel_armed_us = at_us;
	lws_sul_schedule(ctx->lws, 0, &ctx->wheel_sul, mws__ctx_wheel_due,
	                 (lws_usec_t)(at_us > now_us ? at_us - now_us : 0));
	mws__loop_timer_due(ctx, &ctx->wheel_sul);
}

static void mws__ctx_wheel_due(lws_sorted_usec_list_t *sul)
{
	mws_ctx *ctx = MWS__CONTAINER_OF(sul, mws_ctx, wheel_sul);
	ctx->wheel_armed_us = MWS__TW_NEVER; /* callbacks below may arm it again */
	mws__tw_run(&ctx->wheel, mws__now_us());
	uint64_t next = mws__tw_next(&ctx->wheel);
	if (next != MWS__TW_NEVER)
		mws__ctx_wheel_arm(ctx, next, mws__now_us());
}

void mws__timer_in(mws_ctx *ctx, mws__timer *t, uint64_t delay_ms, mws__timer_cb cb)
{
	uint64_t now = mws__now_us();
	if (delay_ms > UINT64_MAX / 2000 - now / 1000)
		delay_ms = UINT64_MAX / 2000 - now / 1000; /* "never", without overflow */
	uint64_t at = now + delay_ms * 1000;
	mws__tw_add(&ctx->wheel, t, at, cb);
	mws__ctx_wheel_arm(ctx, at, now);
}

void mws__timer_cancel(mws__timer *t) { mws__tw_cancel(t); }

/* ---- stop ---- */

static void mws__ctx_stop_deadline(lws_sorted_usec_list_t *sul) { (void)sul; }

static void mws__ctx_stop_run(mws_ctx *ctx, mws__cmd *cmd)
{
	free(cmd);
	ctx->stopping = 1;
	ctx->stop_deadline_us = mws__now_us() + MWS__STOP_GRACE_US;
	/* lws_service() sleeps until something happens: make sure something does */
	lws_sul_schedule(ctx->lws, 0, &ctx->stop_sul, mws__ctx_stop_deadline,
	                 MWS__STOP_GRACE_US + 1000);
	mws__loop_timer_due(ctx, &ctx->stop_sul);
	while (ctx->members.next != &ctx->members) {
		mws__member *m = ctx->members.next;
		mws__ctx_remove_member(ctx, m);
		m->shutdown(ctx, m);
	}
}

/* ---- resolver thread ---- */

static int mws__resolve_getaddrinfo(const char *host, char *ip, size_t cap, void *arg)
{
	(void)arg;
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return -1;
	const void *addr = res->ai_family == AF_INET6
		? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
		: (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	int ok = inet_ntop(res->ai_family, addr, ip, (socklen_t)cap) != NULL;
	freeaddrinfo(res);
	return ok ? 0 : -1;
}

static void *mws__resolver_main(void *arg)
{
	mws_ctx *ctx = arg;
	pthread_mutex_lock(&ctx->res_lock);
	for (;;) {
		while (!ctx->res_head && !ctx->res_quit)
			pthread_cond_wait(&ctx->res_cond, &ctx->res_lock);
		if (ctx->res_quit)
			break;
		mws__resolve_req *req = ctx->res_head;
		ctx->res_head = req->next;
		if (!ctx->res_head)
			ctx->res_tail = NULL;
		pthread_mutex_unlock(&ctx->res_lock);
		req->ok = ctx->resolve(req->host, req->ip, sizeof req->ip, ctx->resolve_arg) == 0;
		mws__ctx_post(ctx, &req->cmd);
		pthread_mutex_lock(&ctx->res_lock);
	}
	/* Requests never answered are returned as failures: their owners free
	 * them on the I/O thread as usual. */
	mws__resolve_req *left = ctx->res_head;
	ctx->res_head = ctx->res_tail = NULL;
	pthread_mutex_unlock(&ctx->res_lock);
	while (left) {
		mws__resolve_req *next = left->next;
		left->ok = 0;
		mws__ctx_post(ctx, &left->cmd);
		left = next;
	}
	return NULL;
}

static void mws__resolve_answered(mws_ctx *ctx, mws__cmd *cmd)
{
	mws__resolve_req *req = MWS__CONTAINER_OF(cmd, mws__resolve_req, cmd);
	req->done(ctx, req);
}

void mws__ctx_resolve(mws_ctx *ctx, mws__resolve_req *req)
{
	req->next = NULL;
	req->cmd.run = mws__resolve_answered;
	req->cmd.waited = 0;
	pthread_mutex_lock(&ctx->res_lock);
	if (!ctx->res_started) {
		if (pthread_create(&ctx->res_thread, NULL, mws__resolver_main, ctx)) {
			pthread_mutex_unlock(&ctx->res_lock);
			req->ok = 0;
			mws__ctx_post(ctx, &req->cmd);
			return;
		}
		ctx->res_started = 1;
	}
	if (ctx->res_tail)
		ctx->res_tail->next = req;
	else
		ctx->res_head = req;
	ctx->res_tail = req;
	pthread_cond_signal(&ctx->res_cond);
	pthread_mutex_unlock(&ctx->res_lock);
}

void mws__ctx_set_resolver(mws_ctx *ctx, mws__resolve_fn fn, void *arg)
{
	ctx->resolve = fn ? fn : mws__resolve_getaddrinfo;
	ctx->resolve_arg = arg;
}

static void mws__resolver_stop(mws_ctx *ctx)
{
	pthread_mutex_lock(&ctx->res_lock);
	ctx->res_quit = 1;
	int started = ctx->res_started;
	pthread_cond_signal(&ctx->res_cond);
	pthread_mutex_unlock(&ctx->res_lock);
	if (started)
		pthread_join(ctx->res_thread, NULL);
}

/* ---- the I/O thread ---- */

static void *mws__io_main(void *arg)
{
	mws_ctx *ctx = arg;
	mws__current_io_ctx = ctx;
	while (!atomic_load(&ctx->quit)) {
		if (mws__loop_run_once(ctx) < 0)
			break;
		if (ctx->stopping &&
		    (ctx->live_wsi == 0 || mws__now_us() >= ctx->stop_deadline_us))
			break;
	}
	/* Answers from the resolver may still arrive: run them so their
	 * owners can free what they hold, then destroy. */
	mws__resolver_stop(ctx);
	mws__ctx_drain_door(ctx);
	pthread_mutex_lock(&ctx->door);
	ctx->door_closed = 1; /* no wake from here on: see mws__ctx_wake_locked */
	pthread_mutex_unlock(&ctx->door);
	lws_context_destroy(ctx->lws);
	ctx->lws = NULL;
	mws__loop_free(ctx);
	mws__ctx_drain_door(ctx);
	return NULL;
}

/* How far the soft RLIMIT_NOFILE is raised at most (libwebsockets zeroes
 * tables of about 16 bytes a descriptor: 1 MiB per context). */
#define MWS__FD_LIMIT_CAP 65536

/* A context's socket table. libwebsockets 4.1.6 (lws_create_context in
 * lib/core/context.c, wsi_from_fd in lib/plat/unix/unix-fds.c) indexes it
 * by descriptor number when it covers the process's limit; a smaller
 * fd_limit_per_thread makes it hold only that many sockets, found by a
 * linear search. So: raise the soft RLIMIT_NOFILE towards the hard one,
 * then cover all of it. */
static int mws__fd_limit_from_rlimit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 4096;
	rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > MWS__FD_LIMIT_CAP
		? MWS__FD_LIMIT_CAP : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit raised = {want, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = want;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT32_MAX / 2)
		return MWS__FD_LIMIT_CAP;
	return rl.rlim_cur < 64 ? 64 : (int)rl.rlim_cur;
}

/* libwebsockets prints nothing unless MWS_LWS_LOG asks (a debugging aid);
 * its log level is process-wide. */
static void mws__lws_logging_once(void)
{
	const char *env = getenv("MWS_LWS_LOG");
	lws_set_log_level(env ? atoi(env) : 0, NULL);
}

MWS_API int mws_ctx_config_init(mws_ctx_config *cfg)
{
	if (!cfg)
		return MWS_EINVAL;
	memset(cfg, 0, sizeof *cfg);
	cfg->size = sizeof *cfg;
	return 0;
}

MWS_API int mws_ctx_new(mws_ctx **out, const mws_ctx_config *cfg_in)
{
	if (!out)
		return MWS_EINVAL;
	*out = NULL;
	mws_ctx_config cfg;
	mws_ctx_config_init(&cfg);
	if (cfg_in) {
		if (cfg_in->size < offsetof(mws_ctx_config, log_cb) || cfg_in->size > 1 << 16)
			return MWS_EINVAL;
		memcpy(&cfg, cfg_in, cfg_in->size < sizeof cfg ? cfg_in->size : sizeof cfg);
	}
	if (cfg.log_level < 0 || cfg.fd_limit < 0 || cfg.max_connecting < -1)
		return MWS_EINVAL;
	int loop_kind = mws__loop_choose(cfg.event_loop);
	if (loop_kind < 0)
		return loop_kind;

	static pthread_once_t log_once = PTHREAD_ONCE_INIT;
	pthread_once(&log_once, mws__lws_logging_once);

	mws_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return MWS_ENOMEM;
	ctx->log_cb = cfg.log_cb;
	ctx->log_user_data = cfg.log_user_data;
	ctx->log_level = cfg.log_level ? cfg.log_level : MWS_LOG_WARN;
	ctx->fd_limit = cfg.fd_limit ? cfg.fd_limit : mws__fd_limit_from_rlimit();
	ctx->loop_kind = loop_kind;
	if (getrandom(&ctx->hb_phase, sizeof ctx->hb_phase, GRND_NONBLOCK) != sizeof ctx->hb_phase)
		ctx->hb_phase = (uint32_t)mws__now_us();
	ctx->members.next = ctx->members.prev = &ctx->members;
	mws__admission_init(&ctx->admit, cfg.max_connecting < 0 ? 0u
	                    : cfg.max_connecting ? (uint32_t)cfg.max_connecting : 256u);
	mws__tw_init(&ctx->wheel, mws__now_us());
	ctx->wheel_armed_us = MWS__TW_NEVER;
	ctx->resolve = mws__resolve_getaddrinfo;
	pthread_mutex_init(&ctx->door, NULL);
	pthread_cond_init(&ctx->door_cond, NULL);
	pthread_mutex_init(&ctx->res_lock, NULL);
	pthread_cond_init(&ctx->res_cond, NULL);

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	/* RAW_ORIGIN: without it lws 4.1 prefixes a client's Origin with http://.
	 * VALIDATE_UTF8 must be here: libwebsockets 4.1.6 reads it from the
	 * context's options only (lib/roles/ws/ops-ws.c, client-parser-ws.c),
	 * for servers and clients alike; invalid text then closes with 1007. */
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
	               LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
	               LWS_SERVER_OPTION_JUST_USE_RAW_ORIGIN |
	               LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.fd_limit_per_thread = (unsigned)ctx->fd_limit;
	/* libwebsockets 4.1.6 reads a WebSocket connection at most its
	 * receive buffer at a time, and at most this (ops-ws.c): without it, a
	 * server's rx_buffer_bytes above 4096 read 4096 anyway. Once per
	 * context; the client protocol names its own buffer (client_vhost.c). */
	info.pt_serv_buf_size = MWS__READ_MAX;
	/* libwebsockets' 4096 would drop heads our servers accept. */
	info.max_http_header_data = MWS__HEAD_MAX_BYTES + 1024;
	info.user = ctx;
	int rc = mws__loop_prepare(ctx, &info);
	if (rc)
		goto fail;
	rc = MWS_EIO;
	ctx->lws = lws_create_context(&info);
	if (!ctx->lws) {
		mws__log(ctx, MWS_LOG_ERROR, "libwebsockets could not create its context%s",
		         ctx->ev ? " on libev (its evlib plugin did not load?)" : "");
		goto fail;
	}
	if (mws__loop_started(ctx))
		goto fail;
	ctx->client_vhost = mws__client_vhost_create(ctx, NULL);
	if (!ctx->client_vhost)
		goto fail;
	if (pthread_create(&ctx->thread, NULL, mws__io_main, ctx)) {
		rc = MWS_ENOMEM;
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	if (ctx->lws)
		lws_context_destroy(ctx->lws);
	mws__loop_free(ctx);
	pthread_mutex_destroy(&ctx->door);
	pthread_cond_destroy(&ctx->door_cond);
	pthread_mutex_destroy(&ctx->res_lock);
	pthread_cond_destroy(&ctx->res_cond);
	free(ctx);
	return rc;
}

MWS_API int mws_ctx_free(mws_ctx *ctx)
{
	if (!ctx)
		return 0;
	if (mws__ctx_on_io_thread(ctx))
		return MWS_EDEADLK;
	mws__cmd *stop = calloc(1, sizeof *stop);
	if (stop) {
		stop->run = mws__ctx_stop_run;
		mws__ctx_post(ctx, stop);
	} else {
		atomic_store(&ctx->quit, 1);
		pthread_mutex_lock(&ctx->door);
		mws__ctx_wake_locked(ctx);
		pthread_mutex_unlock(&ctx->door);
	}
	pthread_join(ctx->thread, NULL);
	mws__client_vhosts_forget(ctx);
	pthread_mutex_destroy(&ctx->door);
	pthread_cond_destroy(&ctx->door_cond);
	pthread_mutex_destroy(&ctx->res_lock);
	pthread_cond_destroy(&ctx->res_cond);
	free(ctx);
	return 0;
}

MWS_API int mws_ctx_event_loop(const mws_ctx *ctx)
{
	return ctx ? ctx->loop_kind : MWS_EINVAL;
}

/* ---- the default context ---- */

static mws_ctx *mws__default_ctx;
static pthread_once_t mws__default_once = PTHREAD_ONCE_INIT;

static void mws__default_free(void)
{
	mws_ctx *ctx = mws__default_ctx;
	mws__default_ctx = NULL;
	mws_ctx_free(ctx);
}

static void mws__default_create(void)
{
	if (mws_ctx_new(&mws__default_ctx, NULL) == 0)
		atexit(mws__default_free);
}

MWS_API mws_ctx *mws_ctx_default(void)
{
	pthread_once(&mws__default_once, mws__default_create);
	return mws__default_ctx;
}
