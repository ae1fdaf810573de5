/*
 * testlib.c -- helpers shared by the Check tests in t/
 *
 * See testlib.h. The log capture keeps every message in memory until
 * the next testlib_log_start(); tests log little, so this stays small.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#ifdef HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#include "rules.h"
#include "testlib.h"
#include "xalloc.h"

char *
testlib_tmpdir(const char *tag)
{
	const char *base = testlib_env("TMPDIR", "/tmp");
	char *path;

	path = xasprintf("%s/bouncer-%s.XXXXXX", base, tag ? tag : "test");
	if (mkdtemp(path) == NULL)
		ck_abort_msg("mkdtemp %s: %s", path, strerror(errno));
	return path;
}

char *
testlib_write(const char *dir, const char *name, const char *content)
{
	char *path;
	FILE *fp;
	size_t n = strlen(content);

	path = xasprintf("%s/%s", dir, name);
	if ((fp = fopen(path, "w")) == NULL)
		ck_abort_msg("open %s: %s", path, strerror(errno));
	if (fwrite(content, 1, n, fp) != n || fclose(fp) != 0)
		ck_abort_msg("write %s: %s", path, strerror(errno));
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path) == 0 ? 0 : -1;
}

int
testlib_rmtree(const char *path)
{
	if (path == NULL || access(path, F_OK) != 0)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

/* --- log capture ------------------------------------------------------ */

struct logmsg {
	enum log_level	 lvl;
	char		*msg;
};

static struct logmsg	*captured;
static size_t		 ncaptured;
static char		*captured_text;

static void
capture_clear(void)
{
	size_t i;

	for (i = 0; i < ncaptured; i++)
		free(captured[i].msg);
	free(captured);
	captured = NULL;
	ncaptured = 0;
	free(captured_text);
	captured_text = NULL;
}

static void
capture_hook(enum log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	captured = xreallocarray(captured, ncaptured + 1, sizeof(*captured));
	captured[ncaptured].lvl = lvl;
	captured[ncaptured].msg = xstrdup(msg);
	ncaptured++;
}

void
testlib_log_start(void)
{
	capture_clear();
	log_set_hook(capture_hook, NULL);
}

void
testlib_log_stop(void)
{
	log_set_hook(NULL, NULL);
}

size_t
testlib_log_count(enum log_level lvl, const char *substr)
{
	size_t i, n = 0;

	for (i = 0; i < ncaptured; i++)
		if (captured[i].lvl == lvl &&
		    strstr(captured[i].msg, substr) != NULL)
			n++;
	return n;
}

const char *
testlib_log_text(void)
{
	static const char *const names[] = {
		"debug", "info", "warning", "error"
	};
	size_t i, len = 1;
	char *p;

	for (i = 0; i < ncaptured; i++)
		len += strlen(names[captured[i].lvl]) + 2 +
		    strlen(captured[i].msg) + 1;
	free(captured_text);
	p = captured_text = xmalloc(len);
	*p = '\0';
	for (i = 0; i < ncaptured; i++)
		p += sprintf(p, "%s: %s\n", names[captured[i].lvl],
		    captured[i].msg);
	return captured_text;
}

/* --- a private redis-server ------------------------------------------ */

static int
unix_connects(const char *path)
{
	struct sockaddr_un sun;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 0;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return rc;
}

pid_t
testlib_redis_start(const char *dir, const char *arg1, const char *arg2)
{
	char *sock = xasprintf("%s/redis.sock", dir);
	struct timespec ts = { 0, 10 * 1000000 };
	pid_t pid;
	int i;

	unlink(sock);
	if ((pid = fork()) < 0)
		ck_abort_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("redis-server", "redis-server", "--port", "0",
		    "--unixsocket", sock, "--save", "", "--appendonly", "no",
		    "--daemonize", "no", "--dir", dir, arg1, arg2,
		    (char *)NULL);
		fprintf(stderr, "redis-server: %s\n", strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		if (unix_connects(sock)) {
			free(sock);
			return pid;
		}
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(sock);
	ck_abort_msg("redis-server did not start in %s (is it installed? "
	    "scripts/setup-deps)", dir);
	return -1;
}

void
testlib_redis_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

const char *
testlib_env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

int
testlib_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#ifdef HAVE_HIREDIS
void
testlib_redis_flush(const char *dir)
{
	char sock[4096];
	redisContext *c;
	redisReply *r;

	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	c = redisConnectUnix(sock);
	ck_assert_msg(c != NULL && !c->err, "cannot reach the test redis");
	r = redisCommand(c, "FLUSHALL");
	ck_assert_ptr_nonnull(r);
	freeReplyObject(r);
	redisFree(c);
}
#else
void
testlib_redis_flush(const char *dir)
{
	ck_abort_msg("%s: no Redis in a build without hiredis", dir);
}
#endif

int
testlib_have_redis(const char *prog)
{
#ifdef HAVE_HIREDIS
	(void)prog;
	return 1;
#else
	static int said;

	if (!said++)
		fprintf(stderr, "%s: SKIP the Redis cases: built without Redis "
		    "support (configure --without-hiredis, or no hiredis)\n",
		    prog);
	return 0;
#endif
}

/* --- clients of the servers ------------------------------------------ */

double
testlib_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
testlib_dial_unix(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { 5, 0 };
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
	    "connect %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

size_t
testlib_flood(int fd, const char *chunk, size_t len, size_t limit,
    int *stalled)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	size_t sent = 0, off = 0;
	ssize_t w;

	*stalled = 0;
	while (sent < limit) {
		if (poll(&pfd, 1, 1000) == 0) {
			*stalled = 1;
			break;
		}
		w = send(fd, chunk + off, len - off, MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		ck_assert_msg(w > 0, "send: %s", strerror(errno));
		sent += (size_t)w;
		off = (off + (size_t)w) % len;
	}
	return sent;
}

double
testlib_closed_within(int fd, double seconds)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	double t0 = testlib_now();
	char c;

	while (testlib_now() - t0 < seconds) {
		if (poll(&pfd, 1, 100) > 0 && read(fd, &c, 1) <= 0)
			return testlib_now() - t0;
	}
	return -1;
}

static void *
run_loop(void *arg)
{
	event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

pthread_t
testlib_loop_start(struct event_base *base)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, run_loop, base), 0);
	return t;
}

void
testlib_loop_stop(struct event_base *base, pthread_t t)
{
	event_base_loopbreak(base);
	pthread_join(t, NULL);
}

void
testlib_buf_add(struct testlib_buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

int
testlib_tsv_read(const char *path, testlib_tsv_fn *fn, void *arg)
{
	FILE *fp;
	char *line = NULL, **f = NULL, *t;
	size_t cap = 0, nf, fcap = 0;
	ssize_t len;
	int lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		for (nf = 0, t = line;; nf++) {
			if (nf == fcap) {
				fcap = fcap ? fcap * 2 : 8;
				f = xreallocarray(f, fcap, sizeof(*f));
			}
			f[nf] = t;
			if ((t = strchr(t, '\t')) == NULL)
				break;
			*t++ = '\0';
		}
		fn(f, nf + 1, lineno, arg);
	}
	if (ferror(fp)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	free(f);
	free(line);
	fclose(fp);
	return 1;
}

/* Gives fn the text as written, then in capitals. */
static void
each_text(const char *text, size_t len, testlib_text_fn *fn, void *arg)
{
	char *up = malloc(len + 1);
	size_t i;

	if (up == NULL)
		abort();
	fn(text, len, arg);
	for (i = 0; i < len; i++)
		up[i] = (char)((unsigned char)text[i] < 0x80 ?
		    toupper((unsigned char)text[i]) : text[i]);
	fn(up, len, arg);
	free(up);
}

/* Each line of a file, from its tab-th tab on (0: all of it). */
static size_t
each_line(const char *path, int tab, testlib_text_fn *fn, void *arg)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;
		int t;

		for (t = 0; t < tab && p != NULL; t++)
			if ((p = strchr(p, '\t')) != NULL)
				p++;
		if (p == NULL || line[0] == '#')
			continue;
		each_text(p, strcspn(p, "\t\n"), fn, arg);
		n++;
	}
	fclose(f);
	return n;
}

size_t
testlib_each_reply(testlib_text_fn *fn, void *arg)
{
	const char *src = getenv("BOUNCER_SRCDIR"),
	    *shared = getenv("BOUNCER_SHARED");
	char path[4096];
	size_t n = 0;
	DIR *d;
	struct dirent *de;

	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/t/data/sender-side.tsv", src);
		n += each_line(path, 2, fn, arg);
		snprintf(path, sizeof(path), "%s/rules", src);
		if ((d = opendir(path)) != NULL) {
			while ((de = readdir(d)) != NULL) {
				if (strstr(de->d_name, ".rules") == NULL)
					continue;
				snprintf(path, sizeof(path), "%s/rules/%s",
				    src, de->d_name);
				n += each_line(path, 0, fn, arg);
			}
			closedir(d);
		}
	}
	if (shared != NULL) {
		snprintf(path, sizeof(path), "%s/cases/seed-replies.tsv",
		    shared);
		n += each_line(path, 3, fn, arg);
	}
	return n;
}

void
testlib_agree(testlib_match_fn *fast, testlib_match_fn *all, void *h,
    const char *text, size_t len)
{
	ck_assert_msg(fast(h, text, len) == all(h, text, len), "\"%.*s\": "
	    "the prefilter skips a branch that matches", (int)len, text);
}

struct agree_arg {
	testlib_match_fn	*fast, *all;
	void			*h;
};

static void
agree_one(const char *text, size_t len, void *arg)
{
	struct agree_arg *a = arg;

	testlib_agree(a->fast, a->all, a->h, text, len);
}

size_t
testlib_agree_replies(testlib_match_fn *fast, testlib_match_fn *all, void *h)
{
	struct agree_arg a = { fast, all, h };

	return testlib_each_reply(agree_one, &a);
}

struct scanned {
	testlib_scanned_fn	*scanned;
	testlib_match_fn	*all;
	void			*h;
	const struct phrases	*set;
	struct ruleset		*rs;
	void			*scratch;
};

static int
scanned_fast(void *arg, const char *text, size_t len)
{
	struct scanned *sc = arg;
	const uint8_t *miss;

	miss = ruleset_prefilter(sc->rs, text, len, sc->scratch);
	miss = ruleset_guard_miss(sc->rs, miss, sc->set);
	ck_assert_ptr_nonnull(miss);
	return sc->scanned(sc->h, miss, text, len);
}

static int
scanned_all(void *arg, const char *text, size_t len)
{
	struct scanned *sc = arg;

	return sc->all(sc->h, text, len);
}

void
testlib_guard_scanned_sound(testlib_scanned_fn *scanned, testlib_match_fn *all,
    void *h, const struct phrases *set, const struct testlib_guard_case *c,
    size_t n)
{
	struct scanned sc = { scanned, all, h, set, NULL, NULL };
	char *err = NULL;

	sc.rs = ruleset_load(testlib_env("BOUNCER_RULES", "rules"), &err);
	ck_assert_msg(sc.rs != NULL, "rules: %s", err ? err : "");
	sc.scratch = xmalloc(ruleset_prefilter_size(sc.rs));
	testlib_guard_sound(scanned_fast, scanned_all, &sc, c, n);
	free(sc.scratch);
	ruleset_unref(sc.rs);
}

void
testlib_guard_sound(testlib_match_fn *fast, testlib_match_fn *all, void *h,
    const struct testlib_guard_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		testlib_agree(fast, all, h, c[i].text, strlen(c[i].text));
	if (getenv("BOUNCER_SRCDIR") != NULL)
		ck_assert_uint_gt(testlib_agree_replies(fast, all, h), 1000);
}
