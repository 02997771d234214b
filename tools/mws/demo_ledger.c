/* The demo's ledger of numbered messages. The act travels inside each
 * message, so the server's thread never reads the sender's arrays. */
#include "demo_ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ledger_init(demo_ledger *l, uint32_t cap)
{
	memset(l, 0, sizeof *l);
	l->cap = cap;
	l->act_of = calloc(cap, 1);
	l->sent_at = calloc(cap, sizeof *l->sent_at);
	l->received = calloc(cap, 1);
	l->max_seen = -1;
	pthread_mutex_init(&l->lock, NULL);
	if (!l->act_of || !l->sent_at || !l->received) {
		ledger_free(l);
		return -1;
	}
	return 0;
}

void ledger_free(demo_ledger *l)
{
	free(l->act_of);
	free(l->sent_at);
	free(l->received);
	pthread_mutex_destroy(&l->lock);
	memset(l, 0, sizeof *l);
}

int64_t ledger_next(demo_ledger *l, int act, uint64_t now_us, char *buf, size_t cap, size_t *len)
{
	if (l->next >= l->cap)
		return -1;
	uint32_t seq = l->next++;
	l->act_of[seq] = (uint8_t)act;
	l->sent_at[seq] = now_us;
	*len = (size_t)snprintf(buf, cap, "seq=%" PRIu32 " act=%d", seq, act);
	return seq;
}

void ledger_refused(demo_ledger *l, int64_t seq)
{
	if (seq >= 0 && seq < l->next)
		l->act_of[seq] = 0;
}

void ledger_received(demo_ledger *l, const void *data, size_t len)
{
	char text[64];
	unsigned long long seq;
	int act;

	if (len >= sizeof text)
		return;
	memcpy(text, data, len);
	text[len] = '\0';
	if (sscanf(text, "seq=%llu act=%d", &seq, &act) != 2 || seq >= l->cap || act < 1 ||
	    act > DEMO_ACTS)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->received[seq]++)
		l->duplicates[act]++;
	else if ((int64_t)seq < l->max_seen)
		l->reordered[act]++;
	if ((int64_t)seq > l->max_seen)
		l->max_seen = (int64_t)seq;
	pthread_mutex_unlock(&l->lock);
}

bool ledger_has(demo_ledger *l, int64_t seq)
{
	if (seq < 0 || seq >= l->cap)
		return false;
	pthread_mutex_lock(&l->lock);
	bool has = l->received[seq] != 0;
	pthread_mutex_unlock(&l->lock);
	return has;
}

void ledger_count(demo_ledger *l, int act, uint64_t detect_at_us, demo_counts *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&l->lock);
	for (uint32_t i = 0; i < l->next; i++) {
		if (l->act_of[i] != act)
			continue;
		out->sent++;
		if (l->received[i])
			out->delivered++;
		else if (detect_at_us && l->sent_at[i] < detect_at_us)
			out->lost_window++;
		else
			out->lost_after++;
	}
	out->reordered = l->reordered[act];
	out->duplicates = l->duplicates[act];
	pthread_mutex_unlock(&l->lock);
}
