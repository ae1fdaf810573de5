/*
 * bench_store.c -- state store throughput: lookups and recorded events
 *
 *   bench_store [-n rows] [-l lookups] [-e events] [-b sqlite|redis|all]
 *
 * For each back end: load `rows` suppressed addresses (batched), then
 * time store_lookup() on one handle, once for addresses that are all
 * in the store, once for addresses that are not, and once for a
 * working set of 10,000 addresses (half in the store) looked up again
 * and again, then time
 * engine_record() for `events` fresh events (a mix of suppress, retry
 * and throttle) in batches of 1,000. SQLite lives in a temporary
 * directory; Redis is a redis-server this program starts on a unix
 * socket there and kills when done. Figures are CPU time of this
 * process for SQLite, wall time for Redis (the server does the work).
 * With Redis, a few lookups first ask the server (a handle that is not
 * view-only, as bouncerctl's); then the view is loaded (store_refresh)
 * and the lookups answer from a view-only handle, as bouncerd's do.
 * See BENCHMARKS.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "xalloc.h"

#define T0	1800000000LL

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
addr(char *buf, size_t n, long i, int miss)
{
	snprintf(buf, n, "%s%ld@d%ld.example", miss ? "nobody" : "user", i,
	    i % 5000);
}

static pid_t
redis_start(const char *dir)
{
	char *sock = xasprintf("%s/redis.sock", dir);
	pid_t pid;
	int i;

	if ((pid = fork()) == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("redis-server", "redis-server", "--port", "0",
		    "--unixsocket", sock, "--save", "", "--appendonly", "no",
		    "--daemonize", "no", "--dir", dir, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	usleep(50000);
	free(sock);
	return pid;
}

static const char *self;

/* Resident now, from /proc (KiB), or -1. */
static long
rss_now_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(fp);
	return v;
}

/*
 * -X URI: a fresh process (the daemon after a restart) opens four
 * handles, as four threads would, and looks one address up on each:
 * the index is loaded once and shared.
 */
static int
fresh(const char *uri)
{
	struct store_answer a;
	struct store *st[4];
	char *err = NULL;
	double t = wall_now();
	int i;

	for (i = 0; i < 4; i++)
		if ((st[i] = store_open(uri, NULL, &err)) == NULL ||
		    store_lookup(st[i], "warm@up.example", T0, &a) < 0)
			return 1;
	printf("a fresh process, 4 handles: opened and loaded the index in "
	    "%.2f s; RSS %ld MiB after, %ld MiB at the peak\n",
	    wall_now() - t, rss_now_kib() / 1024, rss_kib() / 1024);
	for (i = 0; i < 4; i++)
		store_close(st[i]);
	return 0;
}

static void
run(const char *name, const char *uri, long rows, long lookups, long events,
    int cpu)
{
	double (*now)(void) = cpu ? cpu_now : wall_now;
	struct store_answer a;
	struct store_rcpt r;
	struct engine_event ev;
	struct engine *eng;
	struct store *st, *lk, *vh = NULL;
	char *err = NULL, buf[128], qid[32];
	double t, tl;
	long i, hits = 0, failed = 0, slow;

	if ((st = store_open(uri, NULL, &err)) == NULL) {
		fprintf(stderr, "bench_store: %s\n", err);
		exit(1);
	}
	t = now();
	memset(&r, 0, sizeof(r));
	r.state = RS_SUPPRESSED;
	r.reason = R_USERUNKNOWN;
	r.since = T0;
	snprintf(r.rule, sizeof(r.rule), "gmail.rules:18");
	snprintf(r.source, sizeof(r.source), "import");
	for (i = 0; i < rows; i++) {
		if (i % 10000 == 0 && store_batch_begin(st) < 0)
			exit(1);
		addr(r.rcpt, sizeof(r.rcpt), i, 0);
		if (store_put_rcpt(st, &r) < 0)
			exit(1);
		if (i % 10000 == 9999 && store_batch_end(st) < 0)
			exit(1);
	}
	if (rows % 10000 != 0)
		store_batch_end(st);
	t = now() - t;
	printf("%s: loaded %ld suppressed addresses in %.1f s (%.0f rows/s)\n",
	    name, rows, t, rows / t);

	/*
	 * What a fresh process (the daemon after a restart) pays for
	 * the index: its time and the whole process's peak RSS.
	 */
	if (cpu) {
		pid_t kid;

		fflush(stdout);
		if ((kid = fork()) == 0) {
			execl(self, self, "-X", uri, (char *)NULL);
			_exit(127);
		}
		waitpid(kid, NULL, 0);
	}
	/* The first lookup loads SQLite's index. */
	tl = now();
	store_lookup(st, "warm@up.example", T0, &a);
	tl = now() - tl;
	printf("%s: first lookup (index load) %.2f s, peak RSS %ld MiB\n",
	    name, tl, rss_kib() / 1024);
	lk = st;
	if (!cpu) {
		/*
		 * Redis: first what a handle that is not view-only does
		 * (bouncerctl query), asking the server; then the view, as
		 * bouncerd's writer loads it and its other handles answer.
		 */
		slow = lookups / 100 + 1;
		t = now();
		for (i = 0; i < slow; i++) {
			addr(buf, sizeof(buf), (i * 7919) % rows, i & 1);
			hits += store_lookup(st, buf, T0, &a) == 1;
		}
		t = now() - t;
		printf("%s: lookups from the server, half present: %.0f/s "
		    "(%.2f us each)\n", name, slow / t, t * 1e6 / slow);
		hits = 0;
		if ((vh = store_open(uri, NULL, &err)) == NULL) {
			fprintf(stderr, "bench_store: %s\n", err);
			exit(1);
		}
		store_view_only(vh);
		tl = now();
		if (store_refresh(st) < 0)
			exit(1);
		tl = now() - tl;
		printf("%s: view loaded (store_refresh) in %.2f s, peak RSS "
		    "%ld MiB; the lookups below answer from it\n", name, tl,
		    rss_kib() / 1024);
		lk = vh;
	}
	t = now();
	for (i = 0; i < lookups; i++) {
		addr(buf, sizeof(buf), (i * 7919) % rows, 0);
		hits += store_lookup(lk, buf, T0, &a) == 1;
	}
	t = now() - t;
	printf("%s: lookups, all present: %.0f/s (%.2f us each), %ld of %ld "
	    "suppressed\n", name, lookups / t, t * 1e6 / lookups, hits,
	    lookups);
	hits = 0;
	t = now();
	for (i = 0; i < lookups; i++) {
		addr(buf, sizeof(buf), (i * 7919) % rows, 1);
		hits += store_lookup(lk, buf, T0, &a) == 1;
	}
	t = now() - t;
	printf("%s: lookups, all absent:  %.0f/s (%.2f us each), %ld found\n",
	    name, lookups / t, t * 1e6 / lookups, hits);
	/*
	 * What a policy server mostly sees: the same recipients and
	 * domains again and again. A working set of 10,000 addresses,
	 * half in the store, looked up round robin.
	 */
	hits = 0;
	t = now();
	for (i = 0; i < lookups; i++) {
		addr(buf, sizeof(buf), (i / 2 % 5000) * 7919 % rows, i & 1);
		hits += store_lookup(lk, buf, T0, &a) == 1;
	}
	t = now() - t;
	printf("%s: lookups, working set of 10,000: %.0f/s (%.2f us each), "
	    "%ld found\n", name, lookups / t, t * 1e6 / lookups, hits);

	eng = engine_new(NULL, st);
	memset(&ev, 0, sizeof(ev));
	ev.source = SRC_LOG;
	ev.stage = STAGE_RCPT;
	ev.queue_id = qid;
	ev.rule = "gmail.rules:18";
	ev.status = "5.1.1";
	ev.code = 550;
	ev.reply = "550-5.1.1 The email account that you tried to reach "
	    "does not exist.";
	t = now();
	for (i = 0; i < events; i++) {
		if (i % 1000 == 0)
			engine_batch_begin(eng);
		snprintf(buf, sizeof(buf), "ev%ld@e%ld.example", i, i % 3000);
		snprintf(qid, sizeof(qid), "Q%lx", i);
		ev.rcpt = buf;
		ev.time = T0 + i;
		switch (i % 4) {
		case 0: case 1:
			ev.reason = R_USERUNKNOWN;
			ev.decision = D_SUPPRESS;
			break;
		case 2:
			ev.reason = R_MAILBOXFULL;
			ev.decision = D_RETRY;
			break;
		default:
			ev.reason = R_SPEEDING;
			ev.decision = D_THROTTLE;
			break;
		}
		if (engine_record(eng, &ev, NULL) < 0) {
			fprintf(stderr, "bench_store: engine_record failed\n");
			exit(1);
		}
		if (i % 1000 == 999 && engine_batch_end(eng, NULL, NULL) < 0)
			failed++;
	}
	if (events % 1000 != 0 && engine_batch_end(eng, NULL, NULL) < 0)
		failed++;
	t = now() - t;
	printf("%s: events recorded (engine batches of 1,000): %.0f/s (%.1f "
	    "us each), %ld batch(es) failed\n", name, events / t,
	    t * 1e6 / events, failed);
	engine_free(eng);
	store_close(vh);
	store_close(st);
}

int
main(int argc, char **argv)
{
	long rows = 1000000, lookups = 2000000, events = 200000;
	const char *which = "all";
	char *dir, *uri;
	pid_t pid;
	int ch;

	xalloc_init();		/* as the programs run */
	log_init("bench_store", 0, 0);
	self = argv[0];
	while ((ch = getopt(argc, argv, "n:l:e:b:X:")) != -1) {
		switch (ch) {
		case 'X': return fresh(optarg);
		case 'n': rows = atol(optarg); break;
		case 'l': lookups = atol(optarg); break;
		case 'e': events = atol(optarg); break;
		case 'b': which = optarg; break;
		default:
			fprintf(stderr, "usage: bench_store [-n rows] "
			    "[-l lookups] [-e events] [-b sqlite|redis|all]\n");
			return 1;
		}
	}
	if (rows < 1 || lookups < 1 || events < 1)
		return 1;
	dir = xasprintf("%s/bench-store.XXXXXX", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	if (strcmp(which, "sqlite") == 0 || strcmp(which, "all") == 0) {
		uri = xasprintf("sqlite:%s/state.db", dir);
		run("sqlite", uri, rows, lookups, events, 1);
		free(uri);
	}
	if ((strcmp(which, "redis") == 0 || strcmp(which, "all") == 0) &&
	    strstr(store_types(), "redis") == NULL)
		fprintf(stderr, "bench_store: SKIP redis: built without Redis "
		    "support\n");
	else if (strcmp(which, "redis") == 0 || strcmp(which, "all") == 0) {
		pid = redis_start(dir);
		uri = xasprintf("redis+unix:%s/redis.sock?db=0", dir);
		/* Redis answers over a socket: fewer lookups do. */
		run("redis", uri, rows, lookups, events / 4, 0);
		free(uri);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	uri = xasprintf("rm -rf '%s'", dir);
	if (system(uri) != 0)
		fprintf(stderr, "bench_store: could not remove %s\n", dir);
	free(uri);
	free(dir);
	return 0;
}
