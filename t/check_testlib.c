/*
 * check_testlib.c -- the test helpers themselves
 *
 * The other tests trust t/lib to make and remove their directories and
 * to see what was logged; a helper that silently did nothing would let
 * them pass for the wrong reason.
 *
 * See also: testlib.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "log.h"
#include "testlib.h"
#include "xalloc.h"

START_TEST(test_tmpdir)
{
	char *dir, *path, *sub, *outside, *kept, *lnk, buf[64];
	struct stat st;
	FILE *fp;

	dir = testlib_tmpdir("self");
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_ptr_nonnull(strstr(dir, "bouncer-self."));

	path = testlib_write(dir, "a.txt", "one\ntwo");
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf), fp), 7);
	ck_assert_int_eq(memcmp(buf, "one\ntwo", 7), 0);
	fclose(fp);
	free(testlib_write(dir, "a.txt", "x"));	/* truncates */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 1);

	sub = xasprintf("%s/sub", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	free(testlib_write(sub, "b.txt", "b"));

	/* A link to a directory outside: removed, not followed. */
	outside = testlib_tmpdir("outside");
	kept = testlib_write(outside, "kept.txt", "kept");
	lnk = xasprintf("%s/link", sub);
	ck_assert_int_eq(symlink(outside, lnk), 0);

	ck_assert_int_eq(testlib_rmtree(dir), 0);
	ck_assert_int_ne(access(dir, F_OK), 0);
	ck_assert_int_eq(access(kept, F_OK), 0);
	ck_assert_int_eq(testlib_rmtree(dir), 0);	/* gone: fine */
	ck_assert_int_eq(testlib_rmtree(NULL), 0);
	ck_assert_int_eq(testlib_rmtree(outside), 0);
	free(lnk);
	free(kept);
	free(outside);
	free(sub);
	free(path);
	free(dir);
}
END_TEST

/* Two directories for the same tag are different. */
START_TEST(test_tmpdir_unique)
{
	char *a = testlib_tmpdir("self"), *b = testlib_tmpdir("self");

	ck_assert_str_ne(a, b);
	testlib_rmtree(a);
	testlib_rmtree(b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_log_capture)
{
	testlib_log_start();
	log_warn("testlib self-test: %s: %d problems", "x.rules", 3);
	log_info("testlib self-test: loaded");
	log_error("testlib self-test: disk full");
	log_debug("not shown unless verbose");
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "x.rules: 3"), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "loaded"), 0);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_INFO, "loaded"), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_ERR, ""), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_DEBUG, ""), 0);
	ck_assert_str_eq(testlib_log_text(),
	    "warning: testlib self-test: x.rules: 3 problems\n"
	    "info: testlib self-test: loaded\n"
	    "error: testlib self-test: disk full\n");

	/* A new capture forgets the old one; after stop, nothing is kept. */
	testlib_log_start();
	ck_assert_str_eq(testlib_log_text(), "");
	log_warn("testlib self-test: second");
	testlib_log_stop();
	log_warn("testlib self-test: after stop");
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, ""), 1);
	ck_assert_uint_eq(testlib_log_count(LOG_LVL_WARN, "after"), 0);
}
END_TEST

START_TEST(test_env)
{
	setenv("BOUNCER_TESTLIB_X", "value", 1);
	ck_assert_str_eq(testlib_env("BOUNCER_TESTLIB_X", "def"), "value");
	setenv("BOUNCER_TESTLIB_X", "", 1);
	ck_assert_str_eq(testlib_env("BOUNCER_TESTLIB_X", "def"), "def");
	unsetenv("BOUNCER_TESTLIB_X");
	ck_assert_str_eq(testlib_env("BOUNCER_TESTLIB_X", "def"), "def");
	ck_assert_ptr_null(testlib_env("BOUNCER_TESTLIB_X", NULL));
}
END_TEST

/* What testlib_tsv_read() hands over, one "lineno:f1|f2" per line. */
static void
tsv_collect(char **f, size_t nf, int lineno, void *arg)
{
	struct testlib_buf *b = arg;
	char num[16];
	size_t i;

	snprintf(num, sizeof(num), "%d:", lineno);
	testlib_buf_add(b, num, strlen(num));
	for (i = 0; i < nf; i++) {
		if (i)
			testlib_buf_add(b, "|", 1);
		testlib_buf_add(b, f[i], strlen(f[i]));
	}
	testlib_buf_add(b, "\n", 1);
}

START_TEST(test_tsv_read)
{
	struct testlib_buf b = { 0 };
	char *dir = testlib_tmpdir("tsv"), *path, *missing;

	path = testlib_write(dir, "t.tsv", "a\tb\tc\r\n\n# x\n\t\nlast");
	ck_assert_int_eq(testlib_tsv_read(path, tsv_collect, &b), 1);
	ck_assert_str_eq(b.s, "1:a|b|c\n3:# x\n4:|\n5:last\n");
	missing = xasprintf("%s/none.tsv", dir);
	ck_assert_int_eq(testlib_tsv_read(missing, tsv_collect, &b), 0);
	free(missing);
	free(path);
	free(b.s);
	testlib_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
testlib_suite(void)
{
	Suite *s = suite_create("testlib");
	TCase *tc = tcase_create("helpers");

	tcase_add_test(tc, test_tmpdir);
	tcase_add_test(tc, test_tmpdir_unique);
	tcase_add_test(tc, test_log_capture);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_tsv_read);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(testlib_suite());
}
