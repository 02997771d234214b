/* The demo's traffic: numbered messages at --rate, sent by the main
 * thread while the script waits for what the I/O thread reports. */
#include "demo.h"
#include "util.h"

uint64_t traffic_pump(demo *d, int act)
{
	uint64_t now = cli_now_ms();
	char text[64];
	size_t len;

	if (act <= 0 || now < d->next_send_at)
		return d->next_send_at;
	uint64_t step = 1000u / (unsigned)d->opt.rate;
	d->next_send_at = d->next_send_at + step < now ? now + step : d->next_send_at + step;
	int64_t seq = ledger_next(&d->ledger, act, cli_now_us(), text, sizeof text, &len);
	if (seq < 0)
		return d->next_send_at;
	if (mws_client_send(d->client, text, len, MWS_MSG_TEXT)) {
		ledger_refused(&d->ledger, seq);
		d->refused_sends++;
	} else {
		d->last_seq = seq;
	}
	return d->next_send_at;
}

typedef struct pump_arg {
	demo *d;
	int act;
} pump_arg;

static uint64_t tick(void *arg)
{
	pump_arg *p = arg;

	return traffic_pump(p->d, p->act);
}

int traffic_wait(demo *d, int from, ev_match match, const void *arg, int timeout_ms, int act)
{
	pump_arg p = {d, act};

	return events_wait(&d->events, from, match, arg, timeout_ms, act > 0 ? tick : NULL, &p);
}

void traffic_run(demo *d, int ms, int act)
{
	traffic_wait(d, 0, NULL, NULL, ms, act);
}

void traffic_settle(demo *d)
{
	uint64_t end = cli_now_ms() + 3000;
	mws_client_stats st = {.size = sizeof st};

	while (cli_now_ms() < end) {
		mws_client_stats_get(d->client, &st);
		if ((d->last_seq < 0 || ledger_has(&d->ledger, d->last_seq)) &&
		    st.queue_messages == 0)
			return;
		cli_sleep_ms(10);
	}
}
