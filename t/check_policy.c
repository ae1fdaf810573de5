/*
 * check_policy.c -- the policy protocol over a real socket
 *
 * A policy server runs on its own event loop thread, on a unix socket
 * in a temporary directory; the test talks to it as Postfix's smtpd
 * would, and as a careless client would. The answers come from a small
 * table, so what is checked is the protocol: framing, pipelining,
 * garbage, over-long requests, many connections, and failing open;
 * then the limits (connlimit.h): a client that does not read its
 * answers is not read either, a full table closes the longest idle
 * connection, and the idle and request timeouts.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "listener.h"
#include "policy.h"
#include "testlib.h"

static char		*dir, *spec, *path;
static struct event_base *base;
static struct policy	*srv;
static pthread_t	 loop;

#define T0	1764062044LL	/* 2025-11-25 */

/* The table: recipient -> answer; "fail@" makes the callback fail. */
static int
answer(const struct policy_request *req, struct answer *out, void *arg)
{
	(void)arg;
	if (req->recipient == NULL || req->protocol_state == NULL ||
	    strcmp(req->protocol_state, "RCPT") != 0)
		return 0;
	if (strcmp(req->recipient, "gone@example.com") == 0)
		*out = (struct answer){ ACT_REJECT, SCOPE_RECIPIENT,
		    R_USERUNKNOWN, "5.1.1", T0, 0, T0 };
	else if (strcmp(req->recipient, "full@example.com") == 0)
		*out = (struct answer){ ACT_DEFER, SCOPE_RECIPIENT,
		    R_MAILBOXFULL, "4.2.2", T0, T0 + 4800, T0 };
	else if (strcmp(req->recipient, "slow@example.com") == 0)
		*out = (struct answer){ ACT_DEFER, SCOPE_DESTINATION,
		    R_SPEEDING, "4.7.0", 0, T0 + 540, T0 };
	else if (strncmp(req->recipient, "fail@", 5) == 0)
		return -1;
	return 0;
}

static void
setup_with(const struct policy_limits *lim)
{
	char *err = NULL;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	dir = testlib_tmpdir("policy");
	ck_assert_int_ge(asprintf(&path, "%s/policy.sock", dir), 0);
	ck_assert_int_ge(asprintf(&spec, "unix:%s", path), 0);
	fd = listener_open(spec, 512, NULL, &err);
	ck_assert_msg(fd >= 0, "%s", err ? err : "");
	base = event_base_new();
	srv = policy_new(base, fd, lim, answer, NULL, &err);
	ck_assert_msg(srv != NULL, "%s", err ? err : "");
	loop = testlib_loop_start(base);
}

static void
setup(void)
{
	struct policy_limits lim = { 4096, 2000, 60, 10 };

	setup_with(&lim);
}

/* Four connections at most, idle for 2s, a request in 1s. */
static void
setup_small(void)
{
	struct policy_limits lim = { 4096, 4, 2, 1 };

	setup_with(&lim);
}

static void
teardown(void)
{
	testlib_loop_stop(base, loop);
	policy_free(srv);
	event_base_free(base);
	testlib_rmtree(dir);
	free(dir);
	free(spec);
	free(path);
}

static void
send_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return;		/* the server may close on us */
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one answer ("action=...\n\n"); returns "" when the peer closed. */
static const char *
recv_answer(int fd)
{
	static char buf[1024];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1) {
		r = read(fd, buf + n, 1);
		if (r <= 0)
			break;
		n++;
		if (n >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
			break;
	}
	buf[n] = '\0';
	return buf;
}

static char *
request(const char *rcpt)
{
	char *s;

	ck_assert_int_ge(asprintf(&s,
	    "request=smtpd_access_policy\nprotocol_state=RCPT\n"
	    "protocol_name=ESMTP\nhelo_name=client.example.net\n"
	    "queue_id=\nsender=news@example.net\nrecipient=%s\n"
	    "recipient_count=0\nclient_address=192.0.2.1\n"
	    "client_name=client.example.net\ninstance=1a2b.3c4d.0\n"
	    "some_future_attribute=ignored\n\n", rcpt), 0);
	return s;
}

static const struct acase {
	const char	*rcpt;
	const char	*want;
} answers[] = {
	{ "gone@example.com", "action=550 5.1.1 bouncer: recipient suppressed: "
	  "userunknown since 2025-11-25\n\n" },
	{ "full@example.com", "action=DEFER_IF_PERMIT 4.2.2 bouncer: recipient "
	  "in back-off: mailboxfull, retry in 1h20m\n\n" },
	{ "ok@example.com", "action=DUNNO\n\n" },
	{ "fail@example.com", "action=DUNNO\n\n" },
	{ "slow@example.com", "action=DEFER_IF_PERMIT 4.7.0 bouncer: "
	  "destination throttled: speeding, retry in 9m\n\n" },
};

/* policy_action() on its own: each kind, and a buffer too small. */
static const struct wcase {
	struct answer	 a;
	size_t		 bufsz;
	const char	*want;
} wordings[] = {
	{ { ACT_DUNNO, SCOPE_RECIPIENT, 0, "", 0, 0, T0 }, 512, "DUNNO" },
	{ { ACT_REJECT, SCOPE_RECIPIENT, R_HOSTUNKNOWN, "5.1.2", 0, 0, T0 },
	  512, "550 5.1.2 bouncer: recipient suppressed: hostunknown" },
	{ { ACT_DEFER, SCOPE_RECIPIENT, R_MAILBOXFULL, "4.2.2", 0,
	  T0 + 2 * 86400 + 7, T0 }, 512, "DEFER_IF_PERMIT 4.2.2 bouncer: "
	  "recipient in back-off: mailboxfull, retry in 2d" },
	{ { ACT_DEFER, SCOPE_DESTINATION, R_BLOCKED, "4.7.0", 0, T0 - 5, T0 },
	  512, "DEFER_IF_PERMIT 4.7.0 bouncer: destination throttled: "
	  "blocked, retry in 1s" },
	{ { ACT_REJECT, SCOPE_RECIPIENT, R_USERUNKNOWN, "5.1.1", 0, 0, T0 },
	  30, "550 5.1.1 bouncer: recipient " },
	{ { ACT_DUNNO, SCOPE_RECIPIENT, 0, "", 0, 0, T0 }, 3, "DU" },
	{ { ACT_REJECT, SCOPE_RECIPIENT, R_USERUNKNOWN, "5.1.1", 0, 0, T0 },
	  8, "" },
};

START_TEST(test_wording)
{
	const struct wcase *w = &wordings[_i];
	char buf[512];

	ck_assert_uint_eq(policy_action(&w->a, buf, w->bufsz),
	    strlen(w->want));
	ck_assert_str_eq(buf, w->want);
}
END_TEST

START_TEST(test_answers)
{
	int fd = testlib_dial_unix(path);
	char *req = request(answers[_i].rcpt);

	send_all(fd, req, strlen(req));
	ck_assert_str_eq(recv_answer(fd), answers[_i].want);
	/* The connection stays open for the next request. */
	send_all(fd, req, strlen(req));
	ck_assert_str_eq(recv_answer(fd), answers[_i].want);
	free(req);
	close(fd);
}
END_TEST

START_TEST(test_pipelined)
{
	char *a = request("gone@example.com"), *b = request("ok@example.com");
	char *both;
	int fd = testlib_dial_unix(path), i;

	ck_assert_int_ge(asprintf(&both, "%s%s%s", a, b, a), 0);
	send_all(fd, both, strlen(both));
	ck_assert_str_eq(recv_answer(fd), answers[0].want);
	ck_assert_str_eq(recv_answer(fd), "action=DUNNO\n\n");
	ck_assert_str_eq(recv_answer(fd), answers[0].want);
	/* One byte at a time works too. */
	for (i = 0; b[i] != '\0'; i++)
		send_all(fd, b + i, 1);
	ck_assert_str_eq(recv_answer(fd), "action=DUNNO\n\n");
	free(a);
	free(b);
	free(both);
	close(fd);
}
END_TEST

static const char nul_line[] = "request=smtpd_access_policy\nbad\0line=x\n\n";

static const struct gcase {
	const char	*bytes;
	size_t		 len;
} garbage[] = {
	{ "GET / HTTP/1.0\r\n\r\n", 18 },		/* not name=value */
	{ "=novalue\n\n", 10 },			/* empty name */
	{ "recipient=a@b\n\n", 15 },		/* no request= */
	{ nul_line, sizeof(nul_line) - 1 },	/* a NUL in a line */
};

START_TEST(test_garbage_closes_only_that_connection)
{
	int bad = testlib_dial_unix(path), good = testlib_dial_unix(path);
	char *req = request("gone@example.com");
	send_all(bad, garbage[_i].bytes, garbage[_i].len);
	ck_assert_str_eq(recv_answer(bad), "");		/* closed */
	send_all(good, req, strlen(req));
	ck_assert_str_eq(recv_answer(good), answers[0].want);
	free(req);
	close(bad);
	close(good);
}
END_TEST

START_TEST(test_huge_line)
{
	size_t n = 1024 * 1024;
	char *big = malloc(n + 2);
	int fd = testlib_dial_unix(path), good = testlib_dial_unix(path);
	char *req = request("full@example.com");

	memset(big, 'a', n);
	memcpy(big, "recipient=", 10);
	big[n] = '\n';
	big[n + 1] = '\0';
	send_all(fd, big, n + 1);
	ck_assert_str_eq(recv_answer(fd), "");
	send_all(good, req, strlen(req));
	ck_assert_str_eq(recv_answer(good), answers[1].want);
	free(big);
	free(req);
	close(fd);
	close(good);
}
END_TEST

START_TEST(test_thousand_connections)
{
	enum { N = 1000 };
	static int fds[N];
	char *req = request("gone@example.com");
	int i;

	for (i = 0; i < N; i++)
		fds[i] = testlib_dial_unix(path);
	for (i = 0; i < N; i++)
		send_all(fds[i], req, strlen(req));
	for (i = 0; i < N; i++)
		ck_assert_str_eq(recv_answer(fds[i]), answers[0].want);
	for (i = 0; i < N; i++)
		close(fds[i]);
	free(req);
}
END_TEST

/* Reads answers until want of them have come, or 10 seconds pass. */
static size_t
count_answers(int fd, size_t want)
{
	static char buf[65536];
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t got = 0, i;
	double until = testlib_now() + 10;
	char last = 0;
	ssize_t r;

	while (got < want && testlib_now() < until) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((r = read(fd, buf, sizeof(buf))) <= 0)
			break;
		for (i = 0; i < (size_t)r; i++) {
			if (buf[i] == '\n' && last == '\n')
				got++;
			last = buf[i];
		}
	}
	return got;
}

/*
 * A client that pipelines and never reads: the server stops reading it
 * once its answers wait over the watermark, rather than hold them all;
 * once the client reads, every whole request is answered.
 */
START_TEST(test_unread_answers_stop_reading)
{
	enum { NREQ = 4096 };
	static const char one[] = "request=x\n\n";
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

/*
 * The table is full: a new client closes the connection idle longest,
 * which is not the one that asked something last.
 */
START_TEST(test_full_closes_longest_idle)
{
	char *req = request("gone@example.com");
	int fds[4], late, i;

	for (i = 0; i < 4; i++)
		fds[i] = testlib_dial_unix(path);
	/* Answered in the order 1, 2, 3, 0: 1 is now the longest idle. */
	for (i = 1; i <= 4; i++) {
		send_all(fds[i % 4], req, strlen(req));
		ck_assert_str_eq(recv_answer(fds[i % 4]), answers[0].want);
	}
	late = testlib_dial_unix(path);
	send_all(late, req, strlen(req));
	ck_assert_str_eq(recv_answer(late), answers[0].want);
	ck_assert_msg(testlib_closed_within(fds[1], 1.5) >= 0,
	    "the longest idle connection is still open");
	for (i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		send_all(fds[i], req, strlen(req));
		ck_assert_str_eq(recv_answer(fds[i]), answers[0].want);
	}
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(late);
	free(req);
}
END_TEST

/* One byte at a time does not keep a request open past its timeout. */
START_TEST(test_slow_request_times_out)
{
	static const char head[] = "request=smtpd_access_policy\nrecipient=";
	int fd = testlib_dial_unix(path), closed = 0, i;
	double t0 = testlib_now(), took;

	send_all(fd, head, sizeof(head) - 1);
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
	char *req = request("ok@example.com");
	int fd = testlib_dial_unix(path), i;
	double took;

	for (i = 0; i < 10; i++) {
		send_all(fd, req, strlen(req));
		ck_assert_str_eq(recv_answer(fd), "action=DUNNO\n\n");
		ck_assert(testlib_closed_within(fd, 0.3) < 0);
	}
	took = testlib_closed_within(fd, 5);
	ck_assert_msg(took > 1.0 && took < 3.5, "closed after %.1fs idle, "
	    "want about 2s", took);
	close(fd);
	free(req);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_answers, 0,
	    sizeof(answers) / sizeof(answers[0]));
	tcase_add_test(tc, test_pipelined);
	tcase_add_loop_test(tc, test_garbage_closes_only_that_connection, 0,
	    sizeof(garbage) / sizeof(garbage[0]));
	tcase_add_test(tc, test_huge_line);
	tcase_add_test(tc, test_thousand_connections);
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
	tcase_add_loop_test(tc, test_wording, 0,
	    sizeof(wordings) / sizeof(wordings[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(policy_suite());
}
