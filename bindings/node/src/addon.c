/* managedws Node-API addon: module set-up, per-environment state and the
 * dispatcher. JavaScript sees plain functions taking the owning JS object
 * first; index.js builds the classes on top. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "errors.h"

mws_node_inst *mws_node_inst_get(napi_env env)
{
	void *d = NULL;
	napi_get_instance_data(env, &d);
	return d;
}

void mws_node_dispatch(napi_env env, napi_value owner, size_t argc, napi_value *argv)
{
	mws_node_inst *inst = mws_node_inst_get(env);
	napi_value fn, undef;
	if (!inst || !inst->dispatch || napi_get_reference_value(env, inst->dispatch, &fn) != napi_ok ||
	    !fn)
		return;
	napi_value args[10];
	if (argc > 9)
		argc = 9; /* the longest: a client's session event */
	args[0] = owner;
	memcpy(args + 1, argv, argc * sizeof *argv);
	napi_get_undefined(env, &undef);
	if (napi_call_function(env, undef, fn, argc + 1, args, NULL) != napi_ok) {
		bool pending = false;
		napi_is_exception_pending(env, &pending);
		if (pending) {
			napi_value e;
			napi_get_and_clear_last_exception(env, &e);
			napi_fatal_exception(env, e);
		}
	}
}

void mws_node_set_num(napi_env env, napi_value obj, const char *name, double v)
{
	napi_value n;
	if (napi_create_double(env, v, &n) == napi_ok)
		napi_set_named_property(env, obj, name, n);
}

/* ---- module ---- */

static napi_value mws__set_dispatcher(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value fn;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, &fn, NULL, NULL));
	napi_valuetype t = napi_undefined;
	if (argc < 1 || napi_typeof(env, fn, &t) != napi_ok || t != napi_function)
		return mws_node_throw_type(env, "dispatcher must be a function");
	mws_node_inst *inst = mws_node_inst_get(env);
	if (inst->dispatch)
		napi_delete_reference(env, inst->dispatch);
	inst->dispatch = NULL;
	NAPI_OK(env, napi_create_reference(env, fn, 1, &inst->dispatch));
	return NULL;
}

static napi_value mws__live_count(napi_env env, napi_callback_info info)
{
	(void)info;
	mws_node_inst *inst = mws_node_inst_get(env);
	napi_value o;
	NAPI_OK(env, napi_create_object(env, &o));
	mws_node_set_num(env, o, "clients", (double)inst->live_clients);
	mws_node_set_num(env, o, "servers", (double)inst->live_servers);
	return o;
}

static napi_value mws__version(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value o, s;
	NAPI_OK(env, napi_create_object(env, &o));
	NAPI_OK(env, napi_create_string_utf8(env, mws_version_string(), NAPI_AUTO_LENGTH, &s));
	NAPI_OK(env, napi_set_named_property(env, o, "library", s));
	mws_node_set_num(env, o, "libraryNumber", mws_version());
	mws_node_set_num(env, o, "headerNumber",
	                 (MWS_VERSION_MAJOR << 16) | (MWS_VERSION_MINOR << 8) | MWS_VERSION_PATCH);
	return o;
}

static napi_value mws__err_name(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value a, s;
	int32_t rc = 0;
	NAPI_OK(env, napi_get_cb_info(env, info, &argc, &a, NULL, NULL));
	if (argc < 1 || napi_get_value_int32(env, a, &rc) != napi_ok)
		rc = 0;
	NAPI_OK(env, napi_create_string_utf8(env, mws_err_name(rc), NAPI_AUTO_LENGTH, &s));
	return s;
}

static void mws__inst_free(napi_env env, void *data, void *hint)
{
	(void)hint;
	mws_node_inst *inst = data;
	if (inst->dispatch)
		napi_delete_reference(env, inst->dispatch);
	free(inst);
}

static napi_value mws__init(napi_env env, napi_value exports)
{
	if (mws_version() >> 16 != MWS_VERSION_MAJOR) {
		napi_throw_error(env, "MWS_EVERSION",
		                 "managedws: the loaded C library's major version differs from the header");
		return NULL;
	}
	mws_node_inst *inst = calloc(1, sizeof *inst);
	if (!inst)
		return mws_node_throw_mws(env, MWS_ENOMEM, "init");
	if (napi_set_instance_data(env, inst, mws__inst_free, NULL) != napi_ok) {
		free(inst);
		mws_node_throw_last(env);
		return NULL;
	}
	napi_property_descriptor props[] = {
		MWS_NODE_FN("setDispatcher", mws__set_dispatcher),
		MWS_NODE_FN("liveCount", mws__live_count),
		MWS_NODE_FN("version", mws__version),
		MWS_NODE_FN("errName", mws__err_name),
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	if (!mws_node_client_init(env, exports))
		return NULL;
	if (!mws_node_server_init(env, exports))
		return NULL;
	return exports;
}

NAPI_MODULE_INIT() { return mws__init(env, exports); }
