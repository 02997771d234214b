#include <criterion/criterion.h>
#include <stdint.h>

#include "core/backoff.h"
#include "managedws.h"

#define DRAWS 10000
/* Sample means over DRAWS uniform draws: the standard error is about
 * 0.3 % of d for these spreads, so 3 % is a tolerance no fixed seed should
 * ever come near, while a wrong formula (e.g. d/2 for EQUAL) misses it. */
#define MEAN_TOLERANCE 0.03

static mws__rng rng;

static void seed(void)
{
	mws__rng_seed(&rng, 0x5eed);
}

static double mean_of_draws(mws__backoff *b, uint32_t attempt, uint64_t lo, uint64_t hi)
{
	double sum = 0;
	for (int i = 0; i < DRAWS; i++) {
		uint64_t d = mws__backoff_next(b, attempt, &rng);
		cr_assert(d >= lo && d <= hi, "draw %d: %llu outside [%llu, %llu]", i,
		          (unsigned long long)d, (unsigned long long)lo, (unsigned long long)hi);
		sum += (double)d;
	}
	return sum / DRAWS;
}

static void expect_mean_near(double mean, double want)
{
	cr_expect(mean >= want * (1 - MEAN_TOLERANCE) && mean <= want * (1 + MEAN_TOLERANCE),
	          "mean %.1f, want %.1f within %.0f %%", mean, want, MEAN_TOLERANCE * 100);
}

Test(backoff, ceiling_doubles_from_base_up_to_max)
{
	mws__backoff b;
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_NONE, 0);
	uint64_t want[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
	for (uint32_t n = 0; n < sizeof(want) / sizeof(want[0]); n++)
		cr_expect_eq(mws__backoff_ceiling(&b, n), want[n], "attempt %u", n);
}

Test(backoff, ceiling_saturates_instead_of_overflowing)
{
	mws__backoff b;
	mws__backoff_init(&b, 500, UINT64_MAX, MWS_JITTER_NONE, 0);
	cr_expect_eq(mws__backoff_ceiling(&b, 100), UINT64_MAX);
	cr_expect_eq(mws__backoff_ceiling(&b, 63), UINT64_MAX);
	cr_expect_eq(mws__backoff_ceiling(&b, UINT32_MAX), UINT64_MAX);
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_NONE, 0);
	cr_expect_eq(mws__backoff_ceiling(&b, 100), 30000);
	cr_expect_eq(mws__backoff_ceiling(&b, 54), 30000); /* 500 << 54 would wrap */
}

Test(backoff, none_returns_the_ceiling)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_NONE, 0);
	for (uint32_t n = 0; n < 10; n++)
		cr_expect_eq(mws__backoff_next(&b, n, &rng), mws__backoff_ceiling(&b, n));
	expect_mean_near(mean_of_draws(&b, 3, 4000, 4000), 4000);
}

Test(backoff, default_jitter_means_full)
{
	mws__backoff b;
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_DEFAULT, 0);
	cr_expect_eq(b.jitter, MWS_JITTER_FULL);
}

Test(backoff, full_stays_in_zero_to_d_with_mean_d_over_two)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_FULL, 0);
	expect_mean_near(mean_of_draws(&b, 4, 0, 8000), 4000);
	/* At the cap the spread is [0, max]. */
	expect_mean_near(mean_of_draws(&b, 40, 0, 30000), 15000);
}

Test(backoff, equal_stays_in_half_d_to_d_with_mean_three_quarters_d)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_EQUAL, 0);
	expect_mean_near(mean_of_draws(&b, 4, 4000, 8000), 6000);
}

Test(backoff, equal_with_an_odd_ceiling_can_reach_it)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 3, 3, MWS_JITTER_EQUAL, 0);
	int seen[4] = {0};
	for (int i = 0; i < 1000; i++) {
		uint64_t d = mws__backoff_next(&b, 0, &rng);
		cr_assert(d >= 1 && d <= 3);
		seen[d]++;
	}
	cr_expect(seen[1] && seen[2] && seen[3]);
}

Test(backoff, proportional_stays_in_d_to_d_plus_pd_with_mean_d_times_one_plus_p_over_two)
{
	mws__backoff b;
	seed();
	/* d = 8000 and 8000 * 1.3 = 10400 < max: nothing is clamped. */
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_PROPORTIONAL, 0.3);
	expect_mean_near(mean_of_draws(&b, 4, 8000, 10400), 8000 * 1.15);
}

Test(backoff, proportional_is_clamped_to_max)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_PROPORTIONAL, 0.3);
	/* d = 30000 already: every draw is clamped back to max. */
	mean_of_draws(&b, 10, 30000, 30000);
	/* d = 25000 (base 25000): draws in [25000, 32500] clamp to <= 30000. */
	mws__backoff_init(&b, 25000, 30000, MWS_JITTER_PROPORTIONAL, 0.3);
	mean_of_draws(&b, 0, 25000, 30000);
}

Test(backoff, proportional_with_a_negative_proportion_adds_nothing)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_PROPORTIONAL, -1.0);
	cr_expect_eq(mws__backoff_next(&b, 2, &rng), 2000);
}

Test(backoff, decorrelated_stays_in_base_to_max)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_DECORRELATED, 0);
	for (int run = 0; run < 100; run++) {
		mws__backoff_reset(&b);
		for (uint32_t n = 0; n < 100; n++) {
			uint64_t d = mws__backoff_next(&b, n, &rng);
			cr_assert(d >= 500 && d <= 30000, "run %d attempt %u: %llu", run, n,
			          (unsigned long long)d);
		}
	}
}

Test(backoff, decorrelated_mean_grows_then_saturates)
{
	enum { RUNS = 10000, STEPS = 30 };
	static double mean[STEPS];
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_DECORRELATED, 0);
	for (int run = 0; run < RUNS; run++) {
		mws__backoff_reset(&b);
		for (int n = 0; n < STEPS; n++)
			mean[n] += (double)mws__backoff_next(&b, (uint32_t)n, &rng) / RUNS;
	}
	/* First draw: uniform [base, 3 base], mean 2 base. */
	expect_mean_near(mean[0], 1000);
	/* Grows while far from the cap... */
	for (int n = 1; n < 4; n++)
		cr_expect(mean[n] > mean[n - 1] * 1.2, "step %d: %.0f after %.0f", n, mean[n],
		          mean[n - 1]);
	/* ...then levels off below max: the last steps agree within 3 %. */
	expect_mean_near(mean[STEPS - 1], mean[STEPS - 2]);
	cr_expect(mean[STEPS - 1] > 15000 && mean[STEPS - 1] < 30000, "%.0f",
	          mean[STEPS - 1]);
}

Test(backoff, reset_forgets_the_decorrelated_memory)
{
	mws__backoff b;
	seed();
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_DECORRELATED, 0);
	for (uint32_t n = 0; n < 20; n++)
		mws__backoff_next(&b, n, &rng);
	cr_expect_gt(b.prev_ms, 0);
	mws__backoff_reset(&b);
	cr_expect_eq(b.prev_ms, 0);
	cr_expect_leq(mws__backoff_next(&b, 0, &rng), 1500);
}

Test(backoff, same_seed_gives_the_same_delays)
{
	mws__backoff a, b;
	mws__rng ra, rb;
	mws__rng_seed(&ra, 42);
	mws__rng_seed(&rb, 42);
	mws__backoff_init(&a, 500, 30000, MWS_JITTER_FULL, 0);
	mws__backoff_init(&b, 500, 30000, MWS_JITTER_FULL, 0);
	for (uint32_t n = 0; n < 50; n++)
		cr_expect_eq(mws__backoff_next(&a, n, &ra), mws__backoff_next(&b, n, &rb));
}

Test(backoff, rng_between_is_inclusive_and_handles_degenerate_ranges)
{
	seed();
	int seen[3] = {0};
	for (int i = 0; i < 1000; i++) {
		uint64_t v = mws__rng_between(&rng, 7, 9);
		cr_assert(v >= 7 && v <= 9);
		seen[v - 7]++;
	}
	cr_expect(seen[0] && seen[1] && seen[2]);
	cr_expect_eq(mws__rng_between(&rng, 5, 5), 5);
	cr_expect_eq(mws__rng_between(&rng, 9, 3), 9);
	mws__rng_between(&rng, 0, UINT64_MAX); /* the whole range: no division by zero */
	for (int i = 0; i < 1000; i++) {
		double u = mws__rng_unit(&rng);
		cr_assert(u >= 0 && u < 1);
	}
}

Test(backoff, any_growth_factor_at_least_one)
{
	mws__backoff b;
	mws__backoff_init(&b, 100, 10000, MWS_JITTER_NONE, 0);
	mws__backoff_set_factor(&b, 1.5);
	uint64_t want[] = {100, 150, 225, 338, 506, 759, 1139, 1709};
	for (uint32_t n = 0; n < sizeof(want) / sizeof(want[0]); n++)
		cr_expect_eq(mws__backoff_ceiling(&b, n), want[n], "attempt %u", n);
	cr_expect_eq(mws__backoff_ceiling(&b, 100), 10000);
	cr_expect_eq(mws__backoff_ceiling(&b, UINT32_MAX), 10000);
	mws__backoff_set_factor(&b, 1.0);
	cr_expect_eq(mws__backoff_ceiling(&b, 0), 100);
	cr_expect_eq(mws__backoff_ceiling(&b, UINT32_MAX), 100);
	mws__backoff_set_factor(&b, 0.5); /* below 1: taken as 1 */
	cr_expect_eq(mws__backoff_ceiling(&b, 7), 100);
	mws__backoff_init(&b, 500, UINT64_MAX, MWS_JITTER_NONE, 0);
	mws__backoff_set_factor(&b, 1.3);
	cr_expect_eq(mws__backoff_ceiling(&b, UINT32_MAX), UINT64_MAX);
}

Test(backoff, config_factor_is_validated)
{
	mws_client_config cfg;
	mws_client *c = NULL;
	mws_client_config_init(&cfg);
	cfg.backoff_factor = 0.5;
	cr_expect_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:9/", &cfg), MWS_EINVAL);
	cfg.backoff_factor = 1.0 / 0.0;
	cr_expect_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:9/", &cfg), MWS_EINVAL);
	cfg.backoff_factor = 1.3;
	cr_assert_eq(mws_client_new(&c, NULL, "ws://127.0.0.1:9/", &cfg), 0);
	mws_client_free(c);
}
