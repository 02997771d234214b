/* A send from on_message is written at once while the socket stayed quiet
 * (no change to its poll events since the last WRITEABLE: libwebsockets
 * owes no pong), else at the next WRITEABLE. These tests make the socket
 * quiet first (round trips answered from the callback), then read a ping
 * before a message in one read: the pong libwebsockets owes must still
 * leave before the echo, at both ends. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "raw_peer.h"
#include "raw_ws.h"

/* ---- server: our echo from on_message, a raw client ---- */

/* The first echo goes at WRITEABLE; after a few the socket is quiet. */
static void quiet_then_pong_first(const unsigned char *frames, size_t n, const char *want)
{
	raw_expect_pong_then_echo(frames, n, want, 5);
}

Test(send_path_quiet, server_a_ping_before_a_message_on_a_quiet_socket_is_answered_first,
     .timeout = 30)
{
	unsigned char f[128];
	size_t n = raw_ws_frame(f, 0x9, "ping", 4, 1);
	n += raw_ws_frame(f + n, 0x1, "message", 7, 1);
	quiet_then_pong_first(f, n, "message");
}

Test(send_path_quiet, server_a_ping_between_fragments_on_a_quiet_socket_is_answered_first,
     .timeout = 30)
{
	unsigned char f[128];
	size_t n = raw_ws_frame(f, 0x1, "frag1", 5, 1);
	f[0] &= 0x7f; /* not the last fragment */
	n += raw_ws_frame(f + n, 0x9, "ping", 4, 1);
	n += raw_ws_frame(f + n, 0x0, "frag2", 5, 1);
	quiet_then_pong_first(f, n, "frag1frag2");
}

/* ---- client: our echo from on_message, a raw server (ping-order) ---- */

typedef struct verdicts {
	char text[2][32];
	atomic_int n;
} verdicts;

/* Echoes everything from the callback but the server's verdicts. */
static void echo_from_callback(mws_client *c, const void *d, size_t n, int t, void *ud)
{
	verdicts *v = ud;
	if (n > 6 && n < sizeof v->text[0] && !memcmp(d, "order:", 6)) {
		int i = atomic_load(&v->n);
		if (i < 2) {
			memcpy(v->text[i], d, n);
			v->text[i][n] = '\0';
			atomic_store(&v->n, i + 1);
		}
		return;
	}
	mws_client_send(c, d, n, t);
}

static raw_peer peer;

static void stop_peer(void) { raw_peer_stop(&peer); }

Test(send_path_quiet, client_a_ping_read_before_a_message_on_a_quiet_socket_is_answered_first,
     .timeout = 30, .fini = stop_peer)
{
	int port = raw_peer_start(&peer, "ping-order", NULL);
	char url[64];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/", port);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.protocol_mode = MWS_PROTOCOL_PLAIN;
	cfg.heartbeat_mode = MWS_HEARTBEAT_OFF; /* no pings of ours in the peer's count */
	verdicts v = {.n = 0};
	mws_client *c;
	cr_assert_eq(mws_client_new(&c, NULL, url, &cfg), 0);
	mws_client_callbacks cbs = {sizeof cbs, NULL, echo_from_callback, NULL};
	cr_assert_eq(mws_client_set_callbacks(c, &cbs, &v, NULL), 0);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(wait_at_least(&v.n, 2, 10000), "%d verdicts", atomic_load(&v.n));
	cr_expect_str_eq(v.text[0], "order:A:pong-first", "ping, then a message");
	cr_expect_str_eq(v.text[1], "order:B:pong-first", "a ping between fragments");
	mws_client_free(c);
}
