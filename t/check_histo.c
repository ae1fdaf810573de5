/*
 * check_histo.c -- latency histograms: buckets, snapshots, threads and
 * the Prometheus text that metrics_histogram() writes
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "histo.h"
#include "metrics.h"
#include "testlib.h"

/* One observation and the (non-cumulative) bucket it must land in. */
static const struct bucket_case {
	uint64_t	 ns;
	size_t		 bucket;
} bucket_cases[] = {
	{ 0, 0 },
	{ 1, 0 },
	{ 50000, 0 },			/* le is "less than or equal" */
	{ 50001, 1 },
	{ 100000, 1 },
	{ 999999, 4 },
	{ 1000000, 4 },			/* 1 ms */
	{ 1000001, 5 },
	{ 99999999, 10 },
	{ 100000000, 10 },		/* 0.1 s */
	{ 1000000000, 13 },		/* 1 s */
	{ 2500000001ULL, 15 },
	{ 10000000000ULL, 15 },		/* 10 s, the last finite bound */
	{ 10000000001ULL, HISTO_FINITE },	/* +Inf */
	{ 3600000000000ULL, HISTO_FINITE },	/* an hour */
};

START_TEST(test_bucket)
{
	const struct bucket_case *c = &bucket_cases[_i];
	struct histo h;
	struct histo_snap hs;
	size_t i;

	memset(&h, 0, sizeof(h));
	histo_record(&h, c->ns);
	histo_snapshot(&h, &hs);
	ck_assert_uint_eq(hs.count, 1);
	for (i = 0; i < HISTO_NBUCKETS; i++)
		ck_assert_msg(hs.cum[i] == (i >= c->bucket ? 1u : 0u),
		    "%llu ns: cumulative bucket %zu (le %s) is %llu",
		    (unsigned long long)c->ns, i, histo_bound_label(i),
		    (unsigned long long)hs.cum[i]);
	ck_assert(fabs(hs.sum - (double)c->ns / 1e9) < 1e-9);
}
END_TEST

/* The labels say the bounds, rise, and end with +Inf. */
START_TEST(test_bounds)
{
	double prev = -1, v;
	size_t i;
	char *end;

	for (i = 0; i < HISTO_FINITE; i++) {
		v = strtod(histo_bound_label(i), &end);
		ck_assert_msg(*end == '\0', "label %s", histo_bound_label(i));
		ck_assert_msg(v > prev, "label %zu does not rise", i);
		ck_assert_msg(llround(v * 1e9) == (long long)histo_bound_ns(i),
		    "label %s is not %llu ns", histo_bound_label(i),
		    (unsigned long long)histo_bound_ns(i));
		prev = v;
	}
	ck_assert_str_eq(histo_bound_label(HISTO_FINITE), "+Inf");
	ck_assert(histo_bound_ns(HISTO_FINITE) == UINT64_MAX);
}
END_TEST

/* A start in the future (a bad t0) counts as no time, not 584 years. */
START_TEST(test_since)
{
	struct histo h;
	struct histo_snap hs;
	uint64_t t0;

	memset(&h, 0, sizeof(h));
	t0 = histo_now();
	histo_since(&h, t0);
	histo_since(&h, t0 + 3600000000000ULL);
	histo_snapshot(&h, &hs);
	ck_assert_uint_eq(hs.count, 2);
	ck_assert(hs.sum < 1.0);
	ck_assert(histo_now() >= t0);
}
END_TEST

/* histo_now() is a real clock: 150 ms slept land above le="0.1". */
START_TEST(test_real_time)
{
	struct timespec ts = { 0, 150 * 1000 * 1000 };
	struct histo h;
	struct histo_snap hs;
	uint64_t t0;
	size_t i;

	memset(&h, 0, sizeof(h));
	t0 = histo_now();
	while (nanosleep(&ts, &ts) == -1)
		;
	histo_since(&h, t0);
	histo_snapshot(&h, &hs);
	ck_assert_uint_eq(hs.count, 1);
	ck_assert(hs.sum >= 0.15 && hs.sum < 60);
	for (i = 0; i < HISTO_FINITE; i++)
		if (histo_bound_ns(i) <= 100000000ULL)
			ck_assert_uint_eq(hs.cum[i], 0);
	ck_assert_uint_eq(hs.cum[HISTO_FINITE], 1);
}
END_TEST

#define WRITERS		4
#define PER_WRITER	200000

static struct histo shared;
static int writers_done;

static void *
writer(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg;
	int i;

	/* Each writer has its own bucket pattern: 1 us, 2 ms, 20 s. */
	for (i = 0; i < PER_WRITER; i++)
		histo_record(&shared, i % 3 == 0 ? 1000 + base :
		    i % 3 == 1 ? 2000000 : 20000000000ULL);
	return NULL;
}

/*
 * Writers on four threads, a reader snapshotting meanwhile: nothing is
 * lost, and every snapshot is cumulative with count == +Inf bucket.
 */
START_TEST(test_threads)
{
	pthread_t t[WRITERS];
	struct histo_snap hs, prev;
	uint64_t want_sum = 0;
	size_t i, k;
	int reads = 0;

	memset(&shared, 0, sizeof(shared));
	memset(&prev, 0, sizeof(prev));
	__atomic_store_n(&writers_done, 0, __ATOMIC_RELAXED);
	for (k = 0; k < WRITERS; k++)
		ck_assert_int_eq(pthread_create(&t[k], NULL, writer,
		    (void *)(uintptr_t)k), 0);
	do {
		histo_snapshot(&shared, &hs);
		for (i = 1; i < HISTO_NBUCKETS; i++)
			ck_assert(hs.cum[i] >= hs.cum[i - 1]);
		ck_assert(hs.count == hs.cum[HISTO_FINITE]);
		ck_assert(hs.count >= prev.count);
		prev = hs;
		reads++;
	} while (hs.count < (uint64_t)WRITERS * PER_WRITER && reads < 1000000);
	for (k = 0; k < WRITERS; k++)
		pthread_join(t[k], NULL);
	histo_snapshot(&shared, &hs);
	ck_assert_uint_eq(hs.count, (uint64_t)WRITERS * PER_WRITER);
	for (k = 0; k < WRITERS; k++)
		for (i = 0; i < PER_WRITER; i++)
			want_sum += i % 3 == 0 ? 1000 + k : i % 3 == 1 ?
			    2000000 : 20000000000ULL;
	ck_assert_uint_eq(shared.sum_ns, want_sum);
	/* 1 us: bucket 0; 2 ms: le 0.0025; 20 s: +Inf only. */
	ck_assert_uint_eq(hs.cum[0], WRITERS * ((PER_WRITER + 2) / 3));
	ck_assert_uint_eq(hs.cum[5], WRITERS * ((PER_WRITER + 2) / 3 +
	    (PER_WRITER + 1) / 3));
	ck_assert_uint_eq(hs.cum[HISTO_FINITE - 1], hs.cum[5]);
}
END_TEST

/* metrics_histogram()'s text as a string to free. */
static char *
render(const char *name, const struct histo *h)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	metrics_histogram(b, name, "Test latency.", h);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* The exposition, line by line, as Prometheus's text format wants it. */
START_TEST(test_render)
{
	struct histo h;
	char *s, *line, *save, want[128];
	size_t i = 0;
	int nline = 0;

	memset(&h, 0, sizeof(h));
	histo_record(&h, 300000);		/* le 0.0005 */
	histo_record(&h, 300000);
	histo_record(&h, 20000000);		/* le 0.025 */
	histo_record(&h, 11000000000ULL);	/* +Inf */
	s = render("bouncer_test_seconds", &h);
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), nline++) {
		if (nline == 0) {
			ck_assert_str_eq(line,
			    "# HELP bouncer_test_seconds Test latency.");
			continue;
		}
		if (nline == 1) {
			ck_assert_str_eq(line,
			    "# TYPE bouncer_test_seconds histogram");
			continue;
		}
		if (i < HISTO_NBUCKETS) {
			unsigned n = i < 3 ? 0 : i < 8 ? 2 : i < HISTO_FINITE ?
			    3 : 4;

			snprintf(want, sizeof(want),
			    "bouncer_test_seconds_bucket{le=\"%s\"} %u",
			    histo_bound_label(i), n);
			ck_assert_str_eq(line, want);
			i++;
			continue;
		}
		if (i == HISTO_NBUCKETS) {
			ck_assert_str_eq(line,
			    "bouncer_test_seconds_sum 11.020600000");
			i++;
			continue;
		}
		ck_assert_str_eq(line, "bouncer_test_seconds_count 4");
		i++;
	}
	ck_assert_int_eq(nline, 2 + HISTO_NBUCKETS + 2);
	free(s);
}
END_TEST

/* An empty histogram still has every line, all zero. */
START_TEST(test_render_empty)
{
	struct histo h;
	char *s;

	memset(&h, 0, sizeof(h));
	s = render("x_seconds", &h);
	ck_assert_ptr_nonnull(strstr(s,
	    "x_seconds_bucket{le=\"0.00005\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "x_seconds_bucket{le=\"+Inf\"} 0\n"
	    "x_seconds_sum 0.000000000\nx_seconds_count 0\n"));
	free(s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("histo");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bucket, 0,
	    (int)(sizeof(bucket_cases) / sizeof(bucket_cases[0])));
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_since);
	tcase_add_test(tc, test_real_time);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_render_empty);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
