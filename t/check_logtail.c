/*
 * check_logtail.c -- following a log file across rotation and restarts
 *
 * The follower is driven by hand (logtail_poll) on real files in a
 * temporary directory: what matters is which lines come out, once
 * each, whatever happens to the file in between.
 */
#include <sys/socket.h>
#include <sys/stat.h>
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

static int	 refuse;	/* collect_or_refuse: refuse lines now */
static unsigned	 offered;

static int
collect_or_refuse(const char *line, size_t len, void *arg)
{
	offered++;
	if (refuse)
		return -1;
	return collect(line, len, arg);
}

/* Reads slices until the follower has caught up. */
static void
poll_all(struct logtail *lt)
{
	int i;

	for (i = 0; i < 100000 && logtail_poll(lt) > 0; i++)
		;
}

/* The state file's "inode offset". */
static long long
saved_offset(const char *state, unsigned long long *ino)
{
	unsigned long long i = 0;
	long long off = -1;
	FILE *fp = fopen(state, "r");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fscanf(fp, "%llu %lld", &i, &off), 2);
	fclose(fp);
	if (ino != NULL)
		*ino = i;
	return off;
}

/* A line completed by a later read: the position covers all of it. */
START_TEST(test_line_across_reads_saved_whole)
{
	char *dir = testlib_tmpdir("logtail"), *path, *state, *err = NULL;
	const char *head = "Nov 25 09:14:03 mta postfix/smtp[1]: ";
	struct logtail *lt;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	ck_assert_int_ge(asprintf(&state, "%s/maillog.pos", dir), 0);
	reset();
	append(path, head);
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	logtail_poll(lt);
	ck_assert_uint_eq(nlines, 0);
	append(path, "X: hello\n");
	logtail_poll(lt);
	ck_assert_uint_eq(nlines, 1);
	ck_assert_int_eq(saved_offset(state, NULL), 46);
	logtail_free(lt);
	ck_assert_int_eq(saved_offset(state, NULL), 46);

	/* A restart resumes after it, and reads nothing again. */
	reset();
	append(path, "next\n");
	testlib_log_start();
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	poll_all(lt);
	ck_assert_str_eq(got, "next|");
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO,
	    "reading from the start"), 0);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO,
	    "resuming at byte 46"), 1);
	testlib_log_stop();
	logtail_free(lt);
	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(state);
}
END_TEST

/*
 * A line the callback refuses is held: nothing after it is read, the
 * position saved stays at its start, it is offered again only after a
 * back-off, and once taken the rest follows.
 */
START_TEST(test_refused_line_held)
{
	char *dir = testlib_tmpdir("logtail"), *path, *state, *err = NULL;
	struct logtail *lt;
	char why[256];
	unsigned n;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	ck_assert_int_ge(asprintf(&state, "%s/maillog.pos", dir), 0);
	reset();
	refuse = 0;
	offered = 0;
	append(path, "a\n");
	lt = logtail_file(NULL, path, state, 50, collect_or_refuse, NULL,
	    &err);
	poll_all(lt);
	ck_assert_str_eq(got, "a|");
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 1);
	ck_assert_str_eq(why, "");

	refuse = 1;
	append(path, "b\nc\n");
	testlib_log_start();
	logtail_poll(lt);
	ck_assert_uint_eq(offered, 2);
	ck_assert_uint_eq(logtail_stats(lt)->held, 1);
	ck_assert_int_eq(saved_offset(state, NULL), 2);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "held") != NULL, "%s", why);
	/* Not offered again before the back-off. */
	logtail_poll(lt);
	logtail_poll(lt);
	ck_assert_uint_eq(offered, 2);
	usleep(60 * 1000);
	logtail_poll(lt);
	ck_assert_uint_eq(offered, 3);
	/* Doubled: 100 ms now. */
	usleep(60 * 1000);
	logtail_poll(lt);
	ck_assert_uint_eq(offered, 3);
	ck_assert_int_eq(saved_offset(state, NULL), 2);
	/* One warning for the whole episode. */
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "held"), 1);

	/* A restart while held starts at the held line. */
	logtail_free(lt);
	ck_assert_int_eq(saved_offset(state, NULL), 2);
	lt = logtail_file(NULL, path, state, 50, collect_or_refuse, NULL,
	    &err);
	refuse = 0;
	n = nlines;
	poll_all(lt);
	ck_assert_str_eq(got, "a|b|c|");
	ck_assert_uint_eq(nlines, n + 2);
	ck_assert_uint_eq(logtail_stats(lt)->held, 0);
	ck_assert_int_eq(saved_offset(state, NULL), 6);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 1);

	/* Held, then taken again in the same process: caught up. */
	refuse = 1;
	append(path, "d\ne\n");
	logtail_poll(lt);
	ck_assert_uint_eq(logtail_stats(lt)->held, 1);
	refuse = 0;
	usleep(60 * 1000);
	poll_all(lt);
	ck_assert_str_eq(got, "a|b|c|d|e|");
	ck_assert_int_eq(saved_offset(state, NULL), 10);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO, "following again"),
	    1);
	testlib_log_stop();
	logtail_free(lt);
	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(state);
}
END_TEST

/* Appends lines "<tag><i>" for i in [0, n). */
static void
append_lines(const char *path, const char *tag, int n)
{
	FILE *fp = fopen(path, "a");
	int i;

	ck_assert_ptr_nonnull(fp);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%d\n", tag, i);
	fclose(fp);
}

/* Renames path.(k-1) to path.k ... and path to path.1, as logrotate. */
static void
rotate(const char *path, int keep)
{
	char from[512], to[512];
	int k;

	for (k = keep; k >= 1; k--) {
		if (k == 1)
			snprintf(from, sizeof(from), "%s", path);
		else
			snprintf(from, sizeof(from), "%s.%d", path, k - 1);
		snprintf(to, sizeof(to), "%s.%d", path, k);
		rename(from, to);
	}
	usleep(20 * 1000);	/* files apart in mtime */
}

/*
 * Several rotations between two polls, and rotations while stopped:
 * every file is read to its end, once, oldest first.
 */
START_TEST(test_rotations_between_polls)
{
	char *dir = testlib_tmpdir("logtail"), *path, *state, *err = NULL;
	char want[4096];
	struct logtail *lt;
	size_t w = 0;
	int i, j;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	ck_assert_int_ge(asprintf(&state, "%s/maillog.pos", dir), 0);
	reset();
	append_lines(path, "a", 3);
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	poll_all(lt);
	ck_assert_str_eq(got, "a0|a1|a2|");
	w = (size_t)snprintf(want, sizeof(want), "%s", got);
	/* The old file's unterminated tail, then four files more. */
	append(path, "a3");
	usleep(20 * 1000);
	rotate(path, 5);
	for (i = 0; i < 4; i++) {
		char tag[8];

		snprintf(tag, sizeof(tag), "%c", 'b' + i);
		append_lines(path, tag, 3);
		rotate(path, 5);
	}
	append_lines(path, "f", 2);
	w += (size_t)snprintf(want + w, sizeof(want) - w, "a3|");
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++)
			w += (size_t)snprintf(want + w, sizeof(want) - w,
			    "%c%d|", 'b' + i, j);
	w += (size_t)snprintf(want + w, sizeof(want) - w, "f0|f1|");
	/* A compressed sibling is never read. */
	append(path, "");
	{
		char *gz;

		ck_assert_int_ge(asprintf(&gz, "%s.6.gz", path), 0);
		append(gz, "zzz\n");
		free(gz);
	}
	poll_all(lt);
	ck_assert_str_eq(got, want);

	/* Stopped halfway through a file, rotated twice while down. */
	append_lines(path, "g", 2);
	poll_all(lt);
	logtail_free(lt);
	append_lines(path, "h", 2);
	rotate(path, 7);
	append_lines(path, "i", 2);
	rotate(path, 7);
	append_lines(path, "j", 2);
	reset();
	testlib_log_start();
	lt = logtail_file(NULL, path, state, 100, collect, NULL, &err);
	poll_all(lt);
	ck_assert_str_eq(got, "h0|h1|i0|i1|j0|j1|");
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO,
	    "reading from the start"), 0);
	testlib_log_stop();
	/* And nothing more on later polls. */
	poll_all(lt);
	ck_assert_str_eq(got, "h0|h1|i0|i1|j0|j1|");
	logtail_free(lt);
	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(state);
}
END_TEST

/* A long backlog is read in slices, each bounded. */
START_TEST(test_slices)
{
	char *dir = testlib_tmpdir("logtail"), *path, *err = NULL;
	struct logtail *lt;
	unsigned polls = 0;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	reset();
	append_lines(path, "Nov 25 09:14:03 mta postfix/smtp[1]: line ", 60000);
	lt = logtail_file(NULL, path, NULL, 100, collect, NULL, &err);
	ck_assert_uint_eq(nlines, 0);		/* nothing read at creation */
	ck_assert_int_eq(logtail_poll(lt), 1);
	ck_assert_uint_gt(nlines, 0);
	ck_assert_uint_lt(nlines, 60000);
	ck_assert_uint_gt(logtail_stats(lt)->lag, 0);
	polls = 1;
	while (logtail_poll(lt) > 0)
		polls++;
	ck_assert_uint_eq(nlines, 60000);
	ck_assert_uint_gt(polls, 4);
	ck_assert_uint_eq(logtail_stats(lt)->lag, 0);
	logtail_free(lt);
	testlib_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

/*
 * Only a regular file is read: not a FIFO (without blocking), not a
 * directory, not through a symbolic link; each said once.
 */
START_TEST(test_not_a_file)
{
	char *dir = testlib_tmpdir("logtail"), *path, *target, *err = NULL;
	struct logtail *lt;
	char why[256];
	int i;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	ck_assert_int_ge(asprintf(&target, "%s/secret", dir), 0);
	reset();
	testlib_log_start();

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	lt = logtail_file(NULL, path, NULL, 100, collect, NULL, &err);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(logtail_poll(lt), 0);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "not a regular file") != NULL, "%s", why);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "not a regular file"), 1);
	unlink(path);

	ck_assert_int_eq(mkdir(path, 0700), 0);
	for (i = 0; i < 5; i++)
		logtail_poll(lt);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	/* Still not a file: no second warning. */
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "not a regular file"), 1);
	rmdir(path);

	for (i = 0; i < 3; i++)
		logtail_poll(lt);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "does not exist") != NULL, "%s", why);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "does not exist"), 1);

	append(target, "Nov 25 09:14:03 mta postfix/smtp[1]: secret\n");
	ck_assert_int_eq(symlink(target, path), 0);
	for (i = 0; i < 3; i++)
		logtail_poll(lt);
	ck_assert_uint_eq(nlines, 0);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN,
	    "not a regular file"), 2);
	unlink(path);

	append(path, "fine\n");
	poll_all(lt);
	ck_assert_str_eq(got, "fine|");
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO, "following again"),
	    1);
	testlib_log_stop();
	logtail_free(lt);

	/* A symbolic link at start: not followed either. */
	unlink(path);
	ck_assert_int_eq(symlink(target, path), 0);
	lt = logtail_file(NULL, path, NULL, 100, collect, NULL, &err);
	poll_all(lt);
	ck_assert_str_eq(got, "fine|");
	logtail_free(lt);
	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(target);
}
END_TEST

/* A NUL byte inside a line: the line is refused, the next ones read. */
START_TEST(test_nul_line)
{
	char *dir = testlib_tmpdir("logtail"), *path, *err = NULL;
	static const char data[] = "a\nto=<nul@gmail.com\0x>, status=bounced\n"
	    "b\n";
	struct logtail *lt;
	FILE *fp;

	ck_assert_int_ge(asprintf(&path, "%s/maillog", dir), 0);
	reset();
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fwrite(data, 1, sizeof(data) - 1, fp);
	fclose(fp);
	testlib_log_start();
	lt = logtail_file(NULL, path, NULL, 100, collect, NULL, &err);
	poll_all(lt);
	ck_assert_str_eq(got, "a|b|");
	ck_assert_uint_eq(logtail_stats(lt)->nul, 1);
	fp = fopen(path, "a");
	fwrite(data, 1, sizeof(data) - 1, fp);
	fclose(fp);
	poll_all(lt);
	ck_assert_str_eq(got, "a|b|a|b|");
	ck_assert_uint_eq(logtail_stats(lt)->nul, 2);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "NUL"), 1);
	testlib_log_stop();
	logtail_free(lt);
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

/*
 * Syslog lines cannot be read again: while the callback refuses them
 * they wait in memory, in order, and are offered again after the
 * back-off. A NUL inside a datagram refuses it.
 */
START_TEST(test_syslog_held_and_nul)
{
	char *dir = testlib_tmpdir("logtail"), *path, *err = NULL;
	struct event_base *base = event_base_new();
	struct sockaddr_un sun;
	struct logtail *lt;
	char why[256];
	int fd, i;

	ck_assert_int_ge(asprintf(&path, "%s/syslog.sock", dir), 0);
	reset();
	refuse = 1;
	offered = 0;
	lt = logtail_socket(base, path, NULL, collect_or_refuse, NULL, &err);
	ck_assert_msg(lt != NULL, "%s", err ? err : "");
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_int_gt(sendto(fd, "<22>one", 7, 0,
	    (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_gt(sendto(fd, "<22>t\0wo", 8, 0,
	    (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_gt(sendto(fd, "<22>three", 9, 0,
	    (struct sockaddr *)&sun, sizeof(sun)), 0);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_uint_eq(offered, 1);		/* "three" queued behind */
	ck_assert_uint_eq(logtail_stats(lt)->held, 2);
	ck_assert_uint_eq(logtail_stats(lt)->nul, 1);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 0);
	ck_assert_msg(strstr(why, "held") != NULL, "%s", why);
	refuse = 0;
	/* The retry timer (the poll interval) delivers them, in order. */
	for (i = 0; i < 100 && nlines < 2; i++) {
		usleep(20 * 1000);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	ck_assert_str_eq(got, "one|three|");
	ck_assert_uint_eq(logtail_stats(lt)->held, 0);
	ck_assert_int_eq(logtail_health(lt, why, sizeof(why)), 1);
	close(fd);
	logtail_free(lt);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(path);
}
END_TEST

/*
 * Held syslog lines are bounded: past LOGTAIL_HELD_MAX bytes, lines are
 * dropped, counted, and warned about once; the ones held all come out.
 */
START_TEST(test_syslog_held_bound)
{
	char *dir = testlib_tmpdir("logtail"), *path, *err = NULL;
	struct event_base *base = event_base_new();
	size_t len = 8000, n = LOGTAIL_HELD_MAX / len + 50, i;
	struct sockaddr_un sun;
	struct logtail *lt;
	char *msg;
	int fd, k;

	ck_assert_int_ge(asprintf(&path, "%s/syslog.sock", dir), 0);
	reset();
	refuse = 1;
	offered = 0;
	msg = malloc(len);
	memset(msg, 'm', len);
	lt = logtail_socket(base, path, NULL, collect_or_refuse, NULL, &err);
	ck_assert_msg(lt != NULL, "%s", err ? err : "");
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	testlib_log_start();
	for (i = 0; i < n; i++)
		for (k = 0; sendto(fd, msg, len, MSG_DONTWAIT,
		    (struct sockaddr *)&sun, sizeof(sun)) < 0; k++) {
			ck_assert_int_lt(k, 10000);
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		}
	for (k = 0; k < 100; k++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_uint_eq(logtail_stats(lt)->held, LOGTAIL_HELD_MAX / len);
	ck_assert_uint_eq(logtail_stats(lt)->dropped,
	    n - LOGTAIL_HELD_MAX / len);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "dropping"), 1);
	testlib_log_stop();
	refuse = 0;
	for (k = 0; k < 2000 && nlines < LOGTAIL_HELD_MAX / len; k++) {
		usleep(5 * 1000);
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	ck_assert_uint_eq(nlines, LOGTAIL_HELD_MAX / len);
	ck_assert_uint_eq(logtail_stats(lt)->held, 0);
	close(fd);
	free(msg);
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
	tcase_add_test(tc, test_line_across_reads_saved_whole);
	tcase_add_test(tc, test_refused_line_held);
	tcase_add_test(tc, test_rotations_between_polls);
	tcase_add_test(tc, test_slices);
	tcase_add_test(tc, test_not_a_file);
	tcase_add_test(tc, test_nul_line);
	tcase_add_test(tc, test_syslog_socket);
	tcase_add_test(tc, test_syslog_held_and_nul);
	tcase_add_test(tc, test_syslog_held_bound);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(logtail_suite());
}
