/* Events from the I/O thread to JavaScript. */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "handle.h"
#include "managedws.h"

mws_node_ev *mws_node_ev_new(int kind, const void *data, size_t len)
{
	mws_node_ev *ev = malloc(sizeof *ev + len + 1);
	if (!ev)
		return NULL;
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->len = len;
	if (data && len)
		memcpy(ev->data, data, len);
	ev->data[len] = 0;
	return ev;
}

int mws_node_post(mws_node_handle *h, mws_node_ev *ev)
{
	if (ev && h->tsfn &&
	    napi_call_threadsafe_function(h->tsfn, ev, napi_tsfn_nonblocking) == napi_ok)
		return 0;
	free(ev);
	return -1;
}

void mws_node_call_js(napi_env env, napi_value js_cb, void *context, void *data)
{
	(void)js_cb;
	mws_node_handle *h = context;
	mws_node_ev *ev = data;
	napi_handle_scope scope;
	/* env is NULL when the environment is torn down with events queued. */
	if (!env || !h->owner || napi_open_handle_scope(env, &scope) != napi_ok) {
		free(ev);
		return;
	}
	napi_value owner = NULL;
	napi_get_reference_value(env, h->owner, &owner);
	h->ops->deliver(h, env, owner, ev);
	free(ev);
	napi_close_handle_scope(env, scope);
}

void mws_node_ev_message(napi_env env, const mws_node_ev *ev, napi_value out[2])
{
	int binary = ev->type != MWS_MSG_TEXT;
	if (binary)
		napi_create_buffer_copy(env, ev->len, ev->data, NULL, &out[0]);
	else
		napi_create_string_utf8(env, ev->data, ev->len, &out[0]);
	napi_get_boolean(env, binary, &out[1]);
}

/* Each message: a 4-byte length (host order), a type byte, the bytes. */
#define MWS__EV_MSG_HEAD 5

mws_node_ev *mws_node_ev_messages(const mws_message *msgs, size_t count)
{
	size_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += MWS__EV_MSG_HEAD + msgs[i].len;
	mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_MESSAGES, NULL, total);
	if (!ev)
		return NULL;
	char *p = ev->data;
	for (size_t i = 0; i < count; i++) {
		uint32_t len = (uint32_t)msgs[i].len; /* max_message_bytes < 4 GiB */
		memcpy(p, &len, sizeof len);
		p[4] = (char)msgs[i].type;
		memcpy(p + MWS__EV_MSG_HEAD, msgs[i].data, len);
		p += MWS__EV_MSG_HEAD + len;
	}
	ev->id = count;
	return ev;
}

void mws_node_ev_messages_array(napi_env env, const mws_node_ev *ev, napi_value *out)
{
	uint32_t n = (uint32_t)ev->id;
	napi_create_array_with_length(env, (size_t)n * 2, out);
	const char *p = ev->data;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len;
		memcpy(&len, p, sizeof len);
		int binary = (unsigned char)p[4] != MWS_MSG_TEXT;
		const char *bytes = p + MWS__EV_MSG_HEAD;
		napi_value v[2];
		if (binary)
			napi_create_buffer_copy(env, len, bytes, NULL, &v[0]);
		else
			napi_create_string_utf8(env, bytes, len, &v[0]);
		napi_get_boolean(env, binary, &v[1]);
		napi_set_element(env, *out, 2 * i, v[0]);
		napi_set_element(env, *out, 2 * i + 1, v[1]);
		p = bytes + len;
	}
}
