/* The I/O thread's wait: libwebsockets' poll(2) loop, or libev on epoll(7).
 *
 * poll(2) scans every socket at every wake: 19,000 idle connections with
 * 15 s heartbeats wake it about 1,300 times a second, each a full scan.
 * epoll costs what is ready. libwebsockets 4.1.6 reaches libev through its
 * evlib plugin; we give it a loop of our own ("foreign" in lws's words) so
 * that lws installs no SIGINT watcher and our I/O thread keeps its own
 * round (ev_run once, then check for stop), as with poll. */
#include "io/loop.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ctx.h"

#if defined(MWS_HAVE_LIBEV)
#include <ev.h>

/* The plugin lws 4.1.6 dlopens for LWS_SERVER_OPTION_LIBEV
 * (lib/core/context.c: LWS_INSTALL_LIBDIR, "evlib_ev"). */
#define MWS__EVLIB_PLUGIN LWS_INSTALL_LIBDIR "/libwebsockets-evlib_ev.so"

/* A wake at least this often, for timers of lws's we cannot see. */
#define MWS__EV_TICK_S 1.0

struct mws__ev {
	struct ev_loop *loop;
	void *foreign[1];   /* info.foreign_loops: one service thread */
	ev_prepare before_wait;
	ev_timer tick;
	/* libwebsockets' sorted timer list (its head is the soonest), learnt
	 * from the first timer we schedule; and the time the tick is set for */
	const lws_dll2_owner_t *timers;
	lws_usec_t armed_us;
};

static void mws__ev_tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	mws_ctx *ctx = t->data;
	ctx->ev->armed_us = 0;
	/* Any event on an lws socket makes lws serve its ripe timers after it
	 * (lws_ev_idle_cb); a wake of our own is the cheapest event. */
	if (ctx->lws)
		lws_cancel_service(ctx->lws);
}

/* Before every wait: the tick set for libwebsockets' soonest timer. */
static void mws__ev_before_wait(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	struct mws__ev *ev = w->data;
	const lws_sorted_usec_list_t *soonest =
		ev->timers && ev->timers->head ? (const lws_sorted_usec_list_t *)ev->timers->head
		                               : NULL;
	lws_usec_t now = lws_now_usecs();
	lws_usec_t due = soonest ? soonest->us : now + (lws_usec_t)(MWS__EV_TICK_S * 1e6);
	if (ev->armed_us && ev->armed_us <= due && ev_is_active(&ev->tick))
		return;
	/* a millisecond late, so that the timer is ripe when lws looks */
	double after = due > now ? (double)(due - now) / 1e6 + 0.001 : 0.001;
	ev_timer_stop(loop, &ev->tick);
	ev_timer_set(&ev->tick, after, 0.);
	ev_timer_start(loop, &ev->tick);
	ev->armed_us = due;
}
#endif

int mws__loop_choose(int asked)
{
	if (asked == MWS_EVENT_LOOP_DEFAULT) {
		const char *env = getenv("MWS_EVENT_LOOP");
		if (env && !strcmp(env, "epoll"))
			return MWS_EVENT_LOOP_EPOLL;
		return MWS_EVENT_LOOP_POLL;
	}
	if (asked == MWS_EVENT_LOOP_POLL || asked == MWS_EVENT_LOOP_EPOLL)
		return asked;
	return MWS_EINVAL;
}

#if defined(MWS_HAVE_LIBEV)
/* The plugin links the system's libwebsockets.so.17 by name. A copy of
 * libwebsockets renamed into a package (the Python wheel vendors its own)
 * would leave the plugin calling into a second, uninitialised lws. */
static int mws__lws_is_the_systems(void)
{
	Dl_info di;
	if (!dladdr((void *)lws_create_context, &di) || !di.dli_fname)
		return 0;
	const char *base = strrchr(di.dli_fname, '/');
	base = base ? base + 1 : di.dli_fname;
	return strncmp(base, "libwebsockets.so", 16) == 0;
}
#endif

int mws__loop_prepare(mws_ctx *ctx, struct lws_context_creation_info *info)
{
	if (ctx->loop_kind != MWS_EVENT_LOOP_EPOLL)
		return 0;
#if defined(MWS_HAVE_LIBEV)
	if (!mws__lws_is_the_systems()) {
		mws__log(ctx, MWS_LOG_ERROR,
		         "epoll event loop: libwebsockets' libev plugin needs the system's "
		         "libwebsockets, and this one is a private copy");
		return MWS_EUNSUPPORTED;
	}
	if (access(MWS__EVLIB_PLUGIN, R_OK)) {
		mws__log(ctx, MWS_LOG_ERROR,
		         "epoll event loop: libwebsockets' libev plugin %s is missing "
		         "(Debian package libwebsockets-evlib-ev)", MWS__EVLIB_PLUGIN);
		return MWS_EUNSUPPORTED;
	}
	struct mws__ev *ev = calloc(1, sizeof *ev);
	if (!ev)
		return MWS_ENOMEM;
	ev->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!ev->loop) {
		free(ev);
		mws__log(ctx, MWS_LOG_ERROR, "epoll event loop: libev has no epoll here");
		return MWS_EUNSUPPORTED;
	}
	ev->foreign[0] = ev->loop;
	ctx->ev = ev;
	info->options |= LWS_SERVER_OPTION_LIBEV;
	info->foreign_loops = ev->foreign;
	return 0;
#else
	(void)info;
	mws__log(ctx, MWS_LOG_ERROR, "epoll event loop: this build has no libev");
	return MWS_EUNSUPPORTED;
#endif
}

int mws__loop_started(mws_ctx *ctx)
{
#if defined(MWS_HAVE_LIBEV)
	struct mws__ev *ev = ctx->ev;
	if (!ev)
		return 0;
	ev_timer_init(&ev->tick, mws__ev_tick_cb, MWS__EV_TICK_S, 0.);
	ev->tick.data = ctx;
	ev_prepare_init(&ev->before_wait, mws__ev_before_wait);
	ev->before_wait.data = ev;
	ev_prepare_start(ev->loop, &ev->before_wait);
#else
	(void)ctx;
#endif
	return 0;
}

int mws__loop_run_once(mws_ctx *ctx)
{
#if defined(MWS_HAVE_LIBEV)
	if (ctx->ev) {
		ev_run(ctx->ev->loop, EVRUN_ONCE);
		return 0;
	}
#endif
	return lws_service(ctx->lws, 0);
}

/* libwebsockets 4.1.6's libev glue (lib/event-libs/libev/libev.c) re-arms
 * its one timer with ev_timer_set() + ev_timer_start(), and
 * ev_timer_start() does nothing to a timer already running: a timer
 * scheduled sooner than the one armed would wait for the later one or for
 * the next socket event. So before each wait we set a timer of our own for
 * the head of lws's sorted list and wake the loop through lws when it
 * fires. The list is found from a timer of ours once it is scheduled. */
void mws__loop_timer_due(mws_ctx *ctx, lws_sorted_usec_list_t *sul)
{
#if defined(MWS_HAVE_LIBEV)
	struct mws__ev *ev = ctx->ev;
	if (ev && !ev->timers)
		ev->timers = sul->list.owner;
#else
	(void)ctx;
	(void)sul;
#endif
}

void mws__loop_free(mws_ctx *ctx)
{
#if defined(MWS_HAVE_LIBEV)
	struct mws__ev *ev = ctx->ev;
	if (!ev)
		return;
	ev_timer_stop(ev->loop, &ev->tick);
	ev_prepare_stop(ev->loop, &ev->before_wait);
	ev_loop_destroy(ev->loop);
	free(ev);
	ctx->ev = NULL;
#else
	(void)ctx;
#endif
}
