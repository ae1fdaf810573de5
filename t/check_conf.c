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

/* A value to find, by its typed parameter: WT(STORE_TIMEOUT, 30). */
enum wtype { W_NONE, W_STR, W_INT, W_TIME, W_BOOL };

struct want {
	enum wtype	 type;
	int		 id;		/* in the enum of its type */
	const char	*str;		/* for strings */
	long long	 num;		/* ints, times (s), bools */
};

#define WS(id, s)	{ W_STR, CONF_##id, s, 0 }
#define WI(id, n)	{ W_INT, CONF_##id, NULL, n }
#define WT(id, n)	{ W_TIME, CONF_##id, NULL, n }
#define WB(id, n)	{ W_BOOL, CONF_##id, NULL, n }
#define WNONE		{ W_NONE, 0, NULL, 0 }

struct file_case {
	const char	*name;
	const char	*text;
	struct want	 want[4];
	const char	*errors[4];	/* substrings, "FILE" = the path */
};

static const struct file_case file_cases[] = {
	{ "empty file", "", { WI(AUDIT_MAX, 20),
	    WT(STORE_TIMEOUT, 2), WT(ALERT_WINDOW, 3600) },
	    { NULL } },
	{ "comments and blanks",
	  "# a comment\n\n   # indented comment\naudit_max = 7\n",
	  { WI(AUDIT_MAX, 7) }, { NULL } },
	{ "times in every unit",
	  "store_timeout = 30\nalert_window = 10m\nretry_backoff_base=2h\n"
	  "userunknown_expiry = 2w\n",
	  { WT(STORE_TIMEOUT, 30), WT(ALERT_WINDOW, 600),
	    WT(RETRY_BACKOFF_BASE, 7200),
	    WT(USERUNKNOWN_EXPIRY, 14 * 86400) }, { NULL } },
	{ "strings keep inner blanks, lose outer ones",
	  "alert_command =   /usr/bin/logger -t bouncer   \nstore=sqlite:/x\n",
	  { WS(ALERT_COMMAND, "/usr/bin/logger -t bouncer"),
	    WS(STORE, "sqlite:/x") }, { NULL } },
	{ "empty string value", "maillog_file =\n",
	  { WS(MAILLOG_FILE, "") }, { NULL } },
	{ "continuation line",
	  "alert_command = /bin/echo\n  one two\n# comment between\n"
	  "audit_max = 3\n",
	  { WS(ALERT_COMMAND, "/bin/echo one two"),
	    WI(AUDIT_MAX, 3) }, { NULL } },
	{ "last one wins", "audit_max = 3\naudit_max = 4\n",
	  { WI(AUDIT_MAX, 4) }, { NULL } },
	{ "booleans", "success_unsuppress = no\nthrottle_provider = on\n",
	  { WB(SUCCESS_UNSUPPRESS, 0),
	    WB(THROTTLE_PROVIDER, 1) }, { NULL } },
	{ "unknown parameter",
	  "audit_max = 3\nno_such_thing = 1\n",
	  { WI(AUDIT_MAX, 3) },
	  { "FILE:2: no_such_thing: unknown parameter" } },
	{ "every error is reported",
	  "store_timeout = 5x\naudit_max = 0\nalert_window = -1\n"
	  "just words\nretry_backoff_factor = 0.5\n",
	  { WNONE },
	  { "FILE:1: store_timeout: bad value \"5x\"",
	    "FILE:2: audit_max: bad value \"0\": out of range (1 to 1000)",
	    "FILE:4: expected \"name = value\"",
	    "FILE:5: retry_backoff_factor: bad value \"0.5\": out of range" } },
	{ "bad boolean", "success_unsuppress = maybe\n", { WNONE },
	  { "FILE:1: success_unsuppress: bad value \"maybe\": expected yes "
	    "or no" } },
	{ "continuation first", "  audit_max = 3\n", { WNONE },
	  { "FILE:1: continuation line with nothing to continue" } },
};

static void
check_want(const struct conf *c, const struct want *w)
{
	switch (w->type) {
	case W_NONE:
		break;
	case W_STR:
		ck_assert_str_eq(conf_str(c, (enum conf_str_param)w->id),
		    w->str);
		break;
	case W_INT:
		ck_assert_int_eq(conf_int(c, (enum conf_int_param)w->id),
		    w->num);
		break;
	case W_TIME:
		ck_assert_int_eq(conf_time(c, (enum conf_time_param)w->id),
		    w->num);
		break;
	case W_BOOL:
		ck_assert_int_eq(conf_bool(c, (enum conf_bool_param)w->id),
		    w->num);
		break;
	}
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
	for (i = 0; i < 4 && fc->want[i].type != W_NONE; i++)
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
	{ "audit_max=5", NULL, WI(AUDIT_MAX, 5) },
	{ "store = redis+unix:/tmp/r.sock", NULL,
	  WS(STORE, "redis+unix:/tmp/r.sock") },
	{ "policy_listen=", NULL, WS(POLICY_LISTEN, "") },
	{ "alert_window=1d", NULL, WT(ALERT_WINDOW, 86400) },
	{ "audit_max", "-o: audit_max: expected name=value",
	  WNONE },
	{ "nosuch=1", "-o: nosuch: unknown parameter", WNONE },
	{ "audit_max=1001", "-o: audit_max: bad value \"1001\": out of range",
	  WNONE },
	{ "retry_backoff_factor=abc", "-o: retry_backoff_factor: bad value",
	  WNONE },
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
	ck_assert_int_eq(conf_int(c, CONF_AUDIT_MAX), 20);
	conf_unref(c);
	conf_unref(NULL);
}
END_TEST

/* --- the table ------------------------------------------------------- */

/*
 * The enumerator and name of each parameter, from conf.h's list; what
 * else the table says comes from conf_param(). The defaults are left
 * out here: some are paths that only the Makefile gives.
 */
struct row {
	const char	*id;		/* "STORE_TIMEOUT" */
	const char	*name;
};

#define R_(id, name, ...)	{ #id, #name },

static const struct row rows[] = {
	CONF_PARAMS(R_, R_, R_, R_, R_)
};

static char *
slurp(const char *rel)
{
	char *path = xasprintf("%s/%s", testlib_env("BOUNCER_SRCDIR", "."),
	    rel), *buf = NULL;
	size_t len = 0;
	FILE *fp, *out;
	int ch;

	fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: cannot read", path);
	out = open_memstream(&buf, &len);
	while ((ch = getc(fp)) != EOF)
		putc(ch, out);
	fclose(out);
	fclose(fp);
	free(path);
	return buf;
}

/*
 * Each enumerator is its parameter's name in capitals, and conf_param()
 * walks the same list in the same order.
 */
START_TEST(test_table_ids)
{
	const struct row *r = &rows[_i];
	struct conf_param cp;
	size_t i;

	ck_assert_uint_eq(strlen(r->id), strlen(r->name));
	for (i = 0; r->name[i] != '\0'; i++)
		ck_assert_msg(r->id[i] == (r->name[i] >= 'a' &&
		    r->name[i] <= 'z' ? r->name[i] - 'a' + 'A' : r->name[i]),
		    "CONF_%s for %s", r->id, r->name);
	ck_assert_uint_eq(NCASES(rows), CONF_NSTR + CONF_NINT + CONF_NTIME +
	    CONF_NBOOL + CONF_NNUM);
	ck_assert_int_eq(conf_param(_i, &cp), 1);
	ck_assert_str_eq(cp.name, r->name);
	ck_assert_int_eq(conf_param(NCASES(rows), &cp), 0);
}
END_TEST

/*
 * Every parameter is in bouncer.conf(5), with its type, either on its
 * own (".BR name \" (type") or as one of a reason's (".IB reason
 * _expiry" with the reason listed), and in the sample conf/bouncer.conf
 * at its default (unless that depends on configure's paths).
 */
START_TEST(test_table_documented)
{
	struct conf_param param, *r = &param;
	static const char *const families[] = { "_expiry",
	    "_escalate_count", "_escalate_period" };
	char *man = slurp("man/bouncer.conf.5.in");
	char *sample = slurp("conf/bouncer.conf");
	char *want;
	size_t i, n;

	ck_assert_int_eq(conf_param(_i, r), 1);
	want = xasprintf("\n.BR %s \" (%s", r->name, r->type);
	if (strstr(man, want) == NULL) {
		for (i = 0; i < NCASES(families); i++) {
			n = strlen(r->name);
			if (n > strlen(families[i]) && strcmp(r->name + n -
			    strlen(families[i]), families[i]) == 0)
				break;
		}
		ck_assert_msg(i < NCASES(families), "bouncer.conf(5) lacks "
		    "\"%s\"", want + 1);
		free(want);
		want = xasprintf("\n.IB reason %s \" \\fR(%s", families[i],
		    r->type);
		ck_assert_msg(strstr(man, want) != NULL, "bouncer.conf(5) "
		    "lacks \"%s\" for %s", want + 1, r->name);
		free(want);
		want = xasprintf("\n.B %.*s\n", (int)(strlen(r->name) -
		    strlen(families[i])), r->name);
		ck_assert_msg(strstr(man, want) != NULL, "bouncer.conf(5) "
		    "does not list the reason of %s", r->name);
	}
	free(want);
	if (strchr(r->def, '/') != NULL)
		want = xasprintf("\n#%s = ", r->name);
	else if (*r->def == '\0')
		want = xasprintf("\n#%s =\n", r->name);
	else
		want = xasprintf("\n#%s = %s\n", r->name, r->def);
	ck_assert_msg(strstr(sample, want) != NULL, "conf/bouncer.conf lacks "
	    "\"%s\"", want + 1);
	free(want);
	free(sample);
	free(man);
}
END_TEST

/* Only what a reload cannot apply is reported. */
START_TEST(test_start_changes)
{
	struct conf *a = conf_new(), *b = conf_new();
	char *err = NULL, *changed;

	ck_assert_ptr_null(conf_start_changes(a, b));
	ck_assert_int_eq(conf_set(b, "-o", "audit_max=5", NULL, &err), 0);
	ck_assert_int_eq(conf_set(b, "-o", "store=sqlite:/x", NULL, &err), 0);
	ck_assert_ptr_null(conf_start_changes(a, b));
	ck_assert_int_eq(conf_set(b, "-o", "policy_listen=unix:/p", NULL,
	    &err), 0);
	ck_assert_int_eq(conf_set(b, "-o", "milter_max_size=8192", NULL,
	    &err), 0);
	changed = conf_start_changes(a, b);
	ck_assert_str_eq(changed, "policy_listen, milter_max_size");
	free(changed);
	conf_unref(a);
	conf_unref(b);
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
	tcase_add_loop_test(tc, test_table_ids, 0, NCASES(rows));
	tcase_add_loop_test(tc, test_table_documented, 0, NCASES(rows));
	tcase_add_test(tc, test_start_changes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(conf_suite());
}
