/* managedws Node-API addon: module set-up and helpers shared by the client
 * and server halves. JavaScript sees plain functions taking the owning JS
 * object first; index.js builds the classes on top. */
#include <stdio.h>
#include <string.h>

#include "addon.h"

void mws_node_throw_last(napi_env env)
{
	bool pending = false;
	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	const napi_extended_error_info *info = NULL;
	napi_get_last_error_info(env, &info);
	napi_throw_error(env, "ERR_NAPI",
	                 info && info->error_message ? info->error_message : "Node-API call failed");
}

void mws_node_throw_mws(napi_env env, int rc, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%s: %s", what, mws_strerror(rc));
	napi_value code, text, err;
	if (napi_create_string_utf8(env, mws_err_name(rc), NAPI_AUTO_LENGTH, &code) != napi_ok ||
	    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text) != napi_ok ||
	    napi_create_error(env, code, text, &err) != napi_ok) {
		mws_node_throw_last(env);
		return;
	}
	napi_value errno_v;
	if (napi_create_int32(env, rc, &errno_v) == napi_ok)
		napi_set_named_property(env, err, "errno", errno_v);
	napi_throw(env, err);
}

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
	napi_value args[8];
	if (argc > 7)
		argc = 7;
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

/* ---- option readers ---- */

static int mws__opt_get(napi_env env, napi_value obj, const char *name, napi_value *v,
                        napi_valuetype *t)
{
	bool has = false;
	if (napi_has_named_property(env, obj, name, &has) != napi_ok) {
		mws_node_throw_last(env);
		return -1;
	}
	if (!has)
		return 0;
	if (napi_get_named_property(env, obj, name, v) != napi_ok ||
	    napi_typeof(env, *v, t) != napi_ok) {
		mws_node_throw_last(env);
		return -1;
	}
	return *t == napi_undefined ? 0 : 1;
}

static int mws__type_error(napi_env env, const char *name, const char *want)
{
	char msg[160];
	snprintf(msg, sizeof msg, "option %s must be %s", name, want);
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return -1;
}

int mws_node_opt_double(napi_env env, napi_value obj, const char *name, double *out)
{
	napi_value v;
	napi_valuetype t;
	int r = mws__opt_get(env, obj, name, &v, &t);
	if (r <= 0)
		return r;
	if (t != napi_number)
		return mws__type_error(env, name, "a number");
	napi_get_value_double(env, v, out);
	return 0;
}

int mws_node_opt_int(napi_env env, napi_value obj, const char *name, int *out)
{
	double d = *out;
	if (mws_node_opt_double(env, obj, name, &d))
		return -1;
	if (d != (double)(int)d || d < -2147483648.0 || d > 2147483647.0)
		return mws__type_error(env, name, "an integer");
	*out = (int)d;
	return 0;
}

int mws_node_opt_size(napi_env env, napi_value obj, const char *name, size_t *out)
{
	double d = (double)*out;
	if (mws_node_opt_double(env, obj, name, &d))
		return -1;
	if (d < 0 || d > 9007199254740991.0 || d != (double)(uint64_t)d)
		return mws__type_error(env, name, "a non-negative integer");
	*out = (size_t)d;
	return 0;
}

int mws_node_opt_bool(napi_env env, napi_value obj, const char *name, int *out)
{
	napi_value v;
	napi_valuetype t;
	int r = mws__opt_get(env, obj, name, &v, &t);
	if (r <= 0)
		return r;
	if (t != napi_boolean)
		return mws__type_error(env, name, "a boolean");
	bool b;
	napi_get_value_bool(env, v, &b);
	*out = b;
	return 0;
}

char *mws_node_string(napi_env env, napi_value v, size_t *len_out)
{
	size_t len = 0;
	if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
		mws_node_throw_last(env);
		return NULL;
	}
	char *s = malloc(len + 1);
	if (!s) {
		mws_node_throw_mws(env, MWS_ENOMEM, "string");
		return NULL;
	}
	napi_get_value_string_utf8(env, v, s, len + 1, &len);
	if (len_out)
		*len_out = len;
	return s;
}

int mws_node_opt_string(napi_env env, napi_value obj, const char *name, char **out)
{
	napi_value v;
	napi_valuetype t;
	*out = NULL;
	int r = mws__opt_get(env, obj, name, &v, &t);
	if (r <= 0 || t == napi_null)
		return r < 0 ? -1 : 0;
	if (t != napi_string)
		return mws__type_error(env, name, "a string");
	*out = mws_node_string(env, v, NULL);
	return *out ? 0 : -1;
}

int mws_node_bytes(napi_env env, napi_value v, const void **data, size_t *len, char **owned,
                   int *is_string)
{
	napi_valuetype t;
	*owned = NULL;
	*is_string = 0;
	if (napi_typeof(env, v, &t) != napi_ok) {
		mws_node_throw_last(env);
		return -1;
	}
	if (t == napi_string) {
		*owned = mws_node_string(env, v, len);
		if (!*owned)
			return -1;
		*data = *owned;
		*is_string = 1;
		return 0;
	}
	bool yes = false;
	void *p = NULL;
	if (napi_is_buffer(env, v, &yes) == napi_ok && yes) {
		napi_get_buffer_info(env, v, &p, len);
	} else if (napi_is_typedarray(env, v, &yes) == napi_ok && yes) {
		napi_typedarray_type tt;
		size_t n, off;
		napi_value ab;
		napi_get_typedarray_info(env, v, &tt, &n, &p, &ab, &off);
		size_t esz = 1;
		switch (tt) {
		case napi_int16_array:
		case napi_uint16_array:
			esz = 2;
			break;
		case napi_int32_array:
		case napi_uint32_array:
		case napi_float32_array:
			esz = 4;
			break;
		case napi_float64_array:
		case napi_bigint64_array:
		case napi_biguint64_array:
			esz = 8;
			break;
		default:
			break;
		}
		*len = n * esz;
	} else if (napi_is_dataview(env, v, &yes) == napi_ok && yes) {
		napi_value ab;
		size_t off;
		napi_get_dataview_info(env, v, len, &p, &ab, &off);
	} else if (napi_is_arraybuffer(env, v, &yes) == napi_ok && yes) {
		napi_get_arraybuffer_info(env, v, &p, len);
	} else {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
		                      "data must be a string, Buffer, ArrayBuffer or ArrayBufferView");
		return -1;
	}
	*data = p;
	return 0;
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
	if (argc < 1 || napi_typeof(env, fn, &t) != napi_ok || t != napi_function) {
		napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "dispatcher must be a function");
		return NULL;
	}
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
	if (!inst) {
		mws_node_throw_mws(env, MWS_ENOMEM, "init");
		return NULL;
	}
	if (napi_set_instance_data(env, inst, mws__inst_free, NULL) != napi_ok) {
		free(inst);
		mws_node_throw_last(env);
		return NULL;
	}
	napi_property_descriptor props[] = {
		{"setDispatcher", NULL, mws__set_dispatcher, NULL, NULL, NULL, napi_enumerable, NULL},
		{"liveCount", NULL, mws__live_count, NULL, NULL, NULL, napi_enumerable, NULL},
		{"version", NULL, mws__version, NULL, NULL, NULL, napi_enumerable, NULL},
		{"errName", NULL, mws__err_name, NULL, NULL, NULL, napi_enumerable, NULL},
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	if (!mws_node_client_init(env, exports))
		return NULL;
	if (!mws_node_server_init(env, exports))
		return NULL;
	return exports;
}

NAPI_MODULE_INIT() { return mws__init(env, exports); }
