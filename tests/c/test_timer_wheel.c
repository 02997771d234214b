/* The context's timer wheel, with a fake clock (microseconds). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/timer_wheel.h"

typedef struct probe {
	mws__timer t;
	int fired;
	uint64_t fired_at; /* the fake clock when it fired */
} probe;

static uint64_t clock_us;
static mws__twheel *wheel;

static void on_fire(mws__timer *t)
{
	probe *p = (probe *)(void *)t; /* t is the first member */
	p->fired++;
	p->fired_at = clock_us;
}

static mws__twheel *new_wheel(uint64_t now)
{
	mws__twheel *w = malloc(sizeof *w);
	cr_assert(w);
	mws__tw_init(w, now);
	clock_us = now;
	wheel = w;
	return w;
}

static size_t run_at(mws__twheel *w, uint64_t now)
{
	clock_us = now;
	return mws__tw_run(w, now);
}

Test(timer_wheel, fires_at_its_time_never_before)
{
	mws__twheel *w = new_wheel(1000000);
	probe p = {0};
	mws__tw_add(w, &p.t, 1005500, on_fire);
	cr_expect_eq(mws__tw_next(w), 1005500);
	cr_expect_eq(run_at(w, 1005499), 0);
	cr_expect_eq(p.fired, 0);
	cr_expect_eq(run_at(w, 1005500), 1);
	cr_expect_eq(p.fired, 1);
	cr_expect_eq(mws__tw_next(w), MWS__TW_NEVER);
	cr_expect_eq(run_at(w, 2000000), 0, "fires once");
	free(w);
}

Test(timer_wheel, rearming_moves_and_cancel_disarms)
{
	mws__twheel *w = new_wheel(0);
	probe a = {0}, b = {0};
	mws__tw_cancel(&a.t); /* never armed: nothing */
	mws__tw_add(w, &a.t, 3000, on_fire);
	mws__tw_add(w, &a.t, 9000, on_fire); /* moved, not doubled */
	mws__tw_add(w, &b.t, 4000, on_fire);
	mws__tw_cancel(&b.t);
	mws__tw_cancel(&b.t);
	cr_expect_eq(run_at(w, 8999), 0);
	cr_expect_eq(run_at(w, 9000), 1);
	cr_expect_eq(a.fired, 1);
	cr_expect_eq(b.fired, 0);
	free(w);
}

Test(timer_wheel, a_timer_beyond_one_turn_waits_for_its_turn)
{
	mws__twheel *w = new_wheel(0);
	probe p = {0};
	uint64_t at = 30u * 1000000u + 250; /* 30 s: seven turns of 4.096 s */
	mws__tw_add(w, &p.t, at, on_fire);
	cr_expect_eq(mws__tw_next(w), at);
	/* visiting its slot in earlier turns (the clock advancing 1 ms at a
	 * time, as a busy loop would) does not fire it */
	for (uint64_t now = 0; now < at; now += 997)
		cr_expect_eq(run_at(w, now), 0, "at %llu", (unsigned long long)now);
	cr_expect_eq(run_at(w, at), 1);
	cr_expect_eq(p.fired_at, at);
	free(w);
}

Test(timer_wheel, a_loop_asleep_for_long_fires_everything_due_once)
{
	mws__twheel *w = new_wheel(0);
	probe p[3];
	memset(p, 0, sizeof p);
	mws__tw_add(w, &p[0].t, 10, on_fire);
	mws__tw_add(w, &p[1].t, 5000000, on_fire);
	mws__tw_add(w, &p[2].t, 90000000, on_fire);
	cr_expect_eq(run_at(w, 60000000), 2); /* a minute later */
	cr_expect_eq(p[0].fired + p[1].fired + p[2].fired, 2);
	cr_expect_eq(p[2].fired, 0);
	cr_expect_eq(mws__tw_next(w), 90000000);
	cr_expect_eq(run_at(w, 90000000), 1);
	free(w);
}

Test(timer_wheel, a_time_already_past_fires_at_the_next_run)
{
	mws__twheel *w = new_wheel(50000000);
	run_at(w, 50000000);
	probe p = {0};
	mws__tw_add(w, &p.t, 1000, on_fire); /* long before the cursor */
	cr_expect(mws__tw_next(w) <= 50000000);
	cr_expect_eq(run_at(w, 50000000), 1);
	free(w);
}

static probe *victim;

static void cancel_victim(mws__timer *t)
{
	on_fire(t);
	mws__tw_cancel(&victim->t);
}

static void rearm_now(mws__timer *t)
{
	on_fire(t);
	mws__tw_add(wheel, t, clock_us, rearm_now);
}

Test(timer_wheel, callbacks_may_cancel_a_due_timer_and_rearm_without_looping)
{
	mws__twheel *w = new_wheel(0);
	probe a = {0}, b = {0}, c = {0};
	victim = &b;
	mws__tw_add(w, &a.t, 100, cancel_victim);
	mws__tw_add(w, &b.t, 100, on_fire); /* due in the same run, cancelled first */
	mws__tw_add(w, &c.t, 100, rearm_now);
	cr_expect_eq(run_at(w, 200), 2);
	cr_expect_eq(b.fired, 0);
	cr_expect_eq(c.fired, 1, "re-armed at now: waits for the next run");
	cr_expect_eq(run_at(w, 200), 1);
	cr_expect_eq(c.fired, 2);
	mws__tw_cancel(&c.t);
	free(w);
}

/* The reconnect storm: 10,000 retry timers spread over 5 s by the server's
 * hints, the loop waking whenever the wheel asks. Each fires exactly once,
 * never early, and no later than the wake it asked for; the wakes stay
 * bounded by the timers (no spinning on empty slots). */
Test(timer_wheel, ten_thousand_spread_timers_each_fire_once_on_time)
{
	enum { N = 10000 };
	mws__twheel *w = new_wheel(7000000);
	probe *p = calloc(N, sizeof *p);
	cr_assert(p);
	mws__rng rng;
	mws__rng_seed(&rng, 42);
	for (int i = 0; i < N; i++)
		mws__tw_add(w, &p[i].t, 7000000 + mws__rng_between(&rng, 0, 5000) * 1000 +
		                        mws__rng_between(&rng, 0, 999), on_fire);
	size_t fired = 0, wakes = 0;
	uint64_t next;
	while ((next = mws__tw_next(w)) != MWS__TW_NEVER && wakes < 3 * N) {
		cr_assert(next >= clock_us || fired == 0, "asks to wake in the past");
		fired += run_at(w, next);
		wakes++;
	}
	cr_expect_eq(fired, N);
	cr_expect(wakes <= N, "%zu wakes for %d timers", wakes, N);
	for (int i = 0; i < N; i++) {
		cr_expect_eq(p[i].fired, 1);
		cr_expect_eq(p[i].fired_at, p[i].t.at_us, "timer %d fired late or early", i);
	}
	free(p);
	free(w);
}
