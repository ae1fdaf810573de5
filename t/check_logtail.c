/*
 * check_logtail.c -- following a log file across rotation and restarts
 *
 * The follower is driven by hand (logtail_poll) on real files in a
 * temporary directory: what matters is which lines come out, once
 * each, whatever happens to the file in between.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "logtail.h"
#include "testlib.h"

static char	 got[1 << 16];
static size_t	 ngot;
static unsigned	 nlines;

static int
collect(const char *line, size_t len, void *arg)
{
	(void)arg;
	ck_assert_uint_eq(strlen(line), len);
	if (ngot + len + 2 < sizeof(got)) {
		memcpy(got + ngot, line, len);
		ngot += len;
		got[ngot++] = '|';
		got[ngot] = '\0';
	}
	nlines++;
	return 0;
}

static void
reset(void)
{
	ngot = 0;
	nlines = 0;
	got[0] = '\0';
}

static void
append(const char *path, const char *s)
{
	FILE *fp = fopen(path, "a");

	ck_assert_ptr_nonnull(fp);
	fputs(s, fp);
	fclose(fp);
}

START_TEST(test_follow_partial_rotate_truncate_restart)
{
	char *dir = testlib_tmpdir("logtail"), *path, *state, *old;
	struct logtail *lt;
	char *err = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	ck_assert_int_ge(asprintf(&state, "%s/maillog.pos", dir), 0);
	ck_assert_int_ge(asprintf(&old, "%s/maillog.1", dir), 0);
	reset();

	/* Not there yet: waits without complaint. */
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	ck_assert_ptr_nonnull(lt);
	logtail_poll(lt);
	ck_assert_uint_eq(nlines, 0);

	append(path, "one\ntwo\nthr");
	logtail_poll(lt);
	ck_assert_str_eq(got, "one|two|");
	append(path, "ee\r\nfour\n");
	logtail_poll(lt);
	ck_assert_str_eq(got, "one|two|three|four|");

	/* Rotation: the old file's tail, then the new file. */
	append(path, "five\nsix");
	ck_assert_int_eq(rename(path, old), 0);
	append(path, "seven\n");
	logtail_poll(lt);
	ck_assert_str_eq(got, "one|two|three|four|five|six|seven|");
	ck_assert_uint_eq(logtail_stats(lt)->rotations, 1);

	/* Truncation (copytruncate): from the start of the file again. */
	ck_assert_int_eq(truncate(path, 0), 0);
	append(path, "eight\n");
	logtail_poll(lt);
	ck_assert_str_eq(got,
	    "one|two|three|four|five|six|seven|eight|");
	ck_assert_uint_eq(logtail_stats(lt)->truncations, 1);

	/* Restart: nothing read twice, the rest read once. */
	append(path, "nine\nte");
	logtail_poll(lt);
	logtail_free(lt);
	reset();
	append(path, "n\n");
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	logtail_poll(lt);
	ck_assert_str_eq(got, "ten|");
	logtail_free(lt);

	/* A state file for another file is ignored: read from the start. */
	reset();
	unlink(path);
	append(path, "new-a\nnew-b\n");
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	logtail_poll(lt);
	ck_assert_str_eq(got, "new-a|new-b|");
	logtail_free(lt);

	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(state);
	free(old);
}
END_TEST

START_TEST(test_overlong_line_skipped)
{
	char *dir = testlib_tmpdir("logtail"), *path, *big;
	size_t n = 600 * 1024;
	struct logtail *lt;
	char *err = NULL;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	reset();
	big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	append(path, "before\n");
	append(path, big);
	append(path, "\nafter\n");
	lt = logtail_file(NULL, path, NULL, 100, collect, NULL, &err);
	while (logtail_poll(lt) > 0)
		;
	ck_assert_str_eq(got, "before|after|");
	ck_assert_uint_eq(logtail_stats(lt)->overlong, 1);
	logtail_free(lt);
	free(big);
	testlib_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

START_TEST(test_syslog_socket)
{
	char *dir = testlib_tmpdir("logtail"), *path, *err = NULL;
	struct event_base *base = event_base_new();
	struct sockaddr_un sun;
	struct logtail *lt;
	const char *msg = "<22>Nov 25 09:14:03 mta postfix/smtp[2110]: "
	    "4Bc1x2: to=<a@example.com>, status=sent (250 ok)";
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/syslog.sock", dir), 0);
	reset();
	lt = logtail_socket(base, path, NULL, collect, NULL, &err);
	ck_assert_msg(lt != NULL, "%s", err ? err : "");
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_gt(sendto(fd, msg, strlen(msg), 0,
	    (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_gt(sendto(fd, "garbage\n", 8, 0,
	    (struct sockaddr *)&sun, sizeof(sun)), 0);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_str_eq(got, "Nov 25 09:14:03 mta postfix/smtp[2110]: "
	    "4Bc1x2: to=<a@example.com>, status=sent (250 ok)|garbage|");
	close(fd);
	logtail_free(lt);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

static Suite *
logtail_suite(void)
{
	Suite *s = suite_create("logtail");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, test_follow_partial_rotate_truncate_restart);
	tcase_add_test(tc, test_overlong_line_skipped);
	tcase_add_test(tc, test_syslog_socket);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(logtail_suite());
}
