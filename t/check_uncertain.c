/*
 * check_uncertain.c -- the words of the uncertainty guard
 *
 * Each case is a reply text (as rules see it, without code, status or
 * wrappers) and whether it says the lookup failed or the failure is
 * temporary. The texts that do not are dead-address wordings that hold
 * a word near the pattern's ("lookup", "directory", "try", "later"):
 * the guard must leave them alone, or it would keep dead addresses.
 *
 * See also: uncertain.h, check_property.c (the guard with the real
 * rules), bouncer-rules(5) GUARDS.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rules.h"
#include "uncertain.h"
#include "testlib.h"

static const struct testlib_guard_case cases[] = {
	/* 1. temporary */
	{ "user unknown, try again later", 1 },
	{ "User unknown. Retry later", 1 },
	{ "user unknown (temporary failure)", 1 },
	{ "Mailbox temporarily unavailable", 1 },
	{ "Greylisted, please try again in 300 seconds", 1 },
	{ "Benutzer unbekannt, bitte sp\u00e4ter erneut versuchen", 1 },
	{ "Bo\u00eete temporairement indisponible", 1 },
	{ "Mailbox unavailable. The recipient's mailbox is currently unable "
	  "to receive messages", 1 },
	{ "Remote Server returned '450 Requested mail action not taken: "
	  "mailbox unavailable'", 1 },
	{ "The response from the remote server was: 450 Benutzer unbekannt", 1 },
	{ "Diagnostic-Code: smtp; 450 Mailbox not found", 1 },
	{ "#450 User unknown ##", 1 },
	{ "Delivery incomplete. There was a temporary problem delivering your "
	  "message. Gmail will retry for 47 more hours.", 1 },
	{ "Delivery to the following recipients has been delayed: "
	  "ann@example.org", 1 },
	{ "THIS IS A WARNING MESSAGE ONLY. YOU DO NOT NEED TO RESEND YOUR "
	  "MESSAGE. User unknown", 1 },
	{ "SMTP ERROR: RCPT TO command failed: 450 Benutzer unbekannt", 1 },
	{ "smtplib.SMTPRecipientsRefused: {'ann@example.org': (450, "
	  "b'User unknown')}", 1 },
	{ "\u90ae\u7bb1\u6682\u65f6\u4e0d\u53ef\u7528", 1 },
	/* 2. busy */
	{ "Mailbox busy", 1 },
	{ "Mailbox is busy, try again", 1 },
	/* 3. a lookup that failed */
	{ "LDAP lookup failed for ann@example.org", 1 },
	{ "Unable to verify user", 1 },
	{ "Could not verify recipient: directory service unavailable", 1 },
	{ "Recipient address rejected: Address verification in progress", 1 },
	{ "Recipient validation failed: backend unavailable", 1 },
	{ "Account lookup failure", 1 },
	{ "Unknown user (LDAP server unreachable)", 1 },
	/* 4. a server not found, in other languages */
	{ "Server nicht gefunden", 1 },
	{ "Serveur introuvable", 1 },
	{ "No se encontr\u00f3 el servidor", 1 },
	{ "A postafi\u00f3k \u00e1tmenetileg nem \u00e9rhet\u0151 el", 1 },
	{ "Postfach ausgelastet", 1 },
	{ "\u0423\u0447\u0435\u0442\u043d\u0430\u044f \u0437\u0430\u043f\u0438\u0441\u044c \u0437\u0430\u043d\u044f\u0442\u0430", 1 },
	{ "LDAP-Abfrage fehlgeschlagen", 1 },
	{ "\u00c9chec de la recherche LDAP", 1 },
	{ "\u67e5\u8be2\u7528\u6237\u5931\u8d25", 1 },
	{ "\uc0ac\uc6a9\uc790 \uc870\ud68c \uc2e4\ud328", 1 },
	{ "Zeit\u00fcberschreitung bei der Empf\u00e4ngerpr\u00fcfung", 1 },
	{ "Recipient address rejected: unverified address: host "
	  "mx.example.org[192.0.2.1] said: 450 4.1.1 User unknown", 1 },
	{ "Recipient address rejected: undeliverable address: connect to "
	  "mx.example.org[192.0.2.1]:25: Connection refused", 1 },
	/* dead addresses, with words near the pattern's */
	{ "Recipient address rejected: undeliverable address: host "
	  "mx.example.org[192.0.2.1] said: 550 5.1.1 User unknown", 0 },
	{ "Benutzer im LDAP nicht gefunden", 0 },
	{ "\uc0ac\uc6a9 \uc911\uc9c0\ub41c \uacc4\uc815", 0 },
	{ "No such user here. Please verify the address and resend later", 0 },
	{ "User unknown. This is a permanent error; do not try again later", 0 },
	{ "Recipient unreachable", 0 },
	{ "Mailbox not found. If you are the sender, please check the address "
	  "and try again later", 0 },
	{ "all host address lookups failed permanently", 0 },
	{ "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP "
	  "address lookup", 0 },
	{ "User not found in directory", 0 },
	{ "The email account that you tried to reach does not exist. Please "
	  "try double-checking the recipient's email address", 0 },
	{ "User unknown; please check the address and try again", 0 },
	{ "Recipient verification failed: no such user", 0 },
	{ "Host or domain name not found", 0 },
	{ "This mailbox is unable to receive mail", 0 },
	{ "User unknown. The message will not be retried.", 0 },
	{ "Retry timeout exceeded: user unknown", 0 },
	{ "Remote Server returned '550 5.1.1 User unknown'", 0 },
	{ "The response from the remote server was: 550 User unknown "
	  "(4500 attempts)", 0 },
	/* a permanent verdict with such a word elsewhere in it */
	{ "Der Empfaenger wurde auf dem Server nicht gefunden", 0 },
	{ "Error: user not found in LDAP", 0 },
	{ "Recipient unknown. Session timeout reset.", 0 },
	{ "User unknown, LDAP lookup timed out", 1 },
	/* capitals of other scripts: the pattern folds ASCII only */
	{ "\u0412\u0440\u0435\u043c\u0435\u043d\u043d\u043e "
	  "\u043d\u0435\u0434\u043e\u0441\u0442\u0443\u043f\u0435\u043d", 1 },
};

START_TEST(test_case)
{
	const struct testlib_guard_case *c = &cases[_i];
	struct uncertain *u;

	u = uncertain_new();
	ck_assert_ptr_nonnull(u);
	ck_assert_msg(uncertain_match(u, c->text, strlen(c->text)) ==
	    c->want, "\"%s\": want %d", c->text, c->want);
	uncertain_free(u);
}
END_TEST

static int
fast(void *h, const char *text, size_t len)
{
	return uncertain_match(h, text, len);
}

static int
all(void *h, const char *text, size_t len)
{
	return uncertain_match_all(h, text, len);
}

/*
 * The prefilter is sound: the guard's cases and every reply text the
 * project keeps (testlib_each_reply()) get the answer every branch of
 * it would give.
 */
START_TEST(test_prefilter_sound)
{
	struct uncertain *h = uncertain_new();

	ck_assert_ptr_nonnull(h);
	testlib_guard_sound(fast, all, h, cases,
	    sizeof(cases) / sizeof(cases[0]));
	uncertain_free(h);
}
END_TEST

/*
 * The same after the rule set's scan, which looks for the guard's
 * literals with the rules' (rules.h: ruleset_guard_miss()).
 */
static int
scanned(void *h, const unsigned char *miss, const char *text, size_t len)
{
	return uncertain_match_scanned(h, miss, text, len);
}

START_TEST(test_scanned_sound)
{
	struct uncertain *h = uncertain_new();

	ck_assert_ptr_nonnull(h);
	testlib_guard_scanned_sound(scanned, all, h, uncertain_set(), cases,
	    sizeof(cases) / sizeof(cases[0]));
	uncertain_free(h);
}
END_TEST

START_TEST(test_free_null)
{
	uncertain_free(NULL);
}
END_TEST

static Suite *
uncertain_suite(void)
{
	Suite *s = suite_create("uncertain");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_prefilter_sound);
	tcase_add_test(tc, test_scanned_sound);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(uncertain_suite());
}
