/* ManagedWebSocket's credentials: headers, query and URL for the next
 * attempts, set from JS and applied by the credentials hook on the I/O
 * thread. With JS providers (options.credentials or a URL function) the
 * hook asks JS first (MWS_NODE_EV_CREDENTIALS) and answers
 * MWS_CREDENTIALS_PENDING; JS runs the providers, sets what they gave and
 * calls clientCredentialsReady, and the C client asks the hook again. So
 * every attempt uses its own provider answer, however slow. Also receive
 * flow control (clientPauseRx). */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "args.h"
#include "client.h"
#include "errors.h"
#include "events.h"

int mws_node_client_on_credentials(mws_client *c, mws_credentials *creds, void *ud)
{
	mws_node_client *nc = ud;
	int rc = 0;
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	pthread_mutex_lock(&nc->creds_lock);
	/* A new attempt (the last one timed out waiting): ask JS again. */
	if (nc->creds_waiting && nc->ask_attempt != st.attempts_total)
		nc->creds_waiting = 0;
	if (nc->defer_creds && nc->creds_waiting && nc->ready_seq != nc->ask_seq) {
		pthread_mutex_unlock(&nc->creds_lock);
		return MWS_CREDENTIALS_PENDING; /* JS has not answered this ask */
	}
	if (nc->defer_creds && !nc->creds_waiting) {
		/* JS providers answer first; they call clientCredentialsReady. */
		mws_node_ev *ev = mws_node_ev_new(MWS_NODE_EV_CREDENTIALS, NULL, 0);
		if (ev) {
			ev->id = ++nc->ask_seq;
			ev->attempt = mws_credentials_attempt(creds);
			ev->code = mws_credentials_last_http_status(creds);
		}
		if (ev && !mws_node_post(&nc->h, ev)) {
			nc->creds_waiting = 1;
			nc->ask_attempt = st.attempts_total;
			pthread_mutex_unlock(&nc->creds_lock);
			return MWS_CREDENTIALS_PENDING;
		}
		/* JS is going away: go on with what is set */
	}
	nc->creds_waiting = 0;
	if (nc->creds_url)
		rc = mws_credentials_set_url(creds, nc->creds_url);
	if (rc == 0 && nc->creds_query)
		rc = mws_credentials_set_query(creds, nc->creds_query);
	for (char *line = nc->creds_headers; rc == 0 && line && *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char *colon = memchr(line, ':', n);
		if (colon) {
			char name[256], value[4096];
			size_t nn = (size_t)(colon - line), vn = n - nn - 1;
			const char *v = colon + 1;
			while (vn && *v == ' ')
				v++, vn--;
			if (nn < sizeof name && vn < sizeof value) {
				memcpy(name, line, nn);
				name[nn] = 0;
				memcpy(value, v, vn);
				value[vn] = 0;
				rc = mws_credentials_set_header(creds, name, value);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	pthread_mutex_unlock(&nc->creds_lock);
	return rc ? -1 : 0;
}

/* clientSetCredentials(owner, headerLines|null, query|null, url|null|undefined):
 * used by the next connection attempt, and every one after, until
 * changed; an undefined url leaves the URL as it was. */
static napi_value mws__client_set_credentials(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	mws_node_client *nc = mws_node_client_this(env, info, 3, argv, 0);
	if (!nc)
		return NULL;
	char *h = NULL, *q = NULL, *u = NULL;
	napi_valuetype ut = napi_undefined;
	napi_typeof(env, argv[2], &ut);
	if (mws_node_string_or_null(env, argv[0], &h) || mws_node_string_or_null(env, argv[1], &q) ||
	    (ut != napi_undefined && mws_node_string_or_null(env, argv[2], &u))) {
		free(h);
		free(q);
		return NULL;
	}
	if ((h && strchr(h, '\r')) || (q && strpbrk(q, "\r\n")) || (u && strpbrk(u, "\r\n"))) {
		free(h);
		free(q);
		free(u);
		return mws_node_throw_mws(env, MWS_EINVAL, "setCredentials");
	}
	pthread_mutex_lock(&nc->creds_lock);
	free(nc->creds_headers);
	free(nc->creds_query);
	nc->creds_headers = h;
	nc->creds_query = q;
	if (ut != napi_undefined) {
		free(nc->creds_url);
		nc->creds_url = u;
	}
	pthread_mutex_unlock(&nc->creds_lock);
	return NULL;
}

/* clientPauseRx(owner, paused): receive flow control (mws_client_pause_rx). */
static napi_value mws__client_pause_rx(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 1);
	if (!nc)
		return NULL;
	bool b = false;
	napi_get_value_bool(env, argv[0], &b);
	return mws_node_check(env, mws_client_pause_rx(nc->c, b ? 1 : 0), "pause");
}

/* clientDeferCredentials(owner, on): JS providers answer every attempt. */
static napi_value mws__client_defer_credentials(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 0);
	if (!nc)
		return NULL;
	bool on = false;
	napi_get_value_bool(env, argv[0], &on);
	pthread_mutex_lock(&nc->creds_lock);
	nc->defer_creds = on;
	pthread_mutex_unlock(&nc->creds_lock);
	return NULL;
}

/* clientCredentialsReady(owner, seq): the providers answered ask `seq`
 * (what they gave is set already): the waiting attempt goes on. */
static napi_value mws__client_credentials_ready(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	mws_node_client *nc = mws_node_client_this(env, info, 1, argv, 0);
	if (!nc)
		return NULL;
	double seq = 0;
	napi_get_value_double(env, argv[0], &seq);
	pthread_mutex_lock(&nc->creds_lock);
	if ((uint64_t)seq > nc->ready_seq)
		nc->ready_seq = (uint64_t)seq;
	pthread_mutex_unlock(&nc->creds_lock);
	if (nc->c)
		mws_client_credentials_ready(nc->c); /* MWS_ECLOSED once closed: nothing waits */
	return NULL;
}

napi_value mws_node_client_creds_init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		MWS_NODE_FN("clientSetCredentials", mws__client_set_credentials),
		MWS_NODE_FN("clientDeferCredentials", mws__client_defer_credentials),
		MWS_NODE_FN("clientCredentialsReady", mws__client_credentials_ready),
		MWS_NODE_FN("clientPauseRx", mws__client_pause_rx),
	};
	NAPI_OK(env, napi_define_properties(env, exports, sizeof props / sizeof *props, props));
	return exports;
}
