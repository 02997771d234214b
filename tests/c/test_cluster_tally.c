/* mws cluster-client's counts (tools/mws/cluster_tally.c, cluster_report.c):
 * the figures scripts/cluster.sh passes or fails on must count what
 * happened, and the verdict must fail on each kind of trouble. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_report.h"
#include "cluster_tally.h"

/* Numbers 1..n sent, as the main thread does. */
static void sent(cluster_tally *t, uint64_t n)
{
	t->next_number = n;
}

static void echo(cluster_tally *t, unsigned index, uint64_t n)
{
	char buf[64];
	int len = snprintf(buf, sizeof buf, "c=%u n=%llu", index, (unsigned long long)n);
	tally_received(t, buf, (size_t)len, 1);
}

static void change(cluster_tally *t, int from, int to, int session, uint64_t now)
{
	mws_state_change c = {.from = from, .to = to, .reason = "test", .session = session};
	tally_state(t, &c, now);
}

/* The verdict, with the report thrown away. */
static int verdict(cluster_tally *t, unsigned n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	int pass = cluster_report(out, t, n, 0, 0);
	fclose(out);
	free(text);
	return pass;
}

Test(cluster_tally, counts_delivered_lost_duplicated_and_reordered)
{
	cluster_tally t;
	cluster_counts c;
	cr_assert_eq(tally_init(&t, 3, 100), 0);
	sent(&t, 6);
	echo(&t, 3, 1);
	echo(&t, 3, 2);
	echo(&t, 3, 4);
	echo(&t, 3, 3); /* after a higher one */
	echo(&t, 3, 2); /* again */
	echo(&t, 3, 2); /* and again */
	tally_counts(&t, 0, 0, &c);
	cr_expect_eq(c.sent, 6);
	cr_expect_eq(c.delivered, 4);
	cr_expect_eq(c.lost, 2); /* 5 and 6 never came back */
	cr_expect_eq(c.duplicated, 2);
	cr_expect_eq(c.reordered, 1);
	cr_expect_eq(c.foreign, 0);
	cr_expect_not(tally_settled(&t));
	echo(&t, 3, 5);
	echo(&t, 3, 6);
	cr_expect(tally_settled(&t));
	tally_free(&t);
}

Test(cluster_tally, another_clients_numbers_and_garbage_are_foreign_not_delivered)
{
	cluster_tally t;
	cluster_counts c;
	cr_assert_eq(tally_init(&t, 1, 10), 0);
	sent(&t, 1);
	echo(&t, 2, 1);  /* client 2's number 1 */
	echo(&t, 1, 0);  /* numbers start at 1 */
	echo(&t, 1, 10); /* beyond what can have been sent */
	tally_received(&t, "hello", 5, 1);
	tally_received(&t, "", 0, 1);
	tally_counts(&t, 0, 0, &c);
	cr_expect_eq(c.foreign, 5);
	cr_expect_eq(c.delivered, 0);
	cr_expect_eq(c.lost, 1);
	tally_free(&t);
}

Test(cluster_tally, padded_messages_parse_like_short_ones)
{
	cluster_tally t;
	cluster_counts c;
	char buf[200];
	cr_assert_eq(tally_init(&t, 7, 100), 0);
	size_t len = tally_format(&t, 42, 150, buf, sizeof buf);
	cr_expect_eq(len, 150);
	cr_expect_eq(strncmp(buf, "c=7 n=42.", 9), 0);
	sent(&t, 42);
	tally_received(&t, buf, len, 1);
	tally_counts(&t, 0, 0, &c);
	cr_expect_eq(c.delivered, 1);
	cr_expect_eq(c.foreign, 0);
	tally_free(&t);
}

Test(cluster_tally, reconnections_are_timed_and_classed_resumed_or_lost)
{
	cluster_tally t;
	cluster_counts c;
	uint32_t *times = NULL, n = 0;
	cr_assert_eq(tally_init(&t, 0, 10), 0);
	change(&t, MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_STARTED, 100);
	change(&t, MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 1000);
	change(&t, MWS_STATE_RECONNECTING, MWS_STATE_CONNECTING, 0, 1100);
	change(&t, MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_RESUMED, 1250);
	change(&t, MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 2000);
	change(&t, MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_LOST, 2900);
	tally_counts(&t, 0, 0, &c);
	cr_expect_eq(c.connected, 1);
	cr_expect_eq(c.resumes, 1);
	cr_expect_eq(c.sessions_lost, 1);
	cr_assert_eq(tally_resume_times(&t, &times, &n), 0);
	cr_assert_eq(n, 2); /* the first connection is not a reconnection */
	cr_expect_eq(times[0], 250);
	cr_expect_eq(times[1], 900);
	free(times);
	tally_free(&t);
}

Test(cluster_tally, verdict_passes_a_clean_run_and_fails_each_kind_of_trouble)
{
	cluster_tally t[2];
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(tally_init(&t[i], i, 10), 0);
		change(&t[i], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_STARTED, 1);
		sent(&t[i], 3);
		for (unsigned n = 1; n <= 3; n++)
			echo(&t[i], i, n);
	}
	change(&t[1], MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 10);
	change(&t[1], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_RESUMED, 20);
	cr_expect(verdict(t, 2), "clean run, one resume");

	sent(&t[0], 4); /* number 4 never comes back */
	cr_expect_not(verdict(t, 2), "lost");
	echo(&t[0], 0, 4);
	cr_expect(verdict(t, 2));

	echo(&t[1], 1, 2);
	cr_expect_not(verdict(t, 2), "duplicated");
	t[1].duplicated = 0;

	sent(&t[1], 5);
	echo(&t[1], 1, 5);
	echo(&t[1], 1, 4);
	cr_expect_not(verdict(t, 2), "reordered");
	t[1].reordered = 0;
	cr_expect(verdict(t, 2));

	change(&t[0], MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 30);
	change(&t[0], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_LOST, 40);
	cr_expect_not(verdict(t, 2), "a session lost, although every echo came back");
	t[0].sessions_lost = 0;
	cr_expect(verdict(t, 2));

	t[1].connected = 0;
	cr_expect_not(verdict(t, 2), "a client that never connected");
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
}

static void tick_at(cluster_tally *t, uint64_t n, uint64_t now_ms)
{
	char buf[32];
	int len = snprintf(buf, sizeof buf, "tick=%llu", (unsigned long long)n);
	tally_received(t, buf, (size_t)len, now_ms);
}

/* Two clients connected; ticks watched from 1000 ms, counted until 9000 ms. */
static void two_watching(cluster_tally t[2])
{
	for (unsigned i = 0; i < 2; i++) {
		cr_assert_eq(tally_init(&t[i], i, 10), 0);
		change(&t[i], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_STARTED, 1);
		sent(&t[i], 1);
		echo(&t[i], i, 1);
		tally_watch_ticks(&t[i], 1000, 9000);
	}
}

static int verdict_ticks(cluster_tally *t, unsigned n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	int pass = cluster_report(out, t, n, 0, 1);
	fclose(out);
	free(text);
	return pass;
}

Test(cluster_tally, every_client_must_have_every_tick_of_the_common_window)
{
	cluster_tally t[2];
	cluster_counts c;
	two_watching(t);
	/* The stream began long before; client 0 sees it from 500 ms. */
	for (uint64_t k = 5000; k <= 5040; k++)
		tick_at(&t[0], k, 500 + (k - 5000) * 100);
	/* Client 1 (on another node) sees the same ticks, but not 5012..5014. */
	for (uint64_t k = 5000; k <= 5040; k++)
		if (k < 5012 || k > 5014)
			tick_at(&t[1], k, 510 + (k - 5000) * 100);
	cr_expect_not(verdict_ticks(t, 2), "three ticks missed by one client");
	/* The window: from 5005 (first at >= 1000 ms) to 5040 - TICK_SLACK. */
	tally_counts(&t[1], 5005, 5040 - TICK_SLACK, &c);
	cr_expect_eq(c.ticks_lost, 3);
	tick_at(&t[1], 5012, 4000);
	tick_at(&t[1], 5013, 4000);
	tick_at(&t[1], 5014, 4000);
	cr_expect_not(verdict_ticks(t, 2), "late ticks are reordered");
	t[1].tick_reordered = 0;
	cr_expect(verdict_ticks(t, 2));
	tick_at(&t[0], 5041, 9000); /* after the stop: ignored */
	tick_at(&t[0], 5041, 9000);
	cr_expect_eq(t[0].tick_dup, 0);
	tick_at(&t[0], 5020, 8000);
	cr_expect_not(verdict_ticks(t, 2), "a duplicated tick");
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
}

Test(cluster_tally, a_client_that_gets_no_ticks_or_a_window_too_short_fails)
{
	cluster_tally t[2];
	two_watching(t);
	for (uint64_t k = 1; k <= 30; k++)
		tick_at(&t[0], k, 1000 + k);
	cr_expect_not(verdict_ticks(t, 2), "client 1 got none (a node that broadcasts to no one)");
	for (uint64_t k = 1; k <= 30; k++)
		tick_at(&t[1], k, 1000 + k);
	cr_expect(verdict_ticks(t, 2));
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
	two_watching(t);
	for (unsigned i = 0; i < 2; i++)
		for (uint64_t k = 1; k <= TICK_SLACK; k++)
			tick_at(&t[i], k, 1000 + k);
	cr_expect_not(verdict_ticks(t, 2), "no window left after the slack");
	tick_at(&t[0], 0, 1);
	tick_at(&t[0], 1u << 24, 1); /* beyond the bound: not a tick */
	cluster_counts c;
	tally_counts(&t[0], 0, 0, &c);
	cr_expect_eq(c.foreign, 2);
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
}

Test(cluster_tally, ticks_missed_between_connections_are_counted_apart_and_do_not_fail)
{
	cluster_tally t[2];
	cluster_counts c;
	two_watching(t);
	for (uint64_t k = 1; k <= 60; k++)
		tick_at(&t[0], k, 1000 + k * 100);
	/* Client 1 is between nodes from 3050 to 3480 ms: ticks 21..24 (2100..
	 * 2400 ms after 1000) never reach it. */
	for (uint64_t k = 1; k <= 60; k++)
		if (k < 21 || k > 24)
			tick_at(&t[1], k, 1000 + k * 100 + 5);
	change(&t[1], MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 3050);
	change(&t[1], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_RESUMED, 3480);
	tally_counts(&t[1], 1, 50, &c);
	cr_expect_eq(c.ticks_lost, 4);
	cr_expect_eq(c.ticks_between, 4);
	cr_expect(verdict_ticks(t, 2), "missed between connections: counted, not a failure");
	/* Tick 40 (5000 ms) goes missing while client 1 is connected. */
	t[1].tick_at[40] = 0;
	t[1].ticks--;
	tally_counts(&t[1], 1, 50, &c);
	cr_expect_eq(c.ticks_lost, 5);
	cr_expect_eq(c.ticks_between, 4);
	cr_expect_not(verdict_ticks(t, 2), "lost while connected");
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
}

Test(cluster_tally, a_long_gap_with_a_short_reconnection_in_it_is_lost_while_connected)
{
	cluster_tally t[2];
	cluster_counts c;
	two_watching(t);
	for (uint64_t k = 1; k <= 80; k++)
		tick_at(&t[0], k, 1000 + k * 100);
	/* Client 1's node never passed the ticks on; it moved at 5000 ms (300
	 * ms away) to the node that does, and got them from tick 44 on. */
	change(&t[1], MWS_STATE_CONNECTED, MWS_STATE_RECONNECTING, 0, 5000);
	change(&t[1], MWS_STATE_CONNECTING, MWS_STATE_CONNECTED, MWS_SESSION_RESUMED, 5300);
	for (uint64_t k = 44; k <= 80; k++)
		tick_at(&t[1], k, 1000 + k * 100 + 5);
	tally_counts(&t[1], 1, 70, &c);
	cr_expect_eq(c.ticks_lost, 43);
	cr_expect_eq(c.ticks_between, 5, "300 ms away: 3 periods + 2");
	cr_expect_not(verdict_ticks(t, 2));
	for (unsigned i = 0; i < 2; i++)
		tally_free(&t[i]);
}
