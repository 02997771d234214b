/* The demo's output: progress lines and the closing table. */
#include "demo_report.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t t0;
static int color;

#define C(code) (color ? "\033[" code "m" : "")
#define BOLD C("1")
#define DIM C("2")
#define GREEN C("32")
#define RED C("31")
#define RESET C("0")

void report_init(uint64_t t0_ms, int use_color)
{
	t0 = t0_ms;
	color = use_color;
}

static void vline(const char *pre, const char *who, const char *fmt, va_list ap)
{
	double t = (double)(cli_now_ms() - t0) / 1000.0;

	pthread_mutex_lock(&out_lock);
	printf("%s%7.2fs  ", pre, t);
	if (who)
		printf("%-7s ", who);
	vprintf(fmt, ap);
	printf("%s\n", RESET);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("", NULL, fmt, ap);
	va_end(ap);
}

void say_event(const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(DIM, who, fmt, ap);
	va_end(ap);
}

void say_act(int n, const char *title, const char *what)
{
	pthread_mutex_lock(&out_lock);
	printf("\n%sact %d: %s%s\n", BOLD, n, title, RESET);
	pthread_mutex_unlock(&out_lock);
	say("%s", what);
}

void act_fail(demo_act *a, const char *fmt, ...)
{
	va_list ap;

	if (!a->ok)
		return;
	a->ok = 0;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof a->why, fmt, ap);
	va_end(ap);
}

static void ms_cell(char *buf, size_t cap, long ms)
{
	if (ms < 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%ld", ms);
}

int report_table(const demo_act *acts, int n, int slack_ms, int plain)
{
	demo_counts total = {0};
	int all_ok = 1;

	printf("\n%sresults, %s%s (times in ms)\n\n", BOLD, plain ? "plain WebSocket" : "mws.v1",
	       RESET);
	printf("  %-3s %-28s %7s %-9s %9s %-11s %6s %9s %4s %9s %11s %10s  %s\n", "act", "what",
	       "detect", "expected", "reconnect", "expected", "sent", "delivered", "dup",
	       "reordered", "lost:window", "lost:after", "result");
	for (int i = 0; i < n; i++) {
		const demo_act *a = &acts[i];
		char d[24], r[24];
		ms_cell(d, sizeof d, a->detect_ms);
		ms_cell(r, sizeof r, a->reconnect_ms);
		if (!a->ran) {
			printf("  %-3d %-28s %7s %-9s %9s %-11s %6s %9s %4s %9s %11s %10s  %snot run%s\n",
			       i + 1, a->title, "-", "", "-", "", "-", "-", "-", "-", "-", "-", RED, RESET);
			all_ok = 0;
			continue;
		}
		const demo_counts *c = &a->counts;
		printf("  %-3d %-28s %7s %-9s %9s %-11s %6u %9u %4u %9u %11u %10u  %s%s%s\n", i + 1,
		       a->title, d, a->detect_bound, r, a->reconnect_bound, c->sent, c->delivered,
		       c->duplicates, c->reordered, c->lost_window, c->lost_after, a->ok ? GREEN : RED,
		       a->ok ? "ok" : "FAIL", RESET);
		total.sent += c->sent;
		total.delivered += c->delivered;
		total.reordered += c->reordered;
		total.duplicates += c->duplicates;
		total.lost_window += c->lost_window;
		total.lost_after += c->lost_after;
		all_ok &= a->ok;
	}
	printf("\n  detect: from the fault to the client noticing it. reconnect: from when a\n"
	       "  connection was possible again to CONNECTED. ~N: the retry-after the server\n"
	       "  told the client. lost:window: written into a connection that was already\n"
	       "  dead, before the client noticed; %s lost:after: sent after\n"
	       "  detection; must be 0. dup: arrived twice; with mws.v1 only messages the\n"
	       "  library re-sent after a lost session and reported may. Measured times pass\n"
	       "  within their bound plus %d ms of scheduling slack (--slack).\n\n",
	       plain ? "plain WebSocket has no acknowledgements, so\n"
	               "  they are gone (mws.v1 closes that window: --protocol v1)."
	             : "mws.v1 keeps every message until it is\n"
	               "  acknowledged and re-sends it on resume: must be 0.",
	       slack_ms);
	for (int i = 0; i < n; i++)
		if (acts[i].ran && !acts[i].ok)
			printf("  %sact %d: %s%s\n", RED, i + 1, acts[i].why, RESET);
	printf("summary: sent %u, delivered %u, reordered %u, duplicates %u, lost in the zombie "
	       "window %u, lost after detection %u\n",
	       total.sent, total.delivered, total.reordered, total.duplicates, total.lost_window,
	       total.lost_after);
	printf("%s%s%s\n", all_ok ? GREEN : RED,
	       all_ok ? "demo: every act behaved as expected" : "demo: some acts did not behave as "
	                                                        "expected",
	       RESET);
	fflush(stdout);
	return all_ok ? 0 : 1;
}

static unsigned lost(const demo_counts *c)
{
	return c->lost_window + c->lost_after;
}

void report_contrast(const demo_act *v1, const demo_act *plain, int n)
{
	printf("\n%sthe same faults, side by side%s (lost / duplicated / reordered)\n\n", BOLD,
	       RESET);
	printf("  %-3s %-28s %-20s %-20s\n", "act", "what", "mws.v1", "plain WebSocket");
	for (int i = 0; i < n; i++) {
		char a[32] = "not run", b[32] = "not run";
		const demo_counts *x = &v1[i].counts, *y = &plain[i].counts;
		if (v1[i].ran)
			snprintf(a, sizeof a, "%u / %u / %u", lost(x), x->duplicates, x->reordered);
		if (plain[i].ran)
			snprintf(b, sizeof b, "%u / %u / %u", lost(y), y->duplicates, y->reordered);
		printf("  %-3d %-28s %s%-20s%s %s%-20s%s\n", i + 1, v1[i].title,
		       v1[i].ran && !lost(x) && !x->reordered ? GREEN : RED, a, RESET,
		       plain[i].ran && !lost(y) ? GREEN : RED, b, RESET);
	}
	fflush(stdout);
}
