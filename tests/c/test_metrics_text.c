/* The Prometheus text writer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics_text.h"

Test(metrics_text, writes_families_samples_and_labels)
{
	mws__mt mt;
	mws__mt_init(&mt);
	mws__mt_family(&mt, "x_total", "counter", "Things.");
	mws__mt_u64(&mt, "x_total", "reason=\"a\"", 3);
	mws__mt_u64(&mt, "x_total", NULL, 18446744073709551615ull);
	mws__mt_double(&mt, "y", NULL, 0.25);
	size_t n;
	char *text = mws__mt_take(&mt, &n);
	cr_assert_not_null(text);
	cr_expect_str_eq(text, "# HELP x_total Things.\n# TYPE x_total counter\n"
	                       "x_total{reason=\"a\"} 3\nx_total 18446744073709551615\ny 0.25\n");
	cr_expect_eq(n, strlen(text));
	free(text);
}

Test(metrics_text, histogram_buckets_are_cumulative_with_inf_sum_and_count)
{
	static const double bounds[] = {0.1, 1, 10};
	mws__prom_hist h;
	mws__ph_init(&h, bounds, 3);
	mws__ph_observe(&h, 0.05);
	mws__ph_observe(&h, 0.1); /* le is inclusive */
	mws__ph_observe(&h, 5);
	mws__ph_observe(&h, 100);
	mws__mt mt;
	mws__mt_init(&mt);
	mws__mt_histogram(&mt, "d_seconds", "Durations.", &h);
	char *text = mws__mt_take(&mt, NULL);
	cr_assert_not_null(text);
	cr_expect_str_eq(text, "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n"
	                       "d_seconds_bucket{le=\"0.1\"} 2\n"
	                       "d_seconds_bucket{le=\"1\"} 2\n"
	                       "d_seconds_bucket{le=\"10\"} 3\n"
	                       "d_seconds_bucket{le=\"+Inf\"} 4\n"
	                       "d_seconds_sum 105.15\n"
	                       "d_seconds_count 4\n");
	free(text);
}

Test(metrics_text, grows_past_its_first_buffer)
{
	mws__mt mt;
	mws__mt_init(&mt);
	for (int i = 0; i < 1000; i++)
		mws__mt_u64(&mt, "a_long_metric_name_for_growth", NULL, (uint64_t)i);
	size_t n;
	char *text = mws__mt_take(&mt, &n);
	cr_assert_not_null(text);
	cr_expect_gt(n, 30000);
	cr_expect(strstr(text, "a_long_metric_name_for_growth 999\n") != NULL);
	free(text);
}
