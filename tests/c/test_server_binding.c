/* Where the server listens: the interface it binds, a port held by another
 * server or freed by one, and what a plain socket may bind afterwards. */
#include "server_our_client.h"

Test(server, loopback_iface_binds_only_that_address_and_serves_http)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	/* 127.0.0.2 is loopback too, but nothing listens there */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	cr_expect_neq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	close(fd);
	char body[4096];
	cr_expect_eq(http_get(port, "/healthz", body, sizeof body), 200);
	cr_expect_str_eq(body, "ok\n");
	cr_expect_eq(http_get(port, "/nothing", NULL, 0), 404);
	cr_expect_eq(http_get(port, "/metrics", body, sizeof body), 200);
	cr_expect(strstr(body, "mws_server_connections 0\n") != NULL);
	/* a second server on the same context and I/O thread */
	rec r2;
	rec_init(&r2);
	mws_server *srv2 = rec_server(ctx, NULL, &r2);
	cr_expect_neq(mws_server_port(srv2), port);
	cr_expect_eq(http_get(mws_server_port(srv2), "/healthz", body, sizeof body), 200);
	cr_expect_eq(ws_handshake_status(NULL, mws_server_port(srv2), NULL), 101);
	cr_expect(wait_at_least(&r2.connects, 1, 5000));
	cr_expect_eq(atomic_load(&r.connects), 0);
	mws_server_free(srv);
	cr_expect_eq(http_get(mws_server_port(srv2), "/healthz", body, sizeof body), 200);
	mws_server_free(srv2);
	mws_ctx_free(ctx);
}

/* A started server on 127.0.0.1:`port` (0: any), or NULL with *rc set. */
static mws_server *server_on(mws_ctx *ctx, const char *iface, int port, rec *r, int *rc)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = iface;
	cfg.port = port;
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, ctx, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, rec_on_auth, rec_on_connect, rec_on_message,
	                            rec_on_disconnect};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, r, NULL), 0);
	*rc = mws_server_start(srv);
	if (*rc) {
		cr_expect_eq(mws_server_port(srv), 0);
		mws_server_free(srv);
		return NULL;
	}
	return srv;
}

Test(server, freed_servers_port_serves_a_new_server_in_the_same_process)
{
	mws_ctx *ctx = new_ctx();
	int port = 0;
	for (int round = 0; round < 3; round++) {
		rec r;
		rec_init(&r);
		r.echo = 1;
		int rc;
		mws_server *srv = server_on(ctx, "127.0.0.1", port, &r, &rc);
		cr_assert_eq(rc, 0, "round %d: %s", round, mws_strerror(rc));
		if (!port)
			port = mws_server_port(srv);
		cr_assert_eq(mws_server_port(srv), port);
		client_rec cr = {0};
		mws_client *c = our_client(ctx, port, "/", &cr, NULL);
		cr_assert(wait_at_least(&cr.connected, 1, 5000), "round %d: no handshake", round);
		cr_assert_eq(mws_client_send(c, "again", 5, MWS_MSG_TEXT), 0);
		cr_assert(wait_at_least(&cr.messages, 1, 5000), "round %d: no echo", round);
		pthread_mutex_lock(&cr.lock);
		cr_expect_str_eq(cr.last_msg, "again");
		pthread_mutex_unlock(&cr.lock);
		cr_expect_eq(atomic_load(&r.connects), 1);
		mws_client_free(c);
		mws_server_free(srv);
	}
	mws_ctx_free(ctx);
}

Test(server, port_held_by_a_live_server_is_refused_with_elisten)
{
	mws_ctx *ctx = new_ctx();
	rec r, r2;
	rec_init(&r);
	rec_init(&r2);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	int rc;
	cr_expect_null(server_on(ctx, "127.0.0.1", port, &r2, &rc));
	cr_expect_eq(rc, MWS_ELISTEN, "%s", mws_strerror(rc));
	/* every interface includes 127.0.0.1 */
	cr_expect_null(server_on(ctx, NULL, port, &r2, &rc));
	cr_expect_eq(rc, MWS_ELISTEN, "%s", mws_strerror(rc));
	/* the first one is unharmed, and nobody else took its connections */
	cr_expect_eq(ws_handshake_status(NULL, port, NULL), 101);
	cr_expect(wait_at_least(&r.connects, 1, 5000));
	cr_expect_eq(atomic_load(&r2.connects), 0);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

Test(server, iface_that_cannot_be_bound_is_refused_with_elisten)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	int rc;
	/* TEST-NET-1: not an address of this host; only bind() is tried */
	cr_expect_null(server_on(ctx, "192.0.2.1", 0, &r, &rc));
	cr_expect_eq(rc, MWS_ELISTEN, "%s", mws_strerror(rc));
	cr_expect_null(server_on(ctx, "no-such-if0", 0, &r, &rc));
	cr_expect_eq(rc, MWS_ELISTEN, "%s", mws_strerror(rc));
	/* an interface name works: lo's first IPv4 address */
	mws_server *srv = server_on(ctx, "lo", 0, &r, &rc);
	cr_assert_eq(rc, 0, "%s", mws_strerror(rc));
	cr_expect_eq(ws_handshake_status(NULL, mws_server_port(srv), NULL), 101);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}

static int plain_listen(int port, int reuseaddr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	if (reuseaddr)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 1) ? -errno : 0;
	close(fd);
	return rc;
}

Test(server, port_can_be_bound_by_a_plain_socket_once_free_returns)
{
	mws_ctx *ctx = new_ctx();
	rec r;
	rec_init(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int port = mws_server_port(srv);
	mws_server_free(srv);
	/* no SO_REUSEADDR: nothing may hold the port */
	int rc = plain_listen(port, 0);
	cr_expect_eq(rc, 0, "%s", strerror(-rc));

	/* after a connection, as any server binds (SO_REUSEADDR: the closed
	 * connection may sit in TIME_WAIT on this port) */
	srv = rec_server(ctx, NULL, &r);
	port = mws_server_port(srv);
	client_rec cr = {0};
	mws_client *c = our_client(ctx, port, "/", &cr, NULL);
	cr_assert(wait_at_least(&cr.connected, 1, 5000));
	mws_server_free(srv);
	rc = plain_listen(port, 1);
	cr_expect_eq(rc, 0, "%s", strerror(-rc));
	mws_client_free(c);
	mws_ctx_free(ctx);
}
