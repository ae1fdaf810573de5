/*
 * check_alloc.c -- classifying allocates nothing once warmed up
 *
 * Rules load once; after a classifier has seen its longest reply, each
 * further classification must run without a single malloc: that is what
 * lets the daemon classify at line rate without fragmenting its heap.
 * Counted with the sanitizer allocator's hooks, so this test only runs
 * in a sanitizer build (scripts/test makes one); elsewhere it says so.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "rules.h"
#include "testlib.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#endif

#ifdef HAVE_ASAN
/* From the sanitizer runtime; GCC does not install the header. */
int	__sanitizer_install_malloc_and_free_hooks(
	    void (*)(const volatile void *, size_t),
	    void (*)(const volatile void *));

static volatile unsigned long nmallocs;

static void
on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	nmallocs++;
}

static void
on_free(const volatile void *p)
{
	(void)p;
}

/* Only a sanitizer build counts, so only it needs the replies. */
static const char *const replies[][2] = {
	{ "a@gmail.com", "host gmail-smtp-in.l.google.com[142.250.4.27] "
	  "said: 550-5.1.1 The email account that you tried to reach does "
	  "not exist. Please try 550-5.1.1 double-checking the recipient's "
	  "email address for typos or 550 5.1.1 https://support.google.com/"
	  "mail/?p=NoSuchUser a1si3921pgb.41 - gsmtp (in reply to RCPT TO "
	  "command)" },
	{ "b@outlook.com", "550 5.7.1 Service unavailable, Client host "
	  "[192.0.2.12] blocked using Spamhaus. To request removal from this "
	  "list see https://www.spamhaus.org/query/ip/192.0.2.12" },
	{ "c@example.net", "connect to mx.example.net[198.51.100.25]:25: "
	  "Connection timed out" },
	{ "\"d\"@outlook.com", "550 5.5.0 Requested action not taken: "
	  "mailbox unavailable (S2017062302)." },
	{ "e@example.net", "SMTP error from remote mail server after RCPT "
	  "TO:<e@example.net>: host mx.example.net [198.51.100.25]: 550 5.1.1 "
	  "No such user here" },
	{ "f@yahoo.co.jp", "f@yahoo.co.jp: 192.0.2.20 does not like "
	  "recipient. Remote host said: 550 <f@yahoo.co.jp>... User unknown "
	  "Giving up on 192.0.2.20." },
	{ "g@example.net", "totally unknown text nobody has a rule for" },
};

#define NREPLIES (sizeof(replies) / sizeof(replies[0]))
#endif

START_TEST(test_no_alloc_per_reply)
{
#ifdef HAVE_ASAN
	const char *dir = testlib_env("BOUNCER_RULES", "rules");
	struct classification cl;
	struct classifier *c;
	struct ruleset *rs;
	unsigned long before;
	char *err = NULL;
	size_t i, round;

	rs = ruleset_load(dir, &err);
	ck_assert_msg(rs != NULL, "rules in %s: %s", dir, err ? err : "");
	c = classifier_new(rs);
	ck_assert_ptr_nonnull(c);
	/* Warm up: buffers grow to the longest reply. */
	for (i = 0; i < NREPLIES; i++)
		classify(c, rs, replies[i][0], replies[i][1],
		    strlen(replies[i][1]), NULL, NULL, &cl);
	ck_assert_int_eq(__sanitizer_install_malloc_and_free_hooks(on_malloc,
	    on_free), 1);
	before = nmallocs;
	for (round = 0; round < 100; round++)
		for (i = 0; i < NREPLIES; i++)
			classify(c, rs, replies[i][0], replies[i][1],
			    strlen(replies[i][1]), round & 1 ? "5.1.1" : NULL,
			    round & 2 ? "mx.example.net" : NULL, &cl);
	ck_assert_msg(nmallocs == before, "%lu allocations in 700 "
	    "classifications", nmallocs - before);
	__sanitizer_install_malloc_and_free_hooks(NULL, NULL);
	classifier_free(c);
	ruleset_unref(rs);
#else
	fprintf(stderr, "check_alloc: not a sanitizer build; the "
	    "allocation count is not checked\n");
#endif
}
END_TEST

static Suite *
alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("classify");

	tcase_add_test(tc, test_no_alloc_per_reply);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(alloc_suite());
}
