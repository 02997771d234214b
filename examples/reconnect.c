/* A managed client that prints every state change and echo: run it against
 * an echo server, restart the server, and watch it come back.
 *
 *   reconnect URL [SECONDS]
 *
 * Sends "tick N" every 200 ms, including while away: those wait in the
 * queue and go out, in order, once the connection is back. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "managedws.h"

static void on_state(mws_client *c, const mws_state_change *ch, void *ud)
{
	(void)c;
	(void)ud;
	printf("state %-12s -> %-12s code=%d reason=\"%s\"", mws_state_name(ch->from),
	       mws_state_name(ch->to), ch->close_code, ch->reason);
	if (ch->to == MWS_STATE_RECONNECTING)
		printf(" retry in %d ms (attempt %u)", ch->retry_delay_ms, ch->attempt);
	printf("\n");
	fflush(stdout);
}

static void on_message(mws_client *c, const void *data, size_t len, int type, void *ud)
{
	(void)c;
	(void)ud;
	if (type == MWS_MSG_TEXT)
		printf("echo  %.*s\n", (int)len, (const char *)data);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ws://HOST:PORT/ [SECONDS]\n", argv[0]);
		return 2;
	}
	int seconds = argc > 2 ? atoi(argv[2]) : 10;
	mws_client_config cfg;
	mws_client_config_init(&cfg);
	cfg.base_delay_ms = 200;
	cfg.max_delay_ms = 2000;
	cfg.heartbeat_interval_ms = 1000;
	cfg.heartbeat_timeout_ms = 1000;

	mws_client *c;
	int rc = mws_client_new(&c, NULL, argv[1], &cfg);
	if (rc) {
		fprintf(stderr, "mws_client_new: %s\n", mws_strerror(rc));
		return 2;
	}
	mws_client_callbacks cbs = {sizeof cbs, on_state, on_message, NULL};
	mws_client_set_callbacks(c, &cbs, NULL, NULL);
	mws_client_connect(c);
	for (int i = 0; i < seconds * 5; i++) {
		char msg[32];
		int n = snprintf(msg, sizeof msg, "tick %d", i);
		rc = mws_client_send(c, msg, (size_t)n, MWS_MSG_TEXT);
		if (rc)
			printf("send  tick %d: %s\n", i, mws_err_name(rc));
		nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);
	}
	mws_client_stats st = {.size = sizeof st};
	mws_client_stats_get(c, &st);
	printf("stats connects=%llu reconnects=%llu out=%llu in=%llu queued=%u rtt_p50=%uus\n",
	       (unsigned long long)st.connects, (unsigned long long)st.reconnects,
	       (unsigned long long)st.msgs_out, (unsigned long long)st.msgs_in,
	       st.queue_messages, st.rtt_p50_us);
	mws_client_free(c);
	return 0;
}
