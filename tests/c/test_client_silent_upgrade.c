/* A server that takes the TCP connection but never answers the upgrade
 * (a stopped process: the kernel still completes the connect). Found by
 * bench/live.sh: libwebsockets 4.1.6 frees the waiting wsi at its own
 * 5-second context timeout without telling the client protocol, and our
 * handshake timer then used the freed wsi (a segfault). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_harness.h"

/* Listens on 127.0.0.1:0 and never accepts; returns the fd, *port set. */
static int silent_listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	cr_assert_eq(listen(fd, 16), 0);
	socklen_t len = sizeof a;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static bool left_connecting(rec *r, void *arg)
{
	(void)arg;
	for (int i = 0; i < r->nstates; i++)
		if (r->states[i].from == MWS_STATE_CONNECTING)
			return true;
	return false;
}

Test(client_silent_upgrade, an_unanswered_upgrade_ends_the_attempt_without_a_crash)
{
	int port, lfd = silent_listener(&port);
	rec r;
	rec_init(&r);
	mws_ctx *ctx = NULL;
	cr_assert_eq(mws_ctx_new(&ctx, NULL), 0);
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.handshake_timeout_ms = 8000; /* past libwebsockets' own 5 s */
	cfg.base_delay_ms = 60000;       /* one attempt is enough */
	char url[64];
	url_for_port(url, sizeof url, port);
	mws_client *c = rec_client(&r, ctx, url, &cfg);
	cr_assert_not_null(c);
	cr_assert_eq(mws_client_connect(c), 0);
	cr_assert(rec_wait(&r, left_connecting, NULL, 15000), "still connecting");
	rec_state *s = rec_last_to(&r, MWS_STATE_RECONNECTING);
	cr_assert_not_null(s);
	cr_assert(strstr(s->reason, "handshake timeout"), "reason: %s", s->reason);
	cr_assert_eq(s->code, 1006);
	/* Still a working client afterwards: freeing it touches no freed wsi. */
	mws_client_free(c);
	mws_ctx_free(ctx);
	rec_destroy(&r);
	close(lfd);
}
