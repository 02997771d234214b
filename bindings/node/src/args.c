/* Reading JavaScript values into C. */
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "errors.h"
#include "managedws.h"

#define MWS__MAX_SAFE_INTEGER 9007199254740991.0 /* 2^53 - 1 */

/* ---- options ---- */

/* 1 with *v when obj has the option (not undefined), 0 when not, -1 after
 * throwing. */
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
	mws_node_throw_type(env, msg);
	return -1;
}

/* As mws__opt_get, but a present option must be of type `want`. */
static int mws__opt_typed(napi_env env, napi_value obj, const char *name, napi_valuetype want,
                          const char *want_text, napi_value *v)
{
	napi_valuetype t;
	int r = mws__opt_get(env, obj, name, v, &t);
	if (r > 0 && t != want)
		return mws__type_error(env, name, want_text);
	return r;
}

static int mws__opt_double(napi_env env, napi_value obj, const char *name, double *out)
{
	napi_value v;
	int r = mws__opt_typed(env, obj, name, napi_number, "a number", &v);
	if (r > 0)
		napi_get_value_double(env, v, out);
	return r < 0 ? -1 : 0;
}

static int mws__opt_bool(napi_env env, napi_value obj, const char *name, int *out)
{
	napi_value v;
	int r = mws__opt_typed(env, obj, name, napi_boolean, "a boolean", &v);
	if (r > 0) {
		bool b;
		napi_get_value_bool(env, v, &b);
		*out = b;
	}
	return r < 0 ? -1 : 0;
}

static int mws__opt_int(napi_env env, napi_value obj, const char *name, int *out)
{
	double d = *out;
	if (mws__opt_double(env, obj, name, &d))
		return -1;
	if (d != (double)(int)d || d < -2147483648.0 || d > 2147483647.0)
		return mws__type_error(env, name, "an integer");
	*out = (int)d;
	return 0;
}

static int mws__opt_size(napi_env env, napi_value obj, const char *name, size_t *out)
{
	double d = (double)*out;
	if (mws__opt_double(env, obj, name, &d))
		return -1;
	if (d < 0 || d > MWS__MAX_SAFE_INTEGER || d != (double)(uint64_t)d)
		return mws__type_error(env, name, "a non-negative integer");
	*out = (size_t)d;
	return 0;
}

static int mws__opt_seed(napi_env env, napi_value obj, const char *name, uint64_t *out)
{
	double d = (double)*out;
	if (mws__opt_double(env, obj, name, &d))
		return -1;
	if (d < 0 || d > MWS__MAX_SAFE_INTEGER) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s out of range", name);
		napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
		return -1;
	}
	*out = (uint64_t)d;
	return 0;
}

static int mws__opt_string(napi_env env, napi_value obj, const char *name, const char **out)
{
	napi_value v;
	napi_valuetype t;
	int r = mws__opt_get(env, obj, name, &v, &t);
	if (r <= 0 || t == napi_null)
		return r < 0 ? -1 : 0;
	if (t != napi_string)
		return mws__type_error(env, name, "a string");
	*out = mws_node_string(env, v, NULL);
	return *out ? 0 : -1;
}

int mws_node_opts_read(napi_env env, napi_value obj, const mws_node_opt *table, size_t n,
                       void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = table[i].name;
		void *f = (char *)cfg + table[i].offset;
		int r = -1;
		switch (table[i].kind) {
		case MWS_NODE_OPT_INT:
			r = mws__opt_int(env, obj, name, f);
			break;
		case MWS_NODE_OPT_BOOL:
			r = mws__opt_bool(env, obj, name, f);
			break;
		case MWS_NODE_OPT_SIZE:
			r = mws__opt_size(env, obj, name, f);
			break;
		case MWS_NODE_OPT_DOUBLE:
			r = mws__opt_double(env, obj, name, f);
			break;
		case MWS_NODE_OPT_STRING:
			r = mws__opt_string(env, obj, name, f);
			break;
		case MWS_NODE_OPT_SEED:
			r = mws__opt_seed(env, obj, name, f);
			break;
		}
		if (r)
			return -1;
	}
	return 0;
}

void mws_node_opts_free(const mws_node_opt *table, size_t n, void *cfg)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].kind != MWS_NODE_OPT_STRING)
			continue;
		const char **f = (const char **)((char *)cfg + table[i].offset);
		free((char *)*f);
		*f = NULL;
	}
}

/* ---- arguments ---- */

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

static int mws__is(napi_env env, napi_value v, napi_valuetype want)
{
	napi_valuetype t;
	return napi_typeof(env, v, &t) == napi_ok && t == want;
}

int mws_node_string_or_null(napi_env env, napi_value v, char **out)
{
	*out = NULL;
	if (!mws__is(env, v, napi_string))
		return 0;
	*out = mws_node_string(env, v, NULL);
	return *out ? 0 : -1;
}

void mws_node_int32_or(napi_env env, napi_value v, int32_t *out)
{
	if (mws__is(env, v, napi_number))
		napi_get_value_int32(env, v, out);
}

static size_t mws__typedarray_element_size(napi_typedarray_type t)
{
	switch (t) {
	case napi_int16_array:
	case napi_uint16_array:
		return 2;
	case napi_int32_array:
	case napi_uint32_array:
	case napi_float32_array:
		return 4;
	case napi_float64_array:
	case napi_bigint64_array:
	case napi_biguint64_array:
		return 8;
	default:
		return 1;
	}
}

/* The bytes of a Buffer, TypedArray, DataView or ArrayBuffer. */
static int mws__bytes(napi_env env, napi_value v, const void **data, size_t *len)
{
	bool yes = false;
	void *p = NULL;
	napi_value ab;
	size_t off;
	if (napi_is_buffer(env, v, &yes) == napi_ok && yes) {
		napi_get_buffer_info(env, v, &p, len);
	} else if (napi_is_typedarray(env, v, &yes) == napi_ok && yes) {
		napi_typedarray_type tt;
		size_t n;
		napi_get_typedarray_info(env, v, &tt, &n, &p, &ab, &off);
		*len = n * mws__typedarray_element_size(tt);
	} else if (napi_is_dataview(env, v, &yes) == napi_ok && yes) {
		napi_get_dataview_info(env, v, len, &p, &ab, &off);
	} else if (napi_is_arraybuffer(env, v, &yes) == napi_ok && yes) {
		napi_get_arraybuffer_info(env, v, &p, len);
	} else {
		mws_node_throw_type(env, "data must be a string, Buffer, ArrayBuffer or ArrayBufferView");
		return -1;
	}
	*data = p;
	return 0;
}

int mws_node_msg_get(napi_env env, napi_value data, napi_value binary, mws_node_msg *m)
{
	napi_valuetype t;
	m->owned = NULL;
	if (napi_typeof(env, data, &t) != napi_ok) {
		mws_node_throw_last(env);
		return -1;
	}
	if (t == napi_string) {
		if (!(m->owned = mws_node_string(env, data, &m->len)))
			return -1;
		m->data = m->owned;
		m->type = MWS_MSG_TEXT;
	} else {
		if (mws__bytes(env, data, &m->data, &m->len))
			return -1;
		m->type = MWS_MSG_BINARY;
	}
	if (mws__is(env, binary, napi_boolean)) {
		bool b;
		napi_get_value_bool(env, binary, &b);
		m->type = b ? MWS_MSG_BINARY : MWS_MSG_TEXT;
	}
	return 0;
}

void mws_node_msg_free(mws_node_msg *m)
{
	free(m->owned);
	m->owned = NULL;
}
