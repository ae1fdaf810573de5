/*
 * check_writer.c -- the writer thread and its bounded queue
 *
 * Jobs run in the order they came; a full queue refuses at once and
 * never blocks; a job that asks to be retried keeps its place; a
 * writer_call() gets its job's result, or stops waiting and leaves the
 * job to the writer, which frees it; batches run between the hooks,
 * and a batch that fails to end runs again one job at a time; the idle
 * hook runs while nothing comes; at the end, what is queued is run.
 *
 * See also: writer.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "testlib.h"
#include "writer.h"
#include "xalloc.h"

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* What the jobs of one test share; touched by the writer only, unless
 * atomic. */
static struct {
	int		 order[4096];
	int		 n;
	int		 fail_left;	/* RETRY answers still to give */
	int		 gate;		/* atomic: a gated job waits for 1 */
	int		 freed;		/* atomic */
	int		 begins, ends, end_fails, afters;
	int		 idles;		/* atomic */
} g;

struct job {
	int		 id;
	int		 gated;
	int		 result;
};

static struct job *
job_new(int id)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->id = id;
	return j;
}

static void
job_free(void *p)
{
	__atomic_add_fetch(&g.freed, 1, __ATOMIC_RELAXED);
	free(p);
}

static enum writer_rc
job_run(void *p, void *arg)
{
	struct job *j = p;

	(void)arg;
	while (j->gated && !__atomic_load_n(&g.gate, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	if (g.fail_left > 0 && j->id == 0) {
		g.fail_left--;
		return WRITER_RETRY;
	}
	if (g.n < (int)(sizeof(g.order) / sizeof(g.order[0])))
		g.order[g.n++] = j->id;
	j->result = j->id * 2;
	return WRITER_DONE;
}

static int
h_begin(void *arg)
{
	(void)arg;
	g.begins++;
	return 0;
}

static int
h_end(void *arg)
{
	(void)arg;
	g.ends++;
	if (g.end_fails > 0) {
		g.end_fails--;
		return -1;
	}
	return 0;
}

static void
h_after(void *arg)
{
	(void)arg;
	g.afters++;
}

static void
h_idle(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&g.idles, 1, __ATOMIC_RELAXED);
}

static struct writer *
start(size_t max, int batches)
{
	struct writer_hooks h = { 0 };
	struct writer *w;
	char *err = NULL;

	memset(&g, 0, sizeof(g));
	h.after = h_after;
	h.idle = h_idle;
	h.idle_ms = 5;
	h.retry_ms = 1;
	if (batches) {
		h.begin = h_begin;
		h.end = h_end;
		h.batch_max = 16;
	}
	w = writer_new(max, &h, &err);
	ck_assert_msg(w != NULL, "%s", err ? err : "");
	return w;
}

START_TEST(test_order)
{
	struct writer *w = start(2000, 0);
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(writer_submit(w, job_run, job_new(i),
		    job_free, 0), 0);
	writer_free(w, 10000);
	ck_assert_int_eq(g.n, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(g.order[i], i);
	ck_assert_int_eq(g.freed, 1000);
}
END_TEST

START_TEST(test_full)
{
	struct writer *w = start(4, 0);
	struct writer_stats st;
	struct job *j = job_new(100);
	struct timespec t0, t1;
	int i, refused = 0;

	j->gated = 1;
	ck_assert_int_eq(writer_submit(w, job_run, j, job_free, 0), 0);
	for (i = 1; i <= 3; i++)
		ck_assert_int_eq(writer_submit(w, job_run, job_new(100 + i),
		    job_free, 0), 0);
	/* Full: refused at once, the job stays ours. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100; i++) {
		struct job *x = job_new(999);

		if (writer_submit(w, job_run, x, job_free, 0) < 0) {
			refused++;
			free(x);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(refused, 100);
	ck_assert(t1.tv_sec - t0.tv_sec < 1);
	j = job_new(998);
	ck_assert_int_eq(writer_call(w, job_run, j, job_free, 10), -1);
	free(j);
	writer_stats(w, &st);
	ck_assert_uint_eq(st.queued, 4);
	ck_assert_uint_eq(st.max, 4);
	ck_assert_uint_eq(st.refused, 101);
	__atomic_store_n(&g.gate, 1, __ATOMIC_RELEASE);
	writer_free(w, 10000);
	ck_assert_int_eq(g.n, 4);
	ck_assert_int_eq(g.order[0], 100);
	ck_assert_int_eq(g.order[3], 103);
}
END_TEST

START_TEST(test_retry)
{
	struct writer *w = start(100, 0);
	struct writer_stats st;

	g.fail_left = 3;
	ck_assert_int_eq(writer_submit(w, job_run, job_new(0), job_free, 0),
	    0);
	ck_assert_int_eq(writer_submit(w, job_run, job_new(1), job_free, 0),
	    0);
	sleep_ms(100);
	writer_stats(w, &st);
	ck_assert_uint_eq(st.retried, 3);
	ck_assert_int_eq(st.retrying, 0);
	writer_free(w, 10000);
	ck_assert_int_eq(g.n, 2);
	ck_assert_int_eq(g.order[0], 0);	/* kept its place */
	ck_assert_int_eq(g.order[1], 1);
}
END_TEST

START_TEST(test_retry_at_exit)
{
	struct writer *w = start(100, 0);

	g.fail_left = 1 << 30;	/* never succeeds */
	ck_assert_int_eq(writer_submit(w, job_run, job_new(0), job_free, 0),
	    0);
	ck_assert_int_eq(writer_submit(w, job_run, job_new(1), job_free, 0),
	    0);
	writer_free(w, 50);	/* gives up after 50 ms */
	ck_assert_int_eq(g.n, 1);
	ck_assert_int_eq(g.order[0], 1);
	ck_assert_int_eq(g.freed, 2);
}
END_TEST

START_TEST(test_call)
{
	struct writer *w = start(100, 0);
	struct job *j = job_new(21);
	struct writer_stats st;

	ck_assert_int_eq(writer_call(w, job_run, j, job_free, 5000), 0);
	ck_assert_int_eq(j->result, 42);
	free(j);			/* ours again */
	/* One that takes longer than the caller waits. */
	j = job_new(7);
	j->gated = 1;
	ck_assert_int_eq(writer_call(w, job_run, j, job_free, 20), -2);
	writer_stats(w, &st);
	ck_assert_uint_eq(st.abandoned, 1);
	__atomic_store_n(&g.gate, 1, __ATOMIC_RELEASE);
	writer_free(w, 10000);
	ck_assert_int_eq(g.freed, 1);	/* the writer freed it */
	ck_assert_int_eq(g.n, 2);
}
END_TEST

/* Many threads calling at once: each gets its own job's result. */
static struct writer *callers_w;

static void *
caller(void *arg)
{
	int base = (int)(long)arg, i;

	for (i = 0; i < 200; i++) {
		struct job *j = job_new(base + i);

		ck_assert_int_eq(writer_call(callers_w, job_run, j, job_free,
		    30000), 0);
		ck_assert_int_eq(j->result, 2 * (base + i));
		free(j);
	}
	return NULL;
}

START_TEST(test_call_threads)
{
	pthread_t t[4];
	long i;

	callers_w = start(8, 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, caller, (void *)(i * 1000));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	writer_free(callers_w, 10000);
	ck_assert_int_eq(g.n, 800);
	ck_assert_int_eq(g.freed, 0);
}
END_TEST

/*
 * Queues n batchable jobs (0 .. n-1) behind a gated job (500), so that
 * they wait together; lets the first end_fails batch ends fail, opens
 * the gate and waits for all of it.
 */
static void
run_batches(int n, int end_fails)
{
	struct writer *w = start(1000, 1);
	struct job *j = job_new(500);
	int i;

	j->gated = 1;
	ck_assert_int_eq(writer_submit(w, job_run, j, job_free, 0), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(writer_submit(w, job_run, job_new(i),
		    job_free, WRITER_BATCHABLE), 0);
	g.end_fails = end_fails;
	__atomic_store_n(&g.gate, 1, __ATOMIC_RELEASE);
	writer_free(w, 10000);
}

START_TEST(test_batches)
{
	int i;

	run_batches(40, 1);	/* the first batch fails as a whole */
	/* 40 in batches of 16, 16, 8; the first ran twice, as a batch. */
	ck_assert_int_eq(g.begins, 4);
	ck_assert_int_eq(g.ends, 4);
	ck_assert_int_eq(g.n, 1 + 16 + 40);
	ck_assert_int_eq(g.order[0], 500);
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(g.order[1 + i], i);	/* the failed batch */
		ck_assert_int_eq(g.order[17 + i], i);	/* again */
	}
	for (i = 16; i < 40; i++)
		ck_assert_int_eq(g.order[17 + i], i);
	ck_assert_int_eq(g.freed, 41);
	ck_assert_int_ge(g.afters, 4);
}
END_TEST

/* A batch that fails twice runs one job at a time. */
START_TEST(test_batch_fails)
{
	int i;

	run_batches(4, 2);
	ck_assert_int_eq(g.begins, 2);
	ck_assert_int_eq(g.n, 1 + 3 * 4);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(g.order[9 + i], i);
}
END_TEST

START_TEST(test_idle)
{
	struct writer *w = start(10, 0);

	sleep_ms(100);
	ck_assert_int_ge(__atomic_load_n(&g.idles, __ATOMIC_RELAXED), 3);
	writer_free(w, 0);
	writer_free(NULL, 0);
}
END_TEST

static Suite *
writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc = tcase_create("writer");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_retry);
	tcase_add_test(tc, test_retry_at_exit);
	tcase_add_test(tc, test_call);
	tcase_add_test(tc, test_call_threads);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_batch_fails);
	tcase_add_test(tc, test_idle);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(writer_suite());
}
