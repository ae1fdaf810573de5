/*
 * check_alert.c -- the alert hook: environment, no shell, timeout,
 * process groups, the queue
 *
 * Real hook programs (shell scripts written to a temporary directory)
 * run from a real event loop; the test reads what they wrote. Hooks
 * that must stay running wait for a file the test creates, so that
 * which one ends, and so which queued one starts, is the test's choice.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
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

/* 1 if pid is gone: no such process, or a zombie nobody reaped yet. */
static int
pid_gone(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	size_t n;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
}

static pid_t watched;

static int
watched_gone(void *arg)
{
	(void)arg;
	return pid_gone(watched);
}

static pid_t
read_pid(const char *path)
{
	FILE *fp = fopen(path, "r");
	long pid = 0;

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	ck_assert_int_gt(pid, 1);
	return (pid_t)pid;
}

static int
nothing_running(void *arg)
{
	(void)arg;
	return alerter_stats(cur)->hooks_running == 0;
}

/*
 * A hook that started a child of its own and outlives its timeout:
 * the child goes with it. With ignore_term, the hook and its child
 * ignore SIGTERM and are killed ALERT_KILL_GRACE seconds later.
 */
static void
group_case(int ignore_term)
{
	char *dir = testlib_tmpdir("alert"), *hook, *pidfile, *body;
	struct event_base *base = event_base_new();
	struct alert a = { .kind = "throttle", .domain = "gmail.com" };
	struct alerter *al;
	char *err = NULL;
	pid_t child;
	int gone;

	ck_assert_int_ge(asprintf(&pidfile, "%s/child.pid", dir), 0);
	ck_assert_int_ge(asprintf(&body, "#!/bin/sh\n%s"
	    "sleep 60 &\necho $! > %s.tmp && mv %s.tmp %s\nwait\nwait\n",
	    ignore_term ? "trap '' TERM\n" : "", pidfile, pidfile,
	    pidfile), 0);
	hook = testlib_write(dir, "spawner.sh", body);
	chmod(hook, 0755);
	al = alerter_new(base, hook, 1, &err);
	ck_assert_ptr_nonnull(al);
	cur = al;
	alerter_raise(al, &a);
	ck_assert_msg(run_until(base, file_has, pidfile, 10),
	    "the hook did not start its child");
	watched = child = read_pid(pidfile);
	ck_assert_msg(run_until(base, failed_once, NULL, 10),
	    "the hook was not stopped at its timeout");
	gone = run_until(base, watched_gone, NULL, ALERT_KILL_GRACE + 5);
	if (!gone)
		kill(child, SIGKILL);	/* leave nothing behind */
	ck_assert_msg(gone, "the hook's child (pid %ld) outlived the hook",
	    (long)child);
	ck_assert_msg(run_until(base, nothing_running, NULL, 10),
	    "the hook's slot was not freed");
	alerter_free(al);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(hook);
	free(pidfile);
	free(body);
}

START_TEST(test_hook_timeout_group)
{
	group_case(0);
}
END_TEST

START_TEST(test_hook_timeout_group_ignores_term)
{
	group_case(1);
}
END_TEST

static const char *started_path;
static size_t want_lines;

/* Lines of started_path, into lines[] (up to 64). */
static size_t
read_lines(const char *path, long *lines)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	long v;

	if (fp == NULL)
		return 0;
	while (n < 64 && fscanf(fp, "%ld", &v) == 1)
		lines[n++] = v;
	fclose(fp);
	return n;
}

static int
started_enough(void *arg)
{
	long lines[64];

	(void)arg;
	return read_lines(started_path, lines) >= want_lines;
}

static void
touch(const char *dir, long k)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/go.%ld", dir, k);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0644), 0);
	close(fd);
}

/*
 * 20 alerts raised at once: 8 hooks start, 12 wait; each hook that
 * ends lets the oldest waiting one start, so they start in the order
 * raised, and all 20 run.
 */
START_TEST(test_queue_order)
{
	char *dir = testlib_tmpdir("alert"), *hook, *started, *body;
	struct event_base *base = event_base_new();
	struct alert a = { .kind = "blocklist", .blocklist = "spamhaus" };
	struct alerter *al;
	char *err = NULL;
	long lines[64], k;
	size_t n, i;

	ck_assert_int_ge(asprintf(&started, "%s/started", dir), 0);
	ck_assert_int_ge(asprintf(&body, "#!/bin/sh\n"
	    "echo \"$BOUNCER_COUNT\" >> %s\n"
	    "while [ ! -e %s/go.$BOUNCER_COUNT ]; do sleep 0.02; done\n",
	    started, dir), 0);
	hook = testlib_write(dir, "wait.sh", body);
	chmod(hook, 0755);
	al = alerter_new(base, hook, 60, &err);
	ck_assert_ptr_nonnull(al);
	cur = al;
	started_path = started;
	for (k = 1; k <= 20; k++) {
		a.count = (unsigned long)k;
		alerter_raise(al, &a);
	}
	ck_assert_uint_eq(alerter_stats(al)->hooks_running, ALERT_MAX_HOOKS);
	ck_assert_uint_eq(alerter_stats(al)->hooks_queued,
	    20 - ALERT_MAX_HOOKS);
	want_lines = ALERT_MAX_HOOKS;
	ck_assert(run_until(base, started_enough, NULL, 10));
	/* The first eight, in whatever order they reached the file. */
	n = read_lines(started, lines);
	ck_assert_uint_eq(n, ALERT_MAX_HOOKS);
	for (k = 1; k <= ALERT_MAX_HOOKS; k++) {
		for (i = 0; i < n && lines[i] != k; i++)
			;
		ck_assert_msg(i < n, "alert %ld did not start first", k);
	}
	/* Then one at a time, as each running one is let go. */
	for (k = 1; k <= 20 - ALERT_MAX_HOOKS; k++) {
		touch(dir, k);
		want_lines = ALERT_MAX_HOOKS + (size_t)k;
		ck_assert_msg(run_until(base, started_enough, NULL, 10),
		    "no queued alert started after hook %ld ended", k);
		n = read_lines(started, lines);
		ck_assert_uint_eq(n, want_lines);
		ck_assert_int_eq(lines[n - 1], ALERT_MAX_HOOKS + k);
	}
	for (k = 20 - ALERT_MAX_HOOKS + 1; k <= 20; k++)
		touch(dir, k);
	ck_assert(run_until(base, nothing_running, NULL, 10));
	ck_assert_uint_eq(alerter_stats(al)->hooks_run, 20);
	ck_assert_uint_eq(alerter_stats(al)->hooks_queued, 0);
	ck_assert_uint_eq(alerter_stats(al)->hooks_dropped, 0);
	ck_assert_uint_eq(alerter_stats(al)->hooks_failed, 0);
	alerter_free(al);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(hook);
	free(started);
	free(body);
}
END_TEST

/*
 * More alerts than ALERT_MAX_HOOKS run and ALERT_QUEUE_MAX wait: the
 * rest are counted, and logged once, not once each.
 */
START_TEST(test_queue_overflow)
{
	char *dir = testlib_tmpdir("alert"), *hook;
	struct event_base *base = event_base_new();
	struct alert a = { .kind = "throttle", .domain = "gmail.com" };
	struct alerter *al;
	char *err = NULL;
	int i, saved, devnull;

	hook = testlib_write(dir, "slow.sh", "#!/bin/sh\nexec sleep 60\n");
	chmod(hook, 0755);
	al = alerter_new(base, hook, 60, &err);
	ck_assert_ptr_nonnull(al);
	/* A thousand "alert ..." lines are of no use on the terminal. */
	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	testlib_log_start();
	for (i = 0; i < ALERT_MAX_HOOKS + ALERT_QUEUE_MAX + 3; i++)
		alerter_raise(al, &a);
	testlib_log_stop();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	ck_assert_uint_eq(alerter_stats(al)->raised,
	    ALERT_MAX_HOOKS + ALERT_QUEUE_MAX + 3);
	ck_assert_uint_eq(alerter_stats(al)->hooks_run, ALERT_MAX_HOOKS);
	ck_assert_uint_eq(alerter_stats(al)->hooks_queued, ALERT_QUEUE_MAX);
	ck_assert_uint_eq(alerter_stats(al)->hooks_dropped, 3);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "not given to the hook"), 1);
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

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hook_environment);
	tcase_add_test(tc, test_hook_timeout_killed);
	tcase_add_test(tc, test_hook_timeout_group);
	tcase_add_test(tc, test_hook_timeout_group_ignores_term);
	tcase_add_test(tc, test_queue_order);
	tcase_add_test(tc, test_queue_overflow);
	tcase_add_test(tc, test_bad_command);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(alert_suite());
}
