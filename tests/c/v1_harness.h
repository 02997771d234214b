/* Test support for mws.v1 between our client and our server: numbered
 * messages both ways (8-byte big-endian numbers from 1), receivers that
 * count anything lost, duplicated or out of order, and a pump that sends
 * both streams with backpressure while a fault hook runs. */
#ifndef MWS_TEST_V1_HARNESS_H
#define MWS_TEST_V1_HARNESS_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "managedws.h"
#include "peer.h"

typedef struct v1_app {
	mws_ctx *ctx;
	mws_server *srv;
	mws_client *cli;
	mws_fault_proxy *px;
	atomic_uint_least64_t srv_id;                 /* the session's id */
	atomic_int connects, disconnects, suspended, resumed, last_why;
	atomic_uint_least64_t s_got, s_bad;           /* server, from the client */
	atomic_uint_least64_t c_got, c_bad;           /* client, from the server */
	atomic_int started, c_resumed, lost, connected;
	atomic_uint_least64_t acked;                  /* last on_acked */
	pthread_mutex_t mu;
	mws_session_info lost_info;
} v1_app;

static inline void v1_num(unsigned char b[8], uint64_t n)
{
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (56 - 8 * i));
}

static inline int v1_check(const void *d, size_t len, atomic_uint_least64_t *got,
                           atomic_uint_least64_t *bad)
{
	if (len != 8) {
		atomic_fetch_add(bad, 1);
		return -1;
	}
	const unsigned char *b = d;
	uint64_t n = 0;
	for (int i = 0; i < 8; i++)
		n = n << 8 | b[i];
	if (n == atomic_load(got) + 1)
		atomic_fetch_add(got, 1);
	else if (atomic_fetch_add(bad, 1) < 5 && getenv("V1_DEBUG"))
		fprintf(stderr, "bad: got %llu expected %llu\n", (unsigned long long)n,
		        (unsigned long long)atomic_load(got) + 1);
	return 0;
}

static void v1_s_connect(mws_server *s, mws_conn_id id, const mws_conn_info *i, void *u)
{
	(void)s, (void)i;
	v1_app *a = u;
	atomic_store(&a->srv_id, id);
	atomic_fetch_add(&a->connects, 1);
}

static void v1_s_message(mws_server *s, mws_conn_id id, const void *d, size_t n, int t, void *u)
{
	(void)s, (void)id, (void)t;
	v1_app *a = u;
	v1_check(d, n, &a->s_got, &a->s_bad);
}

static void v1_s_disconnect(mws_server *s, mws_conn_id id, int code, const char *r, int why,
                            void *u)
{
	(void)s, (void)id, (void)code, (void)r;
	v1_app *a = u;
	atomic_store(&a->last_why, why);
	atomic_fetch_add(&a->disconnects, 1);
}

static void v1_s_session(mws_server *s, mws_conn_id id, int ev, void *u)
{
	(void)s, (void)id;
	v1_app *a = u;
	if (ev == MWS_SESSION_SUSPENDED)
		atomic_fetch_add(&a->suspended, 1);
	if (ev == MWS_SESSION_RESUMED)
		atomic_fetch_add(&a->resumed, 1);
}

static void v1_c_message(mws_client *c, const void *d, size_t n, int t, void *u)
{
	(void)c, (void)t;
	v1_app *a = u;
	v1_check(d, n, &a->c_got, &a->c_bad);
}

static void v1_c_state(mws_client *c, const mws_state_change *ch, void *u)
{
	(void)c;
	v1_app *a = u;
	if (ch->to == MWS_STATE_CONNECTED)
		atomic_fetch_add(&a->connected, 1);
}

static void v1_c_session(mws_client *c, const mws_session_info *i, void *u)
{
	(void)c;
	v1_app *a = u;
	if (i->event == MWS_SESSION_STARTED)
		atomic_fetch_add(&a->started, 1);
	if (i->event == MWS_SESSION_RESUMED)
		atomic_fetch_add(&a->c_resumed, 1);
	if (i->event == MWS_SESSION_LOST) {
		pthread_mutex_lock(&a->mu);
		a->lost_info = *i;
		pthread_mutex_unlock(&a->mu);
		atomic_fetch_add(&a->lost, 1);
	}
}

static void v1_c_acked(mws_client *c, uint64_t n, void *u)
{
	(void)c;
	v1_app *a = u;
	atomic_store(&a->acked, n);
}

/* A started server with the application's callbacks, on a's context: node
 * A (v1_server_start), or another node of the same application. */
static inline mws_server *v1_node(v1_app *a, mws_server_config *cfg)
{
	mws_server *s = NULL;
	cr_assert_eq(mws_server_new(&s, a->ctx, cfg), 0);
	mws_server_callbacks cb = {sizeof cb};
	cb.on_connect = v1_s_connect;
	cb.on_message = v1_s_message;
	cb.on_disconnect = v1_s_disconnect;
	cb.on_session = v1_s_session;
	cr_assert_eq(mws_server_set_callbacks(s, &cb, a, NULL), 0);
	cr_assert_eq(mws_server_start(s), 0);
	return s;
}

static inline void v1_server_start(v1_app *a, mws_server_config *cfg)
{
	a->srv = v1_node(a, cfg);
}

static inline void v1_client_start(v1_app *a, int port, mws_client_config *cfg)
{
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	cr_assert_eq(mws_client_new(&a->cli, a->ctx, url, cfg), 0);
	mws_client_callbacks cb = {sizeof cb};
	cb.on_state = v1_c_state;
	cb.on_message = v1_c_message;
	cb.on_session = v1_c_session;
	cb.on_acked = v1_c_acked;
	cr_assert_eq(mws_client_set_callbacks(a->cli, &cb, a, NULL), 0);
	cr_assert_eq(mws_client_connect(a->cli), 0);
}

/* The load balancer: a->px in front of the server on port, and the client
 * connected through it. */
static inline void v1_client_via_proxy(v1_app *a, int port, mws_client_config *cfg)
{
	cr_assert_eq(mws_fault_proxy_start(&a->px, "127.0.0.1", 0, "127.0.0.1", port), 0);
	v1_client_start(a, mws_fault_proxy_port(a->px), cfg);
}

/* The client's connection is cut and it lands on the server on port. */
static inline void v1_move(v1_app *a, int port)
{
	cr_assert_eq(mws_fault_proxy_set_upstream(a->px, "127.0.0.1", port), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_RESET, 0), 0);
	cr_assert_eq(mws_fault_proxy_set_mode(a->px, MWS_FAULT_PASS, 0), 0);
}

static inline void v1_init(v1_app *a)
{
	memset(a, 0, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	cr_assert_eq(mws_ctx_new(&a->ctx, NULL), 0);
}

static inline void v1_fini(v1_app *a)
{
	mws_client_free(a->cli);
	mws_server_free(a->srv);
	mws_fault_proxy_stop(a->px);
	mws_ctx_free(a->ctx);
	pthread_mutex_destroy(&a->mu);
}

typedef struct v1_watch {
	atomic_uint_least64_t *u64;
	atomic_int *i;
	uint64_t want;
} v1_watch;

static inline bool v1_watch_reached(void *arg)
{
	v1_watch *w = arg;
	uint64_t v = w->u64 ? atomic_load(w->u64) : (uint64_t)atomic_load(w->i);
	return v >= w->want;
}

static inline bool v1_ge(atomic_uint_least64_t *v, uint64_t n, int timeout_ms)
{
	v1_watch w = {v, NULL, n};
	return mws_test_wait_until(v1_watch_reached, &w, timeout_ms);
}

static inline bool v1_int_ge(atomic_int *v, int n, int timeout_ms)
{
	v1_watch w = {NULL, v, n > 0 ? (uint64_t)n : 0};
	return mws_test_wait_until(v1_watch_reached, &w, timeout_ms);
}

/* Called once both streams delivered n * quarter / 4 (quarter = 1..3),
 * before anything past that is sent: each fault meets a live, caught-up
 * connection. (Called once the client had queued that much, a fast queue
 * took all n at once and the pump could end before the later faults.) */
typedef void (*v1_fault_fn)(v1_app *a, int quarter);

/* Sends 1..n from the client and 1..n from the server to the session,
 * retrying on MWS_EQUEUEFULL, until both sides received all of it or
 * timeout_ms passed. */
static inline void v1_pump(v1_app *a, uint64_t n, v1_fault_fn fault, int timeout_ms)
{
	uint64_t cs = 0, ss = 0, end = mws_test_now_ms() + (uint64_t)timeout_ms;
	int quarter = 1;
	unsigned char b[8];
	while ((atomic_load(&a->s_got) < n || atomic_load(&a->c_got) < n) &&
	       mws_test_now_ms() < end) {
		int progress = 0;
		/* up to the next fault's mark, or all */
		uint64_t upto = fault && quarter <= 3 ? n * (uint64_t)quarter / 4 : n;
		while (cs < upto) {
			v1_num(b, cs + 1);
			int rc = mws_client_send(a->cli, b, 8, MWS_MSG_BINARY);
			if (rc == MWS_EQUEUEFULL)
				break;
			cr_assert_eq(rc, 0, "client send: %s", mws_err_name(rc));
			cs++;
			progress = 1;
		}
		while (ss < upto) {
			v1_num(b, ss + 1);
			int rc = mws_server_send(a->srv, atomic_load(&a->srv_id), b, 8, MWS_MSG_BINARY);
			if (rc == MWS_EQUEUEFULL)
				break;
			cr_assert_eq(rc, 0, "server send: %s", mws_err_name(rc));
			ss++;
			progress = 1;
		}
		if (upto < n && atomic_load(&a->s_got) >= upto && atomic_load(&a->c_got) >= upto) {
			fault(a, quarter++);
			progress = 1;
		}
		if (!progress)
			usleep(1000);
	}
}

#endif
