#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/histogram.h"
#include "core/rng.h"

/* Each bucket is at most 1/16 of its lower bound wide. */
#define REL_ERROR (1.0 / 16)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The rank-th smallest, rank = ceil(q * n) (at least 1): what the
 * histogram approximates from above. */
static uint64_t true_quantile(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n);
	if ((double)rank < q * (double)n)
		rank++;
	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

static void check_against(uint64_t *values, size_t n)
{
	static const double qs[] = {0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1};
	mws__histogram h;
	mws__hist_init(&h);
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		mws__hist_add(&h, values[i]);
		if (values[i] > max)
			max = values[i];
	}
	qsort(values, n, sizeof(*values), cmp_u64);
	cr_expect_eq(h.total, n);
	cr_expect_eq(h.max, max);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t truth = true_quantile(values, n, qs[i]);
		uint64_t got = mws__hist_quantile(&h, qs[i]);
		cr_expect_geq(got, truth, "q %.3f: %llu below the true %llu", qs[i],
		              (unsigned long long)got, (unsigned long long)truth);
		cr_expect_leq((double)got, (double)truth * (1 + REL_ERROR),
		              "q %.3f: %llu too far above the true %llu", qs[i],
		              (unsigned long long)got, (unsigned long long)truth);
		cr_expect_leq(got, max);
	}
}

Test(histogram, empty_histogram_answers_zero)
{
	mws__histogram h;
	mws__hist_init(&h);
	cr_expect_eq(mws__hist_quantile(&h, 0.5), 0);
	cr_expect_eq(mws__hist_quantile(&h, 1), 0);
}

Test(histogram, small_values_are_exact)
{
	mws__histogram h;
	mws__hist_init(&h);
	for (uint64_t v = 0; v < 16; v++)
		mws__hist_add(&h, v);
	cr_expect_eq(mws__hist_quantile(&h, 0), 0);
	cr_expect_eq(mws__hist_quantile(&h, 0.5), 7);
	cr_expect_eq(mws__hist_quantile(&h, 1), 15);
}

Test(histogram, a_constant_reads_back_exactly_thanks_to_max)
{
	mws__histogram h;
	mws__hist_init(&h);
	for (int i = 0; i < 1000; i++)
		mws__hist_add(&h, 12345);
	cr_expect_eq(mws__hist_quantile(&h, 0.5), 12345);
	cr_expect_eq(mws__hist_quantile(&h, 0.99), 12345);
	cr_expect_eq(h.sum, 12345000);
}

Test(histogram, uniform_one_to_a_hundred_thousand)
{
	static uint64_t v[100000];
	for (size_t i = 0; i < 100000; i++)
		v[i] = i + 1;
	check_against(v, 100000);
}

Test(histogram, exponential_round_trips)
{
	enum { N = 200000 };
	static uint64_t v[N];
	mws__rng rng;
	mws__rng_seed(&rng, 7);
	for (size_t i = 0; i < N; i++) {
		/* Inverse transform: mean 2 ms in microseconds, with a long tail. */
		double u = mws__rng_unit(&rng);
		double x = 0;
		for (double t = 1 - u; t < 1; t *= 1.01) /* -ln(1 - u) without libm */
			x += 0.01;
		v[i] = (uint64_t)(x * 2000);
	}
	check_against(v, N);
}

Test(histogram, log_uniform_across_thirty_two_powers_of_two)
{
	enum { N = 100000 };
	static uint64_t v[N];
	mws__rng rng;
	mws__rng_seed(&rng, 11);
	for (size_t i = 0; i < N; i++) {
		/* A random bit length 0..32, then a random value of that length. */
		unsigned bits = (unsigned)mws__rng_between(&rng, 0, 32);
		v[i] = bits ? mws__rng_next(&rng) >> (64 - bits) : 0;
	}
	check_against(v, N);
}

Test(histogram, every_bucket_boundary_up_to_two_to_the_thirty_two)
{
	/* Around each power of two and each sub-bucket edge, one value alone. */
	for (unsigned e = 4; e <= 33; e++) {
		for (uint64_t sub = 0; sub < 16; sub++) {
			uint64_t edge = (UINT64_C(1) << e) + sub * (UINT64_C(1) << (e - 4));
			uint64_t v[] = {edge - 1, edge, edge + 1};
			for (int k = 0; k < 3; k++) {
				mws__histogram h;
				mws__hist_init(&h);
				mws__hist_add(&h, v[k]);
				mws__hist_add(&h, UINT64_C(1) << 40); /* keep max out of the way */
				uint64_t got = mws__hist_quantile(&h, 0.5);
				cr_assert_geq(got, v[k]);
				cr_assert_leq((double)got, (double)v[k] * (1 + REL_ERROR),
				              "%llu read as %llu", (unsigned long long)v[k],
				              (unsigned long long)got);
			}
		}
	}
}

Test(histogram, huge_values_clamp_into_the_last_bucket_and_never_exceed_max)
{
	mws__histogram h;
	mws__hist_init(&h);
	mws__hist_add(&h, UINT64_MAX);
	mws__hist_add(&h, UINT64_C(1) << 50);
	cr_expect_eq(h.max, UINT64_MAX);
	cr_expect_eq(h.sum, UINT64_MAX, "sum saturates");
	cr_expect_eq(mws__hist_quantile(&h, 1), UINT64_MAX);
	mws__hist_init(&h);
	mws__hist_add(&h, UINT64_C(1) << 50);
	cr_expect_eq(mws__hist_quantile(&h, 0.5), UINT64_C(1) << 50);
}

Test(histogram, out_of_range_quantiles_are_clamped)
{
	mws__histogram h;
	mws__hist_init(&h);
	for (uint64_t v = 1; v <= 100; v++)
		mws__hist_add(&h, v);
	cr_expect_eq(mws__hist_quantile(&h, -1), mws__hist_quantile(&h, 0));
	cr_expect_eq(mws__hist_quantile(&h, 2), 100);
	cr_expect_eq(mws__hist_quantile(&h, 0.0 / 0.0), mws__hist_quantile(&h, 0));
}
