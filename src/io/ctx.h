/* The context's internals: one libwebsockets context, one I/O thread, and
 * the one door through which application threads reach it (commands and
 * drain requests, then a wake). Clients and servers build on this. */
#ifndef MWS_IO_CTX_H
#define MWS_IO_CTX_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/admission.h"
#include "core/timer_wheel.h"
#include "managedws.h"

#define MWS__CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* The largest request head a server reads (src/io/server_head.c); the
 * context's header table holds one with room to spare. */
#define MWS__HEAD_MAX_BYTES 8192

/* A unit of work run on the I/O thread. `run` owns the command: it frees it
 * (or completes a waiter that does). */
typedef struct mws__cmd {
	struct mws__cmd *next;
	void (*run)(mws_ctx *ctx, struct mws__cmd *cmd);
	/* set for mws__ctx_call(): the caller waits until `done` */
	int waited;
	int done;
} mws__cmd;

/* An object with data to hand to the I/O thread (a client's send ring).
 * Scheduling is idempotent until the I/O thread takes it: one wake per
 * burst, not per message. */
typedef struct mws__ready {
	struct mws__ready *next;
	atomic_int scheduled;
	void (*drain)(mws_ctx *ctx, struct mws__ready *r);
} mws__ready;

/* Clients and servers on a context; the I/O thread closes them at stop. */
typedef struct mws__member {
	struct mws__member *prev, *next;
	/* Close gracefully: send close frames, cancel timers. I/O thread. */
	void (*shutdown)(mws_ctx *ctx, struct mws__member *m);
} mws__member;

typedef int (*mws__resolve_fn)(const char *host, char *ip, size_t ip_cap, void *arg);

struct mws_ctx {
	struct lws_context *lws;
	struct lws_vhost *client_vhost;
	pthread_t thread;
	atomic_int wake_pending;
	atomic_uint_least64_t wakes;  /* lws_cancel_service() calls, for tests */
	atomic_int quit;

	pthread_mutex_t door;       /* guards cmd_* and ready_* below */
	pthread_cond_t door_cond;   /* signals mws__ctx_call() completions */
	mws__cmd *cmd_head, *cmd_tail;
	mws__ready *ready_head;
	int door_closed;            /* the I/O thread is tearing down: no wakes */

	/* I/O thread only */
	mws__member members;        /* list head */
	int stopping;
	int live_wsi;               /* client sockets not yet finished */
	uint64_t stop_deadline_us;
	lws_sorted_usec_list_t stop_sul; /* wakes the loop at the deadline */
	mws__twheel wheel;          /* our timers (mws__timer_in) */
	lws_sorted_usec_list_t wheel_sul; /* libwebsockets' one timer of ours: */
	uint64_t wheel_armed_us;    /* the wheel's next deadline, when armed */
	struct mws__ca_vhost *ca_vhosts; /* client vhosts per CA file */
	int pollfd_watch;           /* libwebsockets reports each change of a
	                               socket's poll events (mws__ctx_pollfd_changed) */
	mws__admission admit;       /* clients' connection attempts in flight */
	mws__timer admit_timer;     /* starts waiting attempts as slots free */

	/* resolver thread, started on the first host name */
	pthread_mutex_t res_lock;
	pthread_cond_t res_cond;
	pthread_t res_thread;
	int res_started, res_quit;
	struct mws__resolve_req *res_head, *res_tail;
	mws__resolve_fn resolve;
	void *resolve_arg;

	mws_log_cb log_cb;
	void *log_user_data;
	int log_level;
	int fd_limit;
	int loop_kind;              /* MWS_EVENT_LOOP_POLL or _EPOLL (io/loop.c) */
	uint32_t hb_phase;          /* where this context's heartbeat grid starts
	                               (random: processes do not beat together) */
	struct mws__ev *ev;         /* the libev loop, for _EPOLL */
};

/* Runs `cmd` on the I/O thread, asynchronously. Any thread. */
void mws__ctx_post(mws_ctx *ctx, mws__cmd *cmd);
/* Runs `cmd` on the I/O thread and returns after `run` has set cmd->done
 * through mws__ctx_complete(). On the I/O thread `run` is called directly. */
void mws__ctx_call(mws_ctx *ctx, mws__cmd *cmd);
/* Called by `run` of a command posted with mws__ctx_call(). */
void mws__ctx_complete(mws_ctx *ctx, mws__cmd *cmd);
/* Asks the I/O thread to call r->drain; no-op while already scheduled. */
void mws__ctx_schedule(mws_ctx *ctx, mws__ready *r);
/* Takes r off the list of those waiting to drain (I/O thread). */
void mws__ctx_unschedule(mws_ctx *ctx, mws__ready *r);
/* 1 when called on this context's I/O thread. */
int mws__ctx_on_io_thread(const mws_ctx *ctx);

/* I/O thread: membership, so that mws_ctx_free() closes everyone. */
void mws__ctx_add_member(mws_ctx *ctx, mws__member *m);
void mws__ctx_remove_member(mws_ctx *ctx, mws__member *m);

/* Every wake reaches every protocol of every vhost; only this one drains.
 * Protocol handlers call it for LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
void mws__ctx_on_wake(mws_ctx *ctx, struct lws *wsi);

/* LWS_CALLBACK_GET_THREAD_ID, which every vhost's protocols[0] answers.
 * Answered once for the service thread at its first pass (a wsi with no
 * vhost); libwebsockets 4.1.6 then asks again, with the wsi, whenever it
 * changes that socket's poll events (lib/core-net/pollfd.c), comparing the
 * answers to find a change made off the service thread. We make none, so
 * the answer is a constant, and the question tells us the one thing
 * libwebsockets does not: that it asked for POLLOUT, as it does when it
 * owes a pong (the caller then forgets that the socket was quiet). Only
 * the poll loop asks at its first pass: on the epoll loop (libev) nobody
 * asks, nothing is reported, pollfd_watch stays 0 and a send from
 * on_message keeps waiting for WRITEABLE. Returns 1 for a wsi of a
 * socket, 0 for the service thread's question. */
int mws__ctx_pollfd_changed(mws_ctx *ctx, struct lws *wsi);
#define MWS__IO_THREAD_ID 1

/* Resolves `host` off the I/O thread; `done` then runs on the I/O thread
 * with the numeric address (or NULL on failure). */
typedef struct mws__resolve_req {
	struct mws__resolve_req *next;
	mws__cmd cmd;               /* carries the answer back */
	char host[256];
	char ip[64];
	int ok;
	void (*done)(mws_ctx *ctx, struct mws__resolve_req *req);
	void *owner;                /* opaque to the resolver */
	uint64_t owner_token;       /* lets the owner ignore stale answers */
} mws__resolve_req;
void mws__ctx_resolve(mws_ctx *ctx, mws__resolve_req *req);
/* Tests replace the resolver (for a slow one). Before any use. */
void mws__ctx_set_resolver(mws_ctx *ctx, mws__resolve_fn fn, void *arg);

/* The most one read of a connection takes (libwebsockets' per-thread
 * service buffer). */
#define MWS__READ_MAX (64u * 1024u)

/* Monotonic clock. */
uint64_t mws__now_ms(void);
uint64_t mws__now_us(void);
/* The same clock as of the last timer tick (a few ms behind, never
 * ahead): a third of the cost, for what is stamped on every message. */
uint64_t mws__now_ms_coarse(void);

/* The close frame libwebsockets prepared on `wsi` by itself, which no
 * callback reports: 1002 for a protocol error, 1007 for invalid UTF-8 (or
 * the echo of the peer's, or our own lws_close_reason()). Returns its code
 * and copies its reason (NUL-terminated, cut to cap), or 0 if none. Only in
 * a WebSocket connection's callbacks; a client's payload is masked in place
 * once the frame is written, so a client reads it in WS_CLIENT_DROP_PROTOCOL. */
int mws__ws_own_close(struct lws *wsi, char *reason, size_t cap);

/* Logging through the context's callback; silent without one. */
void mws__log(mws_ctx *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Timers on the I/O thread, in the context's wheel (core/timer_wheel.h
 * says why not libwebsockets' own): O(1) to arm, move and cancel. Arming
 * an armed timer moves it; cancelling an idle one does nothing. */
void mws__timer_in(mws_ctx *ctx, mws__timer *t, uint64_t delay_ms, mws__timer_cb cb);
void mws__timer_cancel(mws__timer *t);

#endif
