/*
 * check_conf.c -- bouncer.conf: the keyword table and its parser
 *
 * Each file case is a configuration text and either the values it
 * must give or the errors it must report ("file:line: name: ..."),
 * every one of them. Override cases do the same for -o name=value.
 *
 * See also: conf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "testlib.h"
#include "xalloc.h"

#define NCASES(a)	(sizeof(a) / sizeof(a[0]))

struct want {
	const char	*name;
	const char	*str;		/* for strings, or NULL */
	long long	 num;		/* ints, times (s), bools */
};

struct file_case {
	const char	*name;
	const char	*text;
	struct want	 want[4];
	const char	*errors[4];	/* substrings, "FILE" = the path */
};

static const struct file_case file_cases[] = {
	{ "empty file", "", { { "audit_max", NULL, 20 },
	    { "store_timeout", NULL, 2 }, { "alert_window", NULL, 3600 } },
	    { NULL } },
	{ "comments and blanks",
	  "# a comment\n\n   # indented comment\naudit_max = 7\n",
	  { { "audit_max", NULL, 7 } }, { NULL } },
	{ "times in every unit",
	  "store_timeout = 30\nalert_window = 10m\nretry_backoff_base=2h\n"
	  "userunknown_expiry = 2w\n",
	  { { "store_timeout", NULL, 30 }, { "alert_window", NULL, 600 },
	    { "retry_backoff_base", NULL, 7200 },
	    { "userunknown_expiry", NULL, 14 * 86400 } }, { NULL } },
	{ "strings keep inner blanks, lose outer ones",
	  "alert_command =   /usr/bin/logger -t bouncer   \nstore=sqlite:/x\n",
	  { { "alert_command", "/usr/bin/logger -t bouncer", 0 },
	    { "store", "sqlite:/x", 0 } }, { NULL } },
	{ "empty string value", "maillog_file =\n",
	  { { "maillog_file", "", 0 } }, { NULL } },
	{ "continuation line",
	  "alert_command = /bin/echo\n  one two\n# comment between\n"
	  "audit_max = 3\n",
	  { { "alert_command", "/bin/echo one two", 0 },
	    { "audit_max", NULL, 3 } }, { NULL } },
	{ "last one wins", "audit_max = 3\naudit_max = 4\n",
	  { { "audit_max", NULL, 4 } }, { NULL } },
	{ "booleans", "success_unsuppress = no\nthrottle_provider = on\n",
	  { { "success_unsuppress", NULL, 0 },
	    { "throttle_provider", NULL, 1 } }, { NULL } },
	{ "unknown parameter",
	  "audit_max = 3\nno_such_thing = 1\n",
	  { { "audit_max", NULL, 3 } },
	  { "FILE:2: no_such_thing: unknown parameter" } },
	{ "every error is reported",
	  "store_timeout = 5x\naudit_max = 0\nalert_window = -1\n"
	  "just words\nretry_backoff_factor = 0.5\n",
	  { { NULL } },
	  { "FILE:1: store_timeout: bad value \"5x\"",
	    "FILE:2: audit_max: bad value \"0\": out of range (1 to 1000)",
	    "FILE:4: expected \"name = value\"",
	    "FILE:5: retry_backoff_factor: bad value \"0.5\": out of range" } },
	{ "bad boolean", "success_unsuppress = maybe\n", { { NULL } },
	  { "FILE:1: success_unsuppress: bad value \"maybe\": expected yes "
	    "or no" } },
	{ "continuation first", "  audit_max = 3\n", { { NULL } },
	  { "FILE:1: continuation line with nothing to continue" } },
};

static void
check_want(const struct conf *c, const struct want *w)
{
	if (w->str != NULL)
		ck_assert_str_eq(conf_str(c, w->name), w->str);
	else if (strcmp(w->name, "success_unsuppress") == 0 ||
	    strcmp(w->name, "throttle_provider") == 0)
		ck_assert_int_eq(conf_bool(c, w->name), w->num);
	else if (strcmp(w->name, "audit_max") == 0)
		ck_assert_int_eq(conf_int(c, w->name), w->num);
	else
		ck_assert_int_eq(conf_time(c, w->name), w->num);
}

START_TEST(test_file)
{
	const struct file_case *fc = &file_cases[_i];
	char *dir = testlib_tmpdir("conf"), *path, *err = NULL, want[512];
	struct conf *c = conf_new();
	size_t i;
	int rc;

	path = testlib_write(dir, "bouncer.conf", fc->text);
	rc = conf_load(c, path, 0, &err);
	if (fc->errors[0] == NULL) {
		ck_assert_msg(rc == 0, "%s: %s", fc->name, err ? err : "");
		ck_assert_ptr_null(err);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_nonnull(err);
		for (i = 0; i < 4 && fc->errors[i] != NULL; i++) {
			const char *e = fc->errors[i];

			if (strncmp(e, "FILE", 4) == 0)
				snprintf(want, sizeof(want), "%s%s", path,
				    e + 4);
			else
				snprintf(want, sizeof(want), "%s", e);
			ck_assert_msg(strstr(err, want) != NULL,
			    "%s: want \"%s\" in:\n%s", fc->name, want, err);
		}
	}
	for (i = 0; i < 4 && fc->want[i].name != NULL; i++)
		check_want(c, &fc->want[i]);
	free(err);
	conf_unref(c);
	free(path);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

struct override_case {
	const char	*arg;
	const char	*error;		/* NULL: accepted */
	struct want	 want;
};

static const struct override_case overrides[] = {
	{ "audit_max=5", NULL, { "audit_max", NULL, 5 } },
	{ "store = redis+unix:/tmp/r.sock", NULL,
	  { "store", "redis+unix:/tmp/r.sock", 0 } },
	{ "policy_listen=", NULL, { "policy_listen", "", 0 } },
	{ "alert_window=1d", NULL, { "alert_window", NULL, 86400 } },
	{ "audit_max", "-o: audit_max: expected name=value",
	  { NULL, NULL, 0 } },
	{ "nosuch=1", "-o: nosuch: unknown parameter", { NULL, NULL, 0 } },
	{ "audit_max=1001", "-o: audit_max: bad value \"1001\": out of range",
	  { NULL, NULL, 0 } },
	{ "retry_backoff_factor=abc", "-o: retry_backoff_factor: bad value",
	  { NULL, NULL, 0 } },
};

START_TEST(test_override)
{
	const struct override_case *oc = &overrides[_i];
	struct conf *c = conf_new();
	char *err = NULL;
	int rc;

	rc = conf_set(c, "-o", oc->arg, NULL, &err);
	if (oc->error == NULL) {
		ck_assert_msg(rc == 0, "%s: %s", oc->arg, err ? err : "");
		check_want(c, &oc->want);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_msg(err != NULL && strstr(err, oc->error) != NULL,
		    "%s: want \"%s\", got \"%s\"", oc->arg, oc->error,
		    err ? err : "(null)");
	}
	free(err);
	conf_unref(c);
}
END_TEST

START_TEST(test_missing_file)
{
	struct conf *c = conf_new();
	char *err = NULL;

	ck_assert_int_eq(conf_load(c, "/nonexistent/bouncer.conf", 1, &err),
	    0);
	ck_assert_ptr_null(err);
	ck_assert_int_eq(conf_load(c, "/nonexistent/bouncer.conf", 0, &err),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/bouncer.conf: No "
	    "such file"));
	free(err);
	conf_unref(c);
}
END_TEST

START_TEST(test_print)
{
	struct conf *c = conf_new();
	char *err = NULL, *buf = NULL;
	size_t len = 0;
	FILE *fp;

	ck_assert_int_eq(conf_set(c, "-o", "audit_max=9", NULL, &err), 0);
	/* Setting a default value explicitly is not "non-default". */
	ck_assert_int_eq(conf_set(c, "-o", "alert_window=60m", NULL, &err), 0);
	fp = open_memstream(&buf, &len);
	conf_print(c, fp, 1, NULL, 0);
	fclose(fp);
	ck_assert_str_eq(buf, "audit_max = 9\n");
	free(buf);
	fp = open_memstream(&buf, &len);
	conf_print(c, fp, 0, NULL, 0);
	fclose(fp);
	/* Every daemon parameter is listed, with its default. */
	ck_assert_ptr_nonnull(strstr(buf, "\npolicy_listen = "
	    "inet:127.0.0.1:10040\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nmetrics_listen = "
	    "127.0.0.1:9150\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nmilter_listen = \n"));
	ck_assert_ptr_nonnull(strstr(buf,
	    "\nmailboxfull_escalate_count = 5\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\nalert_window = 60m\n"));
	free(buf);
	conf_unref(c);
}
END_TEST

START_TEST(test_refcount)
{
	struct conf *c = conf_new();

	ck_assert_ptr_eq(conf_ref(c), c);
	conf_unref(c);
	ck_assert_int_eq(conf_int(c, "audit_max"), 20);
	conf_unref(c);
	conf_unref(NULL);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("conf");

	tcase_add_loop_test(tc, test_file, 0, NCASES(file_cases));
	tcase_add_loop_test(tc, test_override, 0, NCASES(overrides));
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_refcount);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(conf_suite());
}
