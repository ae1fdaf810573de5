/*
 * check_socketmap.c -- the socketmap protocol over a real socket
 *
 * A socketmap server runs on its own event loop thread, on a unix
 * socket in a temporary directory; the test talks to it as Postfix's
 * socketmap client would, and as a careless one would: netstrings,
 * pipelining, garbage; then the limits (connlimit.h): a client that
 * does not read its answers is not read either, a full table closes
 * the longest idle connection, a request that trickles in is cut off
 * by the request timeout, and an idle connection by the idle one.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "listener.h"
#include "socketmap.h"
#include "testlib.h"

static char		*dir, *spec, *path;
static struct event_base *base;
static struct socketmap	*srv;
static pthread_t	 loop;

/* gone@ and full@ are found, fail@ fails, anything else is not found. */
#define T0	1764062044LL	/* 2025-11-25 */

static int
lookup(const char *name, const char *key, struct answer *out, void *arg)
{
	(void)arg;
	if (strcmp(name, "transport") != 0)
		return 0;
	if (strncmp(key, "gone@", 5) == 0) {
		*out = (struct answer){ ACT_REJECT, SCOPE_RECIPIENT,
		    R_USERUNKNOWN, "5.1.1", T0, 0, T0 };
		return 0;
	}
	if (strncmp(key, "full@", 5) == 0) {
		*out = (struct answer){ ACT_DEFER, SCOPE_RECIPIENT,
		    R_MAILBOXFULL, "4.2.2", T0, T0 + 4800, T0 };
		return 0;
	}
	if (strncmp(key, "fail@", 5) == 0)
		return -1;
	return 0;
}

static void
setup_with(const struct socketmap_limits *lim)
{
	char *err = NULL;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	dir = testlib_tmpdir("socketmap");
	ck_assert_int_ge(asprintf(&path, "%s/socketmap.sock", dir), 0);
	ck_assert_int_ge(asprintf(&spec, "unix:%s", path), 0);
	fd = listener_open(spec, 512, NULL, &err);
	ck_assert_msg(fd >= 0, "%s", err ? err : "");
	base = event_base_new();
	srv = socketmap_new(base, fd, lim, lookup, NULL, &err);
	ck_assert_msg(srv != NULL, "%s", err ? err : "");
	loop = testlib_loop_start(base);
}

static void
setup(void)
{
	struct socketmap_limits lim = { 1000, 60, 10 };

	setup_with(&lim);
}

/* Four connections at most, idle for 2s, a request in 1s. */
static void
setup_small(void)
{
	struct socketmap_limits lim = { 4, 2, 1 };

	setup_with(&lim);
}

static void
teardown(void)
{
	testlib_loop_stop(base, loop);
	socketmap_free(srv);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(spec);
	free(path);
}

static void
send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return;		/* the server may close on us */
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one netstring's text; "" when the peer closed. */
static const char *
recv_netstring(int fd)
{
	static char buf[2048];
	size_t len = 0, n = 0;
	ssize_t r;
	char c;

	for (;;) {
		if (read(fd, &c, 1) != 1)
			return "";
		if (c == ':')
			break;
		if (c < '0' || c > '9' || len > 1000)
			return "(not a netstring)";
		len = len * 10 + (size_t)(c - '0');
	}
	while (n < len + 1) {
		if ((r = read(fd, buf + n, len + 1 - n)) <= 0)
			return "";
		n += (size_t)r;
	}
	if (buf[len] != ',')
		return "(not a netstring)";
	buf[len] = '\0';
	return buf;
}

static const struct acase {
	const char	*req;
	const char	*want;
} answers[] = {
	{ "26:transport gone@example.com,", "OK error:5.1.1 bouncer: recipient "
	  "suppressed: userunknown since 2025-11-25" },
	{ "24:transport ok@example.com,", "NOTFOUND " },
	{ "26:transport fail@example.com,", "TEMP lookup failed" },
	{ "11:transportxx,", "PERM malformed request" },
	{ "26:transport full@example.com,", "OK retry:4.2.2 bouncer: recipient "
	  "in back-off: mailboxfull, retry in 1h20m" },
};

/* socketmap_value() on its own, down to a buffer too small. */
static const struct vcase {
	struct answer	 a;
	size_t		 bufsz;
	const char	*want;
} values[] = {
	{ { ACT_DUNNO, SCOPE_RECIPIENT, 0, "", 0, 0, T0 }, 512, "" },
	{ { ACT_DEFER, SCOPE_DESTINATION, R_BLOCKED, "4.7.0", 0, T0 + 540,
	  T0 }, 512, "retry:4.7.0 bouncer: destination throttled: blocked, "
	  "retry in 9m" },
	{ { ACT_REJECT, SCOPE_RECIPIENT, R_HOSTUNKNOWN, "5.1.2", 0, 0, T0 },
	  25, "error:5.1.2 bouncer: rec" },
	{ { ACT_REJECT, SCOPE_RECIPIENT, R_HOSTUNKNOWN, "5.1.2", 0, 0, T0 },
	  10, "" },
};

START_TEST(test_value)
{
	const struct vcase *v = &values[_i];
	char buf[512];

	ck_assert_uint_eq(socketmap_value(&v->a, buf, v->bufsz),
	    strlen(v->want));
	ck_assert_str_eq(buf, v->want);
}
END_TEST

START_TEST(test_answers)
{
	int fd = testlib_dial_unix(path);

	send_str(fd, answers[_i].req);
	ck_assert_str_eq(recv_netstring(fd), answers[_i].want);
	/* The connection stays open for the next one. */
	send_str(fd, answers[_i].req);
	ck_assert_str_eq(recv_netstring(fd), answers[_i].want);
	close(fd);
}
END_TEST

START_TEST(test_pipelined)
{
	int fd = testlib_dial_unix(path);
	size_t i;

	for (i = 0; i < 4; i++)
		send_str(fd, answers[i].req);
	for (i = 0; i < 4; i++)
		ck_assert_str_eq(recv_netstring(fd), answers[i].want);
	close(fd);
}
END_TEST

static const char *const garbage[] = {
	"GET / HTTP/1.0\r\n\r\n",	/* not a netstring */
	"99999:x",			/* longer than a request may be */
	"5:abcde;",			/* no comma */
};

START_TEST(test_garbage_closes_only_that_connection)
{
	int bad = testlib_dial_unix(path), good = testlib_dial_unix(path);

	send_str(bad, garbage[_i]);
	ck_assert_str_eq(recv_netstring(bad), "");
	send_str(good, answers[0].req);
	ck_assert_str_eq(recv_netstring(good), answers[0].want);
	close(bad);
	close(good);
}
END_TEST

/* Reads netstrings until want of them have come, or 10 seconds pass. */
static size_t
count_answers(int fd, size_t want)
{
	static char buf[65536];
	struct pollfd pfd = { fd, POLLIN, 0 };
	double until = testlib_now() + 10;
	size_t got = 0, i;
	ssize_t r;

	while (got < want && testlib_now() < until) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((r = read(fd, buf, sizeof(buf))) <= 0)
			break;
		for (i = 0; i < (size_t)r; i++)
			got += buf[i] == ',';
	}
	return got;
}

/*
 * A client that pipelines and never reads: the server stops reading it
 * once its answers wait over the watermark; once the client reads,
 * every whole request is answered.
 */
START_TEST(test_unread_answers_stop_reading)
{
	enum { NREQ = 4096 };
	static const char one[] = "11:transport x,";
	size_t rlen = sizeof(one) - 1, sent, i;
	char *chunk = malloc(rlen * NREQ);
	int fd = testlib_dial_unix(path), stalled;

	for (i = 0; i < NREQ; i++)
		memcpy(chunk + i * rlen, one, rlen);
	sent = testlib_flood(fd, chunk, rlen * NREQ, 8 * 1024 * 1024, &stalled);
	ck_assert_msg(stalled, "the server read %zu bytes of requests "
	    "whose answers nobody read", sent);
	ck_assert_uint_eq(count_answers(fd, sent / rlen), sent / rlen);
	free(chunk);
	close(fd);
}
END_TEST

START_TEST(test_full_closes_longest_idle)
{
	int fds[4], late, i;

	for (i = 0; i < 4; i++)
		fds[i] = testlib_dial_unix(path);
	/* Answered in the order 1, 2, 3, 0: 1 is now the longest idle. */
	for (i = 1; i <= 4; i++) {
		send_str(fds[i % 4], answers[1].req);
		ck_assert_str_eq(recv_netstring(fds[i % 4]), answers[1].want);
	}
	late = testlib_dial_unix(path);
	send_str(late, answers[0].req);
	ck_assert_str_eq(recv_netstring(late), answers[0].want);
	ck_assert_msg(testlib_closed_within(fds[1], 1.5) >= 0,
	    "the longest idle connection is still open");
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		send_str(fds[i], answers[0].req);
		ck_assert_str_eq(recv_netstring(fds[i]), answers[0].want);
	}
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(late);
}
END_TEST

START_TEST(test_slow_request_times_out)
{
	int fd = testlib_dial_unix(path), closed = 0, i;
	double t0 = testlib_now(), took;

	send_str(fd, "9000:transport ");
	for (i = 0; i < 40 && !closed; i++) {
		send(fd, "x", 1, MSG_NOSIGNAL);
		closed = testlib_closed_within(fd, 0.2) >= 0;
	}
	took = testlib_now() - t0;
	ck_assert_msg(closed, "a request trickling in for %.1fs is still "
	    "open", took);
	ck_assert_msg(took < 3.5, "closed after %.1fs, want about 1s", took);
	close(fd);
}
END_TEST

/* Requests that arrive whole keep a connection open; idleness closes it. */
START_TEST(test_idle_timeout)
{
	int fd = testlib_dial_unix(path), i;
	double took;

	for (i = 0; i < 10; i++) {
		send_str(fd, answers[1].req);
		ck_assert_str_eq(recv_netstring(fd), answers[1].want);
		ck_assert(testlib_closed_within(fd, 0.3) < 0);
	}
	took = testlib_closed_within(fd, 5);
	ck_assert_msg(took > 1.0 && took < 3.5, "closed after %.1fs idle, "
	    "want about 2s", took);
	close(fd);
}
END_TEST

static Suite *
socketmap_suite(void)
{
	Suite *s = suite_create("socketmap");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_answers, 0,
	    sizeof(answers) / sizeof(answers[0]));
	tcase_add_test(tc, test_pipelined);
	tcase_add_loop_test(tc, test_garbage_closes_only_that_connection, 0,
	    sizeof(garbage) / sizeof(garbage[0]));
	tcase_add_test(tc, test_unread_answers_stop_reading);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup_small, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_closes_longest_idle);
	tcase_add_test(tc, test_slow_request_times_out);
	tcase_add_test(tc, test_idle_timeout);
	suite_add_tcase(s, tc);

	/* The wording alone: no server. */
	tc = tcase_create("wording");
	tcase_add_loop_test(tc, test_value, 0,
	    sizeof(values) / sizeof(values[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(socketmap_suite());
}
