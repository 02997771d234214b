/* The loop a context's I/O thread waits in: libwebsockets' own poll(2)
 * loop, or libev on epoll(7) through libwebsockets' evlib plugin (Debian
 * package libwebsockets-evlib-ev), whose waits cost what is ready, not
 * every socket. ctx.c calls these; nothing else does. */
#ifndef MWS_IO_LOOP_H
#define MWS_IO_LOOP_H

#include <libwebsockets.h>

#include "managedws.h"

struct mws_ctx;

/* The loop a config asks for: MWS_EVENT_LOOP_DEFAULT becomes the
 * environment's MWS_EVENT_LOOP (poll or epoll) or else poll. Returns
 * MWS_EVENT_LOOP_POLL or _EPOLL, or MWS_EINVAL for an unknown value. */
int mws__loop_choose(int asked);

/* Before lws_create_context(): prepares ctx->loop_kind's loop and sets the
 * creation info for it. MWS_EUNSUPPORTED (a reason logged) when epoll is
 * asked for and this build or machine lacks it, MWS_ENOMEM. */
int mws__loop_prepare(struct mws_ctx *ctx, struct lws_context_creation_info *info);

/* After lws_create_context() (and on its failure, with ctx->lws NULL):
 * I/O thread structures. 0 or MWS_ENOMEM. */
int mws__loop_started(struct mws_ctx *ctx);

/* Waits for and serves one round of events. Negative when the loop can
 * serve no more. I/O thread. */
int mws__loop_run_once(struct mws_ctx *ctx);

/* `sul` was just scheduled with lws_sul_schedule(): the loop makes sure to
 * wake for lws's timers (see loop.c for why libev needs this). I/O thread. */
void mws__loop_timer_due(struct mws_ctx *ctx, lws_sorted_usec_list_t *sul);

/* After lws_context_destroy() (or a failed create): frees the loop. */
void mws__loop_free(struct mws_ctx *ctx);

#endif
