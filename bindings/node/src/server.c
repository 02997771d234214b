/* The server half of the addon: filled in once mws_server_* lands in
 * include/managedws.h. */
#include "addon.h"

napi_value mws_node_server_init(napi_env env, napi_value exports)
{
	(void)env;
	return exports;
}
