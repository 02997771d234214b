/* node_api.h at the Node-API version the addon is written for. Every file
 * includes this, never <node_api.h> itself, so all see one NAPI_VERSION. */
#ifndef MWS_NODE_API_PIN_H
#define MWS_NODE_API_PIN_H

#define NAPI_VERSION 8
#include <node_api.h>

#endif
