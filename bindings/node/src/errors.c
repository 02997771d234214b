/* JavaScript errors thrown by the addon. */
#include <stdio.h>

#include "errors.h"
#include "managedws.h"

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

napi_value mws_node_error(napi_env env, const char *code, const char *message)
{
	napi_value c = NULL, m, err;
	if ((code && napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok) ||
	    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m) != napi_ok ||
	    napi_create_error(env, c, m, &err) != napi_ok)
		return NULL;
	return err;
}

napi_value mws_node_throw_mws(napi_env env, int rc, const char *what)
{
	char msg[256];
	snprintf(msg, sizeof msg, "%s: %s", what, mws_strerror(rc));
	napi_value err = mws_node_error(env, mws_err_name(rc), msg);
	if (!err) {
		mws_node_throw_last(env);
		return NULL;
	}
	napi_value errno_v;
	if (napi_create_int32(env, rc, &errno_v) == napi_ok)
		napi_set_named_property(env, err, "errno", errno_v);
	napi_throw(env, err);
	return NULL;
}

napi_value mws_node_check(napi_env env, int rc, const char *what)
{
	return rc ? mws_node_throw_mws(env, rc, what) : NULL;
}

napi_value mws_node_throw_type(napi_env env, const char *message)
{
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
	return NULL;
}
