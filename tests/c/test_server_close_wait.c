/*
 * The server's close handshake: after its close frame the server waits for
 * the peer's answer before it drops the socket. It used to ask for the
 * close twice (a second WRITEABLE), and libwebsockets then dropped the
 * socket at once: what the peer still had in flight met a closed socket,
 * and the reset that answered it could destroy the server's last frames
 * (a goaway) before the peer read them (seen through the delaying proxy).
 */
#include "raw_ws.h"

Test(server_close_wait, the_socket_stays_open_until_the_peer_answers_the_close)
{
	rec r;
	mws_ctx *ctx = rec_ctx(&r);
	mws_server *srv = rec_server(ctx, NULL, &r);
	int fd = raw_ws_open(NULL, mws_server_port(srv), NULL);
	cr_assert_geq(fd, 0);
	cr_assert(wait_at_least(&r.connects, 1, 5000));
	cr_assert_eq(mws_server_close(srv, rec_last_id(&r), 4100, "bye"), 0);
	char reason[64];
	cr_assert_eq(raw_ws_read_close(fd, reason, sizeof reason, 5000), 4100);
	/* no answer yet: the server must still hold the connection open */
	cr_expect_eq(mws_test_wait_readable(fd, 300), 0,
	             "the server dropped the socket before the close answer");
	cr_assert_eq(raw_ws_send(fd, 8, "\x10\x04", 2, 1), 0);
	/* now it closes: EOF (or a reset) */
	cr_expect_gt(mws_test_wait_readable(fd, 5000), 0);
	close(fd);
	mws_server_free(srv);
	mws_ctx_free(ctx);
}
