/* The server side of reassembly: a raw-socket client sends messages made
 * only of empty fragments; each arrives as an empty message with a non-NULL
 * pointer (libwebsockets hands over NULL for an empty frame). */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <unistd.h>

#include "managedws.h"
#include "peer.h"

static atomic_int msgs, null_msgs, texts, binaries;

static void on_message(mws_server *srv, mws_conn_id id, const void *data, size_t len,
                       int type, void *ud)
{
	(void)srv, (void)id, (void)ud;
	if (!data)
		atomic_fetch_add(&null_msgs, 1);
	if (len == 0)
		atomic_fetch_add(type == MWS_MSG_TEXT ? &texts : &binaries, 1);
	atomic_fetch_add(&msgs, 1);
}

static bool three_msgs(void *arg)
{
	(void)arg;
	return atomic_load(&msgs) >= 3;
}

/* A masked frame (mask key 0: valid, and the payload stays readable). */
static size_t frame(unsigned char *out, int fin, int opcode, const char *payload)
{
	size_t n = strlen(payload);
	out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	out[1] = (unsigned char)(0x80 | n);
	memset(out + 2, 0, 4);
	memcpy(out + 6, payload, n);
	return 6 + n;
}

Test(server_empty_fragments, empty_fragments_arrive_as_an_empty_message)
{
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.iface = "127.0.0.1";
	mws_server *srv = NULL;
	cr_assert_eq(mws_server_new(&srv, NULL, &cfg), 0);
	mws_server_callbacks cbs = {sizeof cbs, NULL, NULL, on_message, NULL};
	cr_assert_eq(mws_server_set_callbacks(srv, &cbs, NULL, NULL), 0);
	cr_assert_eq(mws_server_start(srv), 0);

	int fd = mws_test_tcp_connect(mws_server_port(srv));
	cr_assert_geq(fd, 0);
	const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                   "Sec-WebSocket-Version: 13\r\n\r\n";
	cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
	char resp[1024];
	size_t got = 0;
	while (!memmem(resp, got, "\r\n\r\n", 4) && got < sizeof resp - 1) {
		cr_assert_eq(mws_test_wait_readable(fd, 5000), 1, "no handshake answer");
		ssize_t n = read(fd, resp + got, sizeof resp - 1 - got);
		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	resp[got] = '\0';
	cr_assert(strstr(resp, " 101 ") != NULL, "%s", resp);

	unsigned char buf[256];
	size_t n = 0;
	n += frame(buf + n, 0, 0x1, "");
	n += frame(buf + n, 0, 0x0, "");
	n += frame(buf + n, 1, 0x0, "");
	n += frame(buf + n, 0, 0x2, "");
	n += frame(buf + n, 1, 0x0, "");
	n += frame(buf + n, 1, 0x1, "");
	cr_assert_eq(write(fd, buf, n), (ssize_t)n);
	cr_assert(mws_test_wait_until(three_msgs, NULL, 10000), "got %d messages",
	          atomic_load(&msgs));
	cr_expect_eq(atomic_load(&null_msgs), 0, "an empty message came with data == NULL");
	cr_expect_eq(atomic_load(&texts), 2);
	cr_expect_eq(atomic_load(&binaries), 1);
	close(fd);
	mws_server_free(srv);
}
