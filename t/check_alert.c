/*
 * check_alert.c -- the alert hook: environment, no shell, timeout
 *
 * Real hook programs (shell scripts written to a temporary directory)
 * run from a real event loop; the test reads what they wrote.
 */
#include <sys/stat.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert.h"
#include "testlib.h"

/* Runs base until cond() holds or secs pass. */
static int
run_until(struct event_base *base, int (*cond)(void *), void *arg, int secs)
{
	struct timeval tick = { 0, 20000 };
	int i;

	for (i = 0; i < secs * 50; i++) {
		if (cond(arg))
			return 1;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return cond(arg);
}

static const struct alerter *cur;

static int
file_has(void *arg)
{
	return access(arg, F_OK) == 0;
}

START_TEST(test_hook_environment)
{
	char *dir = testlib_tmpdir("alert"), *hook, *out, *cmd, *body;
	struct event_base *base = event_base_new();
	struct alerter *al;
	char *err = NULL, buf[4096];
	struct alert a = {
		.kind = "blocklist", .blocklist = "spamhaus",
		.ip = "192.0.2.12", .provider = "microsoft",
		.url = "https://www.spamhaus.org/query/ip/192.0.2.12",
		.domain = "outlook.com", .reason = "blocked",
		.rule = "generic.rules:31", .first_seen = 1764062044,
		.count = 3,
	};
	FILE *fp;
	size_t n;

	ck_assert_int_ge(asprintf(&out, "%s/out", dir), 0);
	ck_assert_int_ge(asprintf(&body, "#!/bin/sh\n"
	    "{ echo \"args=$*\"; env | grep -E '^(BOUNCER_|PATH=|HOME=)' | "
	    "sort; } > %s.tmp && mv %s.tmp %s\n", out, out, out), 0);
	hook = testlib_write(dir, "hook.sh", body);
	chmod(hook, 0755);
	ck_assert_int_ge(asprintf(&cmd, "%s first-arg", hook), 0);
	setenv("HOME", "/should/not/leak", 1);
	al = alerter_new(base, cmd, 5, &err);
	ck_assert_msg(al != NULL, "%s", err ? err : "");
	alerter_raise(al, &a);
	ck_assert(run_until(base, file_has, out, 10));
	fp = fopen(out, "r");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	ck_assert_str_eq(buf,
	    "args=first-arg blocklist\n"
	    "BOUNCER_BLOCKLIST=spamhaus\n"
	    "BOUNCER_COUNT=3\n"
	    "BOUNCER_DELIST_URL=https://www.spamhaus.org/query/ip/192.0.2.12\n"
	    "BOUNCER_DOMAIN=outlook.com\n"
	    "BOUNCER_FIRST_SEEN=1764062044\n"
	    "BOUNCER_IP=192.0.2.12\n"
	    "BOUNCER_KIND=blocklist\n"
	    "BOUNCER_PROVIDER=microsoft\n"
	    "BOUNCER_REASON=blocked\n"
	    "BOUNCER_RULE=generic.rules:31\n"
	    "PATH=/usr/local/bin:/usr/bin:/bin\n");
	ck_assert_uint_eq(alerter_stats(al)->raised, 1);
	ck_assert_uint_eq(alerter_stats(al)->hooks_run, 1);
	alerter_free(al);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(hook);
	free(out);
	free(cmd);
	free(body);
}
END_TEST

static int
failed_once(void *arg)
{
	(void)arg;
	return alerter_stats(cur)->hooks_failed >= 1;
}

START_TEST(test_hook_timeout_killed)
{
	char *dir = testlib_tmpdir("alert"), *hook;
	struct event_base *base = event_base_new();
	struct alert a = { .kind = "throttle", .domain = "gmail.com" };
	struct alerter *al;
	char *err = NULL;

	hook = testlib_write(dir, "slow.sh", "#!/bin/sh\nexec sleep 60\n");
	chmod(hook, 0755);
	al = alerter_new(base, hook, 1, &err);
	ck_assert_ptr_nonnull(al);
	cur = al;
	alerter_raise(al, &a);
	ck_assert_msg(run_until(base, failed_once, NULL, 10),
	    "the hook was not killed at its timeout");
	alerter_free(al);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(hook);
}
END_TEST

START_TEST(test_bad_command)
{
	struct event_base *base = event_base_new();
	char *err = NULL;

	ck_assert_ptr_null(alerter_new(base, "relative/hook", 5, &err));
	ck_assert_ptr_nonnull(strstr(err, "not an absolute path"));
	free(err);
	event_base_free(base);
}
END_TEST

static Suite *
alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *tc = tcase_create("hook");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hook_environment);
	tcase_add_test(tc, test_hook_timeout_killed);
	tcase_add_test(tc, test_bad_command);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(alert_suite());
}
