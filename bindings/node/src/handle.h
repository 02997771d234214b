/* The native side of a JS object (a ManagedWebSocket or a
 * ManagedWebSocketServer), with the lifetime both share.
 *
 * Owned twice: by the JS object it is wrapped onto (napi_wrap finalizer)
 * and by its thread-safe function (finalize callback); the struct is freed
 * when both have let go. The C object is freed, and the thread-safe
 * function released, at the first of: the owner's terminal event reaching
 * JS (mws_node_handle_shutdown), the JS object's finalizer, or the
 * environment's teardown (a cleanup hook registered after the thread-safe
 * function, so it runs before Node tears that function down while the I/O
 * thread may still call it; the events it still holds then reach call_js
 * with env == NULL and are freed there).
 *
 * Keeping alive. While the owner wants it (ops->wants_pin: active, and not
 * unref()'d), the thread-safe function is ref'd (the process stays up) and
 * the JS object is held by a strong reference (it is not collected while it
 * may still emit events). Otherwise both are released: an idle object
 * neither keeps the process alive nor itself.
 *
 * Work in flight. While the owner has napi_async_work on the libuv thread
 * pool using the C object (mws_node_handle_work_begin .. _end), the handle
 * is pinned whatever wants_pin says and holds the struct once more; freeing
 * the C object, and a shutdown (which frees it, then releases the
 * thread-safe function its callbacks post on), wait for the work to end.
 * So the struct and the C object outlive the work even when the finalizer
 * runs meanwhile (at environment teardown, or should the pin ever fail).
 * All functions here run on the JS thread. */
#ifndef MWS_NODE_HANDLE_H
#define MWS_NODE_HANDLE_H

#include "addon.h"
#include "events.h"
#include "node_api_pin.h"

typedef struct mws_node_handle mws_node_handle;

/* What differs between the client and the server. */
typedef struct mws_node_handle_ops {
	const char *name; /* "client": in "not a managedws client", "managedws.client" */
	const char *what; /* "ManagedWebSocket": errors while creating one */
	/* Whether the C object can take calls (else they throw MWS_ECLOSED). */
	int (*is_live)(const mws_node_handle *h);
	/* Whether to hold the process and the JS object, given that both the
	 * thread-safe function and the owner reference still exist. */
	int (*wants_pin)(const mws_node_handle *h);
	/* Frees the C object unless it is gone (idempotent). Never called
	 * while work is in flight: the free waits for mws_node_handle_work_end. */
	void (*free_native)(mws_node_handle *h);
	/* An event on the JS thread, inside a handle scope; owner is NULL once
	 * the JS object has been collected. The event is freed after. */
	void (*deliver)(mws_node_handle *h, napi_env env, napi_value owner, const mws_node_ev *ev);
	/* Frees the struct the handle is the first member of. */
	void (*destroy)(mws_node_handle *h);
} mws_node_handle_ops;

/* The first member of mws_node_client and mws_node_server, so that a
 * pointer to either is a pointer to its handle. */
struct mws_node_handle {
	const mws_node_handle_ops *ops;
	napi_env env;
	mws_node_inst *inst;
	napi_threadsafe_function tsfn; /* NULL once released */
	napi_ref owner;                /* weak, or strong while pinned */
	int holds;                     /* wrap + tsfn + one while work is in flight */
	int work;                      /* async work in flight */
	int free_due;                  /* free_native waits for the work to end */
	int shutdown_due;              /* so does mws_node_handle_shutdown ... */
	napi_threadsafe_function_release_mode shutdown_mode; /* ... with this */
	int pinned;
	int user_ref;                  /* 0 after unref() */
	int hook_added;
};

/* A zeroed struct of `size` bytes whose first member is a handle set up
 * for ops: referenced by the user, nothing held yet. NULL after throwing
 * MWS_ENOMEM. */
mws_node_handle *mws_node_handle_new(napi_env env, const mws_node_handle_ops *ops, size_t size);

/* Ends the creation of a handle. rc is how creating its C object and
 * setting the C callbacks went: not 0 throws it (as ops->what). On 0,
 * creates the (unref'd) thread-safe function and the cleanup hook and wraps
 * h onto owner. Returns 0, or -1 after throwing, having freed the C object
 * and (now, or through the thread-safe function's finalizer) the struct. */
int mws_node_handle_attach(mws_node_handle *h, napi_value owner, int rc);

/* Pins or unpins h as ops->wants_pin now says. */
void mws_node_handle_update_pin(mws_node_handle *h);

/* Unpins, frees the C object (ops->free_native) and lets the thread-safe
 * function go; the struct is freed once the JS object is too. While work
 * is in flight, it unpins now and does the rest when the work ends. */
void mws_node_handle_shutdown(mws_node_handle *h, napi_threadsafe_function_release_mode mode);

/* Async work on h's C object was queued: until mws_node_handle_work_end,
 * h is pinned, its struct is held and its C object is not freed. */
void mws_node_handle_work_begin(mws_node_handle *h);

/* Ends what mws_node_handle_work_begin started, from the work's completion
 * callback, as its last touch of h: does the shutdown or the free that came
 * due meanwhile, repins as wants_pin says, and lets go of the struct, which
 * is freed here if the JS object and the thread-safe function are gone. */
void mws_node_handle_work_end(mws_node_handle *h);

/* ref(bool) / unref() as on net.Socket: `on` is a JS boolean. */
void mws_node_handle_ref(mws_node_handle *h, napi_value on);

/* The handle of a binding call's `this` (its first argument), which must
 * be wrapped by ops; argv[0..argc) get the arguments after it, undefined
 * where missing. NULL after throwing: TypeError ERR_INVALID_THIS, or
 * MWS_ECLOSED when need_live and !ops->is_live. */
mws_node_handle *mws_node_handle_unwrap(napi_env env, napi_callback_info info,
                                        const mws_node_handle_ops *ops, size_t argc,
                                        napi_value *argv, int need_live);

#endif
