/* How many send() and recv() calls a server's message costs.
 * Writes: one per message where the socket takes it, whatever the receive
 * buffer. libwebsockets 4.1.6 limits one send() to the protocol's
 * tx_packet_size, or else to its rx_buffer_size + LWS_PRE + 4: with the
 * 512-byte receive buffer every write was cut to 532 bytes (a 16 KiB
 * message took 31 sends).
 * Reads: rx_buffer_bytes is the most one recv() takes, up to 64 KiB;
 * libwebsockets also caps a read at its per-thread service buffer, which
 * was its default 4096. */
#include <criterion/criterion.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "server_common.h"
#include "raw_ws.h"

/* send() and recv() of every library in this process land here
 * (libwebsockets uses them; the test's own client uses write() and
 * read()); the build hides symbols by default, and CMakeLists exports
 * these two. */
static atomic_int sends, recvs;

__attribute__((visibility("default"))) ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	atomic_fetch_add(&sends, 1);
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

__attribute__((visibility("default"))) ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	atomic_fetch_add(&recvs, 1);
	return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

/* Sends `len` bytes to a raw client and reads them back whole; returns the
 * send() calls the server made meanwhile. */
static int sends_for_message(size_t rx_buffer_bytes, size_t len)
{
	rec r;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.rx_buffer_bytes = rx_buffer_bytes;
	raw_session t = raw_session_start(&r, 0, &cfg);

	unsigned char *msg = malloc(len), *got = malloc(len);
	cr_assert(msg && got);
	for (size_t i = 0; i < len; i++)
		msg[i] = (unsigned char)(i * 7);
	atomic_store(&sends, 0);
	cr_assert_eq(mws_server_send(t.srv, rec_last_id(&r), msg, len, MWS_MSG_BINARY), 0);
	size_t n = 0;
	int fin = 0;
	cr_assert_eq(raw_ws_read_frame(t.fd, got, len, &n, &fin, 5000), 2, "no binary frame");
	int counted = atomic_load(&sends);
	cr_assert_geq(counted, 1, "the send() counter was not reached (not exported?)");
	cr_assert_eq(n, len);
	cr_assert(fin);
	cr_assert_eq(memcmp(msg, got, len), 0, "payload differs");

	free(msg);
	free(got);
	raw_session_end(&t);
	return counted;
}

Test(server_io_calls, a_message_leaves_in_one_send_with_the_default_rx_buffer, .timeout = 30)
{
	int n = sends_for_message(0, 16 * 1024);
	cr_assert_leq(n, 2, "a 16 KiB message took %d send() calls", n);
}

Test(server_io_calls, a_small_rx_buffer_does_not_cut_writes, .timeout = 30)
{
	int n = sends_for_message(128, 8 * 1024);
	cr_assert_leq(n, 2, "an 8 KiB message took %d send() calls", n);
}

/* A raw client writes one `len`-byte message in one write(); returns the
 * recv() calls the server made until it was delivered. */
static int recvs_for_message(size_t rx_buffer_bytes, size_t len)
{
	rec r;
	mws_server_config cfg;
	mws_server_config_init(&cfg);
	cfg.rx_buffer_bytes = rx_buffer_bytes;
	cfg.max_message_bytes = 1u << 20;
	raw_session t = raw_session_start(&r, 0, &cfg);

	unsigned char *msg = calloc(1, len);
	cr_assert(msg);
	atomic_store(&recvs, 0);
	cr_assert_eq(raw_ws_send(t.fd, 2, msg, len, 1), 0);
	cr_assert(wait_at_least(&r.messages, 1, 5000), "the message never arrived");
	int counted = atomic_load(&recvs);
	cr_assert_geq(counted, 1, "the recv() counter was not reached (not exported?)");

	free(msg);
	raw_session_end(&t);
	return counted;
}

Test(server_io_calls, a_large_rx_buffer_reads_more_than_4096_at_once, .timeout = 30)
{
	/* 48 KiB: 12 reads at 4096; in one piece, one read (two if it
	 * arrives in two). */
	int n = recvs_for_message(64 * 1024, 48 * 1024);
	cr_assert_leq(n, 4, "a 48 KiB message took %d recv() calls", n);
}
