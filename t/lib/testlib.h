/*
 * testlib.h -- helpers shared by the Check tests in t/
 *
 * Temporary directories (make one, write files into it, remove it with
 * everything inside), a capture of what the code under test logs, so
 * that a test can assert that a warning was logged (Postfix's
 * want_log), and environment lookups with defaults.
 *
 * Everything here aborts the test with ck_abort_msg() when the system
 * fails it (mkdtemp, write): a test cannot go on without its files.
 */
#ifndef BOUNCER_TESTLIB_H
#define BOUNCER_TESTLIB_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "log.h"

/*
 * Makes a fresh directory under $TMPDIR (or /tmp), named after tag.
 * The caller removes it with testlib_rmtree() and frees the path.
 */
char		*testlib_tmpdir(const char *tag);
/*
 * Writes content (as is, no newline added) to dir/name, creating or
 * truncating it. Returns the path; the caller frees it.
 */
char		*testlib_write(const char *dir, const char *name,
		    const char *content);
/*
 * Removes path and, if it is a directory, everything below it; does not
 * follow symbolic links. Returns 0, or -1 if anything was left behind.
 * A NULL or missing path is fine.
 */
int		 testlib_rmtree(const char *path);

/*
 * Starts capturing log messages at or above LOG_LVL_INFO through
 * log_set_hook(), forgetting what an earlier capture held; stops with
 * testlib_log_stop(). Messages still go to stderr as usual.
 */
void		 testlib_log_start(void);
void		 testlib_log_stop(void);
/* How many captured messages at that level contain substr. */
size_t		 testlib_log_count(enum log_level, const char *substr);
/* All captured messages, one "level: message" per line; static. */
const char	*testlib_log_text(void);

/*
 * Starts a private redis-server (--port 0, no persistence) listening on
 * dir/redis.sock, with two more arguments (e.g. "--requirepass", "pw")
 * or NULL, and waits until it accepts connections. Returns its PID;
 * aborts the test if it does not start. testlib_redis_stop() kills it
 * by that PID and reaps it; 0 or -1 is ignored.
 */
pid_t		 testlib_redis_start(const char *dir, const char *arg1,
		    const char *arg2);
void		 testlib_redis_stop(pid_t);
/*
 * Empties the redis of dir (FLUSHALL); aborts the test if unreachable.
 */
void		 testlib_redis_flush(const char *dir);
/*
 * 1 in a build with Redis (HAVE_HIREDIS). Otherwise 0, once saying on
 * stderr that prog skips its Redis cases; testlib_redis_flush() then
 * aborts the test.
 */
int		 testlib_have_redis(const char *prog);

/*
 * Clients of the daemon's servers, over real sockets.
 * testlib_dial_unix connects to a unix stream socket (aborting the
 * test if it cannot), with reads timing out after 5 seconds.
 * testlib_flood sends chunk (len bytes) over and over without reading,
 * until limit bytes are sent or the server has taken nothing for a
 * second; returns the bytes sent, *stalled saying which it was.
 * testlib_closed_within returns how many seconds it took the server to
 * close fd, or -1 if it did not within `seconds`.
 */
int		 testlib_dial_unix(const char *path);
size_t		 testlib_flood(int fd, const char *chunk, size_t len,
		    size_t limit, int *stalled);
double		 testlib_closed_within(int fd, double seconds);
/* The monotonic clock, in seconds. */
double		 testlib_now(void);

/*
 * Runs base's loop on a thread of its own until testlib_loop_stop()
 * (which breaks the loop and joins the thread).
 */
struct event_base;
pthread_t	 testlib_loop_start(struct event_base *);
void		 testlib_loop_stop(struct event_base *, pthread_t);

/*
 * Runs every test of suite s (which it frees) and returns what main()
 * should: EXIT_SUCCESS when none failed.
 */
struct Suite;
int		 testlib_run(struct Suite *s);

/* getenv(name), or def when it is unset or empty. */
const char	*testlib_env(const char *name, const char *def);

/* A growing NUL-terminated string; s is the caller's to free. */
struct testlib_buf {
	char	*s;
	size_t	 n, cap;
};

void	testlib_buf_add(struct testlib_buf *, const char *s, size_t n);

/*
 * Reads the tab-separated table at path: for each line that is not
 * empty, CR and LF cut off, calls fn with its fields split at every
 * tab (nf of them, at least 1) and its line number. The fields lie in
 * a buffer of the reader's, valid during the call only. Returns 1 once
 * the file is read, 0 if it does not exist; any other failure to read
 * it is said on stderr and exits, as fn may on a malformed line.
 */
typedef void	 testlib_tsv_fn(char **f, size_t nf, int lineno, void *arg);
int		 testlib_tsv_read(const char *path, testlib_tsv_fn *fn,
		    void *arg);

/*
 * Calls fn with every reply text the project keeps, each as written and
 * with its ASCII letters in capitals: the replies of
 * t/data/sender-side.tsv, every line of the stock rule files (their
 * test vectors among them) and, when ../shared is there, the replies of
 * its seed cases. The source tree and ../shared are BOUNCER_SRCDIR's
 * and BOUNCER_SHARED's. Returns how many texts fn was given.
 */
typedef void	 testlib_text_fn(const char *text, size_t len, void *arg);
size_t		 testlib_each_reply(testlib_text_fn *fn, void *arg);

/*
 * A guard's two ways of matching (phrases.h): with its prefilter, and
 * with every branch. testlib_agree() fails the test if they answer
 * text differently; testlib_agree_replies() asks it of every text
 * testlib_each_reply() gives and returns how many.
 */
typedef int	 testlib_match_fn(void *h, const char *text, size_t len);
void		 testlib_agree(testlib_match_fn *fast, testlib_match_fn *all,
		    void *h, const char *text, size_t len);
size_t		 testlib_agree_replies(testlib_match_fn *fast,
		    testlib_match_fn *all, void *h);

/*
 * A guard's own cases (text, and whether it must match). The prefilter
 * is sound when testlib_guard_sound() passes: the cases, and (with
 * BOUNCER_SRCDIR set) more than a thousand kept replies, get the answer
 * every branch gives.
 */
struct testlib_guard_case {
	const char	*text;
	int		 want;
};
void		 testlib_guard_sound(testlib_match_fn *fast,
		    testlib_match_fn *all, void *h,
		    const struct testlib_guard_case *c, size_t n);

/*
 * The same after the rule set's scan (BOUNCER_RULES, else ./rules),
 * which looks for the guard's literals with the rules' (rules.h:
 * ruleset_guard_miss()): scanned(h, miss, ...) is the guard's
 * X_match_scanned(), set its X_set().
 */
struct phrases;
typedef int	 testlib_scanned_fn(void *h, const unsigned char *miss,
		    const char *text, size_t len);
void		 testlib_guard_scanned_sound(testlib_scanned_fn *scanned,
		    testlib_match_fn *all, void *h, const struct phrases *set,
		    const struct testlib_guard_case *c, size_t n);

#endif
