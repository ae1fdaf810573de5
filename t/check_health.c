/*
 * check_health.c -- named checks: states, reasons, changes logged once
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "health.h"
#include "testlib.h"

/* What health_write (or health_metrics) gives, as a string to free. */
static char *
text(const struct health *h, int metrics)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	if (metrics)
		health_metrics(h, b);
	else
		health_write(h, b);
	n = evbuffer_get_length(b);
	s = malloc(n + 1);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

START_TEST(test_empty_is_ok)
{
	struct health *h = health_new();
	char *s;

	ck_assert_int_eq(health_ok(h), 1);
	s = text(h, 0);
	ck_assert_str_eq(s, "ok\n");
	free(s);
	health_free(h);
}
END_TEST

START_TEST(test_fail_and_recover)
{
	struct health *h = health_new();
	char *s;

	testlib_log_start();
	health_set(h, "store", 1, NULL, 100);
	health_set(h, "log", 1, NULL, 100);
	ck_assert_int_eq(health_ok(h), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "health"), 0);

	/* Failing: one warning, however often it is evaluated. */
	health_set(h, "store", 0, "writing to sqlite:/x fails", 200);
	health_set(h, "store", 0, "writing to sqlite:/x fails", 202);
	health_set(h, "store", 0, "writing to sqlite:/x fails", 204);
	ck_assert_int_eq(health_ok(h), 0);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "health: store failing: writing to sqlite:/x fails"), 1);
	s = text(h, 0);
	ck_assert_str_eq(s, "store: failing since 200: "
	    "writing to sqlite:/x fails\n");
	free(s);

	/* Another reason: shown, not logged again; the time it began is
	   kept. */
	health_set(h, "store", 0, "cannot open sqlite:/x", 206);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "health: store failing"), 1);
	s = text(h, 0);
	ck_assert_ptr_nonnull(strstr(s, "since 200: cannot open"));
	free(s);

	/* Two failing checks: both listed, in the order first set. */
	health_set(h, "log", 0, "permission denied", 207);
	s = text(h, 0);
	ck_assert_str_eq(s, "store: failing since 200: cannot open "
	    "sqlite:/x\nlog: failing since 207: permission denied\n");
	free(s);
	s = text(h, 1);
	ck_assert_ptr_nonnull(strstr(s, "bouncer_health{check=\"store\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "bouncer_health{check=\"log\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "bouncer_healthy 0\n"));
	free(s);

	/* Recovery: one notice each, and ok once all are. */
	health_set(h, "store", 1, NULL, 210);
	health_set(h, "store", 1, NULL, 212);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO,
	    "health: store ok again"), 1);
	ck_assert_int_eq(health_ok(h), 0);
	health_set(h, "log", 1, "ignored when ok", 213);
	ck_assert_int_eq(health_ok(h), 1);
	s = text(h, 1);
	ck_assert_ptr_nonnull(strstr(s, "bouncer_health{check=\"log\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "bouncer_healthy 1\n"));
	free(s);
	testlib_log_stop();
	health_free(h);
}
END_TEST

START_TEST(test_long_reason_cut)
{
	struct health *h = health_new();
	char why[1000];
	char *s;

	memset(why, 'x', sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	health_set(h, "rules", 0, why, 1);
	s = text(h, 0);
	ck_assert_uint_lt(strlen(s), HEALTH_WHY_MAX + 64);
	free(s);
	health_free(h);
	health_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_is_ok);
	tcase_add_test(tc, test_fail_and_recover);
	tcase_add_test(tc, test_long_reason_cut);
	suite_add_tcase(s, tc);
	return testlib_run(s);
}
