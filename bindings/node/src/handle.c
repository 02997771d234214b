/* The lifetime shared by the client and the server (see handle.h). */
#include <stdio.h>
#include <stdlib.h>

#include "errors.h"
#include "handle.h"

mws_node_handle *mws_node_handle_new(napi_env env, const mws_node_handle_ops *ops, size_t size)
{
	mws_node_handle *h = calloc(1, size);
	if (!h) {
		mws_node_throw_mws(env, MWS_ENOMEM, ops->what);
		return NULL;
	}
	h->ops = ops;
	h->env = env;
	h->inst = mws_node_inst_get(env);
	h->user_ref = 1;
	return h;
}

static void mws__handle_set_pinned(mws_node_handle *h, int want)
{
	if (want == h->pinned)
		return;
	uint32_t n;
	if (want) {
		napi_reference_ref(h->env, h->owner, &n);
		napi_ref_threadsafe_function(h->env, h->tsfn);
	} else {
		if (h->owner)
			napi_reference_unref(h->env, h->owner, &n);
		if (h->tsfn)
			napi_unref_threadsafe_function(h->env, h->tsfn);
	}
	h->pinned = want;
}

void mws_node_handle_update_pin(mws_node_handle *h)
{
	mws__handle_set_pinned(h, h->owner && h->tsfn && !h->shutdown_due &&
	                              (h->work || h->ops->wants_pin(h)));
}

void mws_node_handle_ref(mws_node_handle *h, napi_value on)
{
	bool b = true;
	napi_get_value_bool(h->env, on, &b);
	h->user_ref = b;
	mws_node_handle_update_pin(h);
}

static void mws__handle_drop(mws_node_handle *h)
{
	if (--h->holds == 0)
		h->ops->destroy(h);
}

void mws_node_handle_work_begin(mws_node_handle *h)
{
	h->work++;
	h->holds++;
	mws_node_handle_update_pin(h);
}

void mws_node_handle_work_end(mws_node_handle *h)
{
	if (--h->work == 0) {
		if (h->shutdown_due) {
			h->shutdown_due = h->free_due = 0;
			mws_node_handle_shutdown(h, h->shutdown_mode);
		} else if (h->free_due) {
			h->free_due = 0;
			h->ops->free_native(h);
		}
	}
	mws_node_handle_update_pin(h);
	mws__handle_drop(h);
}

/* Environment teardown. Node lets pending thread-pool work complete before
 * it runs cleanup hooks, so h->work is 0 here in practice. */
static void mws__handle_cleanup_hook(void *arg)
{
	mws_node_handle *h = arg;
	h->hook_added = 0; /* Node removes it as it runs it */
	if (h->work)
		h->free_due = 1;
	else
		h->ops->free_native(h);
}

void mws_node_handle_shutdown(mws_node_handle *h, napi_threadsafe_function_release_mode mode)
{
	mws__handle_set_pinned(h, 0);
	if (h->work) {
		/* The C object is in use and its callbacks may still post: it
		 * and the thread-safe function stay until the work ends. */
		h->shutdown_due = 1;
		h->shutdown_mode = mode;
		return;
	}
	/* mws_*_free returns when the I/O thread no longer references the C
	 * object, so no callback can reach the thread-safe function after. */
	h->ops->free_native(h);
	if (h->hook_added) {
		h->hook_added = 0;
		napi_remove_env_cleanup_hook(h->env, mws__handle_cleanup_hook, h);
	}
	if (h->tsfn) {
		napi_threadsafe_function t = h->tsfn;
		h->tsfn = NULL; /* its finalizer drops the hold */
		napi_release_threadsafe_function(t, mode);
	}
}

static void mws__handle_tsfn_finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	mws_node_handle *h = data;
	h->tsfn = NULL;
	mws__handle_drop(h);
}

static void mws__handle_wrap_finalize(napi_env env, void *data, void *hint)
{
	(void)hint;
	mws_node_handle *h = data;
	h->pinned = 0; /* a pinned object is never collected; be safe anyway */
	mws_node_handle_shutdown(h, napi_tsfn_abort);
	if (h->owner) {
		napi_delete_reference(env, h->owner);
		h->owner = NULL;
	}
	mws__handle_drop(h);
}

/* Frees the C object and the struct while nothing else holds them. */
static int mws__handle_discard(mws_node_handle *h)
{
	h->ops->free_native(h);
	h->ops->destroy(h);
	return -1;
}

int mws_node_handle_attach(mws_node_handle *h, napi_value owner, int rc)
{
	napi_env env = h->env;
	if (rc) {
		mws_node_throw_mws(env, rc, h->ops->what);
		return mws__handle_discard(h);
	}
	char resource[64];
	snprintf(resource, sizeof resource, "managedws.%s", h->ops->name);
	napi_value name;
	if (napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, h,
	                                    mws__handle_tsfn_finalize, h, mws_node_call_js,
	                                    &h->tsfn) != napi_ok) {
		mws_node_throw_last(env);
		return mws__handle_discard(h);
	}
	h->holds = 1; /* the tsfn; the wrap adds one below */
	napi_unref_threadsafe_function(env, h->tsfn);
	/* After the tsfn: hooks run in reverse order of registration. */
	if (napi_add_env_cleanup_hook(env, mws__handle_cleanup_hook, h) == napi_ok)
		h->hook_added = 1;
	int wrapped = napi_wrap(env, owner, h, mws__handle_wrap_finalize, NULL, NULL) == napi_ok;
	if (!wrapped || napi_create_reference(env, owner, 0, &h->owner) != napi_ok) {
		if (wrapped)
			napi_remove_wrap(env, owner, NULL);
		mws_node_throw_last(env);
		mws_node_handle_shutdown(h, napi_tsfn_abort); /* frees h via the tsfn finalizer */
		return -1;
	}
	h->holds++;
	return 0;
}

mws_node_handle *mws_node_handle_unwrap(napi_env env, napi_callback_info info,
                                        const mws_node_handle_ops *ops, size_t argc,
                                        napi_value *argv, int need_live)
{
	napi_value args[8]; /* napi fills what the caller left out with undefined */
	size_t cap = argc < 8 ? argc + 1 : 8, n = cap;
	if (napi_get_cb_info(env, info, &n, args, NULL, NULL) != napi_ok) {
		mws_node_throw_last(env);
		return NULL;
	}
	mws_node_handle *h = NULL;
	if (n < 1 || napi_unwrap(env, args[0], (void **)&h) != napi_ok || !h || h->ops != ops) {
		char msg[64];
		snprintf(msg, sizeof msg, "not a managedws %s", ops->name);
		napi_throw_type_error(env, "ERR_INVALID_THIS", msg);
		return NULL;
	}
	for (size_t i = 0; i < argc; i++) {
		if (i + 1 < cap)
			argv[i] = args[i + 1];
		else
			napi_get_undefined(env, &argv[i]);
	}
	if (need_live && !ops->is_live(h)) {
		mws_node_throw_mws(env, MWS_ECLOSED, ops->name);
		return NULL;
	}
	return h;
}
