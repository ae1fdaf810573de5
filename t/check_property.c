/*
 * check_property.c -- sender-side sentences never suppress a recipient
 *
 * A rule that may suppress is written for words about the recipient's
 * mailbox: "user unknown", "mailbox unavailable", "account disabled".
 * The same words are also said about the sending side (our envelope
 * sender, our IP, our domain), and then the recipient must be kept:
 * cutting off a customer because our own bounce address was refused is
 * the worst mistake the classifier can make.
 *
 * So, with the real rules in $BOUNCER_RULES, every test vector that
 * expects "suppress" is turned into sentences about the sender, made
 * here from the vector's own reply, none of which may suppress:
 *
 *   mail      the reply at MAIL FROM, as Postfix logs it
 *             ("... (in reply to MAIL FROM command)");
 *   exim      the same as Exim logs it ("SMTP error from remote mail
 *             server after MAIL FROM:<...>: ...");
 *   connect   the reply as the greeting ("refused to talk to me");
 *   temp      the same reply, temporary (4xx, 4.x.x): one soft failure
 *             never suppresses by itself;
 *   sender    the text after Postfix's "<bounce@...>: Sender address
 *             rejected: ";
 *   ip        the text after "Your IP address 192.0.2.1 has been
 *             blocked: ";
 *   domain    the text after "Mail from your domain news.example.com
 *             is rejected: ";
 *   harvest   the text after "Too many invalid recipients: " (a block
 *             of our IP for the addresses it tried);
 *   words     the text with "user", "recipient", "mailbox", "account",
 *             "addressee" and "rcpt" said of the "sender" instead;
 *   other     the text naming another mailbox of the recipient's
 *             domain where it named the recipient (not for hasmoved,
 *             whose reply names the new address).
 *
 * Every variant keeps the reply's code and enhanced status, so a rule
 * cannot dodge on them, and only sentences that differ from the
 * original are tried. Then t/data/sender-side.tsv, written by hand,
 * holds real-looking sender-side sentences for each family of wording
 * (user unknown, disabled, moved, full, size, rate, reputation,
 * blocklist, authentication, content); none may suppress either, as
 * they stand or as Postfix and Exim log them at RCPT TO.
 *
 * Each failure names the vector (file:line), the variant, the
 * sentence, what came and which rule decided.
 *
 * See also: check_seed.c (the same rows in other wrappings must give
 * the same answer), bouncer-rules(5) GUARDS.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "classify.h"
#include "testlib.h"
#include "xalloc.h"

#define SENDER	"bounce@news.example.com"

static struct ruleset		*rs;
static char			*rs_err;
static const struct rule_test	**vecs;	/* the vectors that suppress */
static size_t			 nvecs;

struct sentence {
	char	*family;
	char	*rcpt;
	char	*reply;
	int	 lineno;
};

static struct sentence		*sents;
static size_t			 nsents;
static char			 tsv_path[4096];

/* --- a growing string (testlib_buf) -------------------------------------- */

static void
buf_str(struct testlib_buf *b, const char *s)
{
	testlib_buf_add(b, s, strlen(s));
}

/* --- making the sentences ---------------------------------------------- */

enum variant {
	V_MAIL, V_EXIM, V_CONNECT, V_TEMP, V_SENDER, V_IP, V_DOMAIN,
	V_HARVEST, V_WORDS, V_OTHER, V_COUNT
};

static const char *const variant_names[V_COUNT] = {
	"mail", "exim", "connect", "temp", "sender", "ip", "domain",
	"harvest", "words", "other"
};

/* The words said of the sender instead in the "words" variant. */
static const char *const mailbox_words[] = {
	"user", "users", "username", "recipient", "recipients", "mailbox",
	"mailboxes", "account", "addressee", "rcpt", NULL
};

static int
word_char(int c)
{
	return isalnum(c) || c == '_';
}

/*
 * Copies text with every whole word of mailbox_words (any case) said of
 * the sender instead; a word inside an address, a host name or a URL
 * ("user@example.org", "?p=user") stays. *n is set to how many words
 * were replaced. The caller frees the result.
 */
static char *
sender_words(const char *text, size_t *n)
{
	struct testlib_buf b = { NULL, 0, 0 };
	const char *p = text, *w;
	size_t i, len;

	*n = 0;
	testlib_buf_add(&b, "", 0);
	while (*p != '\0') {
		if (!isalpha((unsigned char)*p) || (p > text &&
		    (word_char((unsigned char)p[-1]) || strchr("@.-/=?&",
		    p[-1]) != NULL))) {
			testlib_buf_add(&b, p++, 1);
			continue;
		}
		for (w = p; word_char((unsigned char)*w); w++)
			;
		len = (size_t)(w - p);
		for (i = 0; mailbox_words[i] != NULL; i++)
			if (strlen(mailbox_words[i]) == len &&
			    strncasecmp(p, mailbox_words[i], len) == 0)
				break;
		if (mailbox_words[i] != NULL && *w != '@' && *w != '-' &&
		    !(*w == '.' && isalnum((unsigned char)w[1]))) {
			buf_str(&b, isupper((unsigned char)*p) ? "Sender" :
			    "sender");
			(*n)++;
		} else
			testlib_buf_add(&b, p, len);
		p = w;
	}
	return b.s;
}

/*
 * Copies text with every occurrence of the address rcpt (any case, with
 * or without <>) replaced by another mailbox of its domain. NULL if
 * text does not name rcpt. The caller frees the result.
 */
static char *
other_mailbox(const char *text, const char *rcpt)
{
	struct testlib_buf b = { NULL, 0, 0 };
	const char *at = strrchr(rcpt, '@'), *p = text;
	size_t rn = strlen(rcpt);
	int found = 0;

	if (at == NULL || *rcpt == '"')
		return NULL;
	testlib_buf_add(&b, "", 0);
	while (*p != '\0') {
		if (strncasecmp(p, rcpt, rn) == 0 && (p == text ||
		    !word_char((unsigned char)p[-1])) &&
		    !word_char((unsigned char)p[rn]) && p[rn] != '-' &&
		    !(p[rn] == '.' && isalnum((unsigned char)p[rn + 1]))) {
			buf_str(&b, "someone.else");
			buf_str(&b, at);
			p += rn;
			found = 1;
		} else
			testlib_buf_add(&b, p++, 1);
	}
	if (!found) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/*
 * The sentence of variant v for a reply parsed as code, status, host
 * and text, or NULL if the variant says nothing new for it. The caller
 * frees the result.
 */
static char *
make_variant(enum variant v, const struct reply *r, const char *rcpt,
    enum reason reason)
{
	char head[64], *s, *t;
	const char *host = r->host[0] ? r->host : "mx.example.net";
	size_t n;

	head[0] = '\0';
	if (r->code)
		snprintf(head, sizeof(head), "%d ", r->code);
	if (r->status[0])
		snprintf(head + strlen(head), sizeof(head) - strlen(head),
		    "%s ", r->status);
	switch (v) {
	case V_MAIL:
		if (!r->code)
			return NULL;
		return xasprintf("host %s[192.0.2.1] said: %s%s (in reply to "
		    "MAIL FROM command)", host, head, r->text);
	case V_EXIM:
		if (!r->code)
			return NULL;
		return xasprintf("SMTP error from remote mail server after "
		    "MAIL FROM:<" SENDER "> SIZE=2048: %s%s", head, r->text);
	case V_CONNECT:
		if (!r->code)
			return NULL;
		return xasprintf("host %s[192.0.2.1] refused to talk to me: "
		    "%s%s", host, head, r->text);
	case V_TEMP:
		if (r->code / 100 != 5)
			return NULL;
		/* The status, if any, is of the code's class: 5.x.y. */
		if (r->status[0])
			return xasprintf("%d 4%s %s", r->code - 100,
			    r->status + 1, r->text);
		return xasprintf("%d %s", r->code - 100, r->text);
	case V_SENDER:
		return xasprintf("%s<" SENDER ">: Sender address rejected: %s",
		    head, r->text);
	case V_IP:
		return xasprintf("%sYour IP address 192.0.2.1 has been "
		    "blocked: %s", head, r->text);
	case V_DOMAIN:
		return xasprintf("%sMail from your domain news.example.com is "
		    "rejected: %s", head, r->text);
	case V_HARVEST:
		return xasprintf("%sToo many invalid recipients: %s", head,
		    r->text);
	case V_WORDS:
		s = sender_words(r->text, &n);
		if (n == 0) {
			free(s);
			return NULL;
		}
		t = xasprintf("%s%s", head, s);
		free(s);
		return t;
	case V_OTHER:
		/*
		 * A moved mailbox names its new address, so the classifier
		 * lets hasmoved name any mailbox: not checked here.
		 */
		if (reason == R_HASMOVED ||
		    (s = other_mailbox(r->text, rcpt)) == NULL)
			return NULL;
		t = xasprintf("%s%s", head, s);
		free(s);
		return t;
	default:
		return NULL;
	}
}

/* --- checking ---------------------------------------------------------- */

/* The failures found so far, reported together at the end of a test. */
static struct testlib_buf	failures;
static size_t		nfailures;

/*
 * Classifies reply for rcpt and records a failure if it suppresses,
 * naming where the sentence came from.
 */
static void
never_suppress(struct classifier *c, const char *rcpt, const char *reply,
    const char *from, const char *what)
{
	struct classification cl;
	char got[64], rule[300], *msg;

	classify(c, rs, rcpt, reply, strlen(reply), NULL, NULL, &cl);
	if (!(cl.decision & D_SUPPRESS))
		return;
	msg = xasprintf("%s [%s] suppresses a sender-side sentence:\n"
	    "    <%s> %s\n"
	    "    got: %s %s%s%s (provider %s, rule %s)\n", from, what, rcpt,
	    reply, reason_name(cl.reason), decision_format(cl.decision, got,
	    sizeof(got)), *cl.details ? " " : "", cl.details,
	    provider_name(cl.provider), classification_rule(&cl, rule,
	    sizeof(rule)));
	buf_str(&failures, msg);
	free(msg);
	nfailures++;
}

/* Fails the test with every failure recorded, if there is any. */
static void
report(void)
{
	if (nfailures > 0)
		fputs(failures.s, stderr);
	ck_assert_msg(nfailures == 0, "%zu sender-side sentences suppress "
	    "(listed above)", nfailures);
}

static void
need_rules(void)
{
	ck_assert_msg(rs != NULL, "rules in %s not loaded:\n%s",
	    testlib_env("BOUNCER_RULES", "rules"), rs_err ? rs_err : "");
}

/* One test for all vectors (a fork each would take longer than the work). */
START_TEST(test_vector_variants)
{
	struct classifier *c;
	struct classification cl;
	struct reply r;
	char from[300], *s;
	size_t i;
	int v;

	need_rules();
	c = classifier_new(rs);
	for (i = 0; i < nvecs; i++) {
		const struct rule_test *t = vecs[i];

		classify(c, rs, t->rcpt, t->reply, strlen(t->reply), NULL,
		    NULL, &cl);
		/* A copy: classifying a variant reuses the reply. */
		r = *cl.reply;
		r.text = xstrdup(cl.reply->text);
		snprintf(from, sizeof(from), "%s:%d", t->file, t->line);
		for (v = 0; v < V_COUNT; v++) {
			if ((s = make_variant((enum variant)v, &r, t->rcpt,
			    t->reason)) == NULL)
				continue;
			never_suppress(c, t->rcpt, s, from, variant_names[v]);
			free(s);
		}
		free((char *)r.text);
	}
	classifier_free(c);
	report();
}
END_TEST

START_TEST(test_sender_side)
{
	struct classifier *c;
	char from[4200];
	const char *co[1];
	struct classification cl;
	size_t i;

	need_rules();
	ck_assert_uint_gt(nsents, 0);
	c = classifier_new(rs);
	for (i = 0; i < nsents; i++) {
		const struct sentence *t = &sents[i];
		char *w;

		snprintf(from, sizeof(from), "%s:%d", tsv_path, t->lineno);
		never_suppress(c, t->rcpt, t->reply, from, t->family);
		/*
		 * In a bounce that names the recipient and another of its
		 * recipients in one sentence, given the same text: no
		 * suppression that the sentence naming the recipient alone
		 * does not make. (That one may suppress where the reply
		 * alone does not: behind the notice's words, the rules that
		 * read the reply from its start do not see it.)
		 */
		co[0] = xasprintf("zed.other%s", strchr(t->rcpt, '@') ?
		    strchr(t->rcpt, '@') : "@example.org");
		w = xasprintf("Your message to %s was not delivered. "
		    "Reason: %s", t->rcpt, t->reply);
		classify(c, rs, t->rcpt, w, strlen(w), NULL, NULL, &cl);
		free(w);
		if (!(cl.decision & D_SUPPRESS)) {
			classifier_cohort(c, co, 1);
			w = xasprintf("Your message to %s, %s was not "
			    "delivered. Reason: %s", t->rcpt, co[0], t->reply);
			never_suppress(c, t->rcpt, w, from, t->family);
			classifier_cohort(c, NULL, 0);
			free(w);
		}
		free((char *)co[0]);
		/* A reply as Postfix and Exim log it at RCPT: the same. */
		if (!isdigit((unsigned char)t->reply[0]))
			continue;
		w = xasprintf("host mx.example.net[192.0.2.1] said: %s (in "
		    "reply to RCPT TO command)", t->reply);
		never_suppress(c, t->rcpt, w, from, t->family);
		free(w);
		w = xasprintf("SMTP error from remote mail server after RCPT "
		    "TO:<%s>: %s", t->rcpt, t->reply);
		never_suppress(c, t->rcpt, w, from, t->family);
		free(w);
	}
	classifier_free(c);
	report();
}
END_TEST

START_TEST(test_loaded)
{
	need_rules();
	ck_assert_uint_gt(nvecs, 0);
}
END_TEST

/* The sentence makers themselves, so that a broken one cannot hide. */
START_TEST(test_makers)
{
	struct reply r;
	char *s;
	size_t n;

	s = sender_words("User unknown; <user@example.org> NoSuchUser "
	    "?p=user mailbox-full Recipient's mailbox (account).", &n);
	ck_assert_str_eq(s, "Sender unknown; <user@example.org> NoSuchUser "
	    "?p=user mailbox-full Sender's sender (sender).");
	ck_assert_uint_eq(n, 4);
	free(s);
	s = other_mailbox("<Bob@Example.org>: no; bob@example.org.uk",
	    "bob@example.org");
	ck_assert_str_eq(s, "<someone.else@example.org>: no; "
	    "bob@example.org.uk");
	free(s);
	ck_assert_ptr_null(other_mailbox("nobody here", "bob@example.org"));

	memset(&r, 0, sizeof(r));
	r.code = 550;
	strcpy(r.status, "5.1.1");
	r.text = "User unknown";
	s = make_variant(V_MAIL, &r, "bob@example.org", R_USERUNKNOWN);
	ck_assert_str_eq(s, "host mx.example.net[192.0.2.1] said: 550 5.1.1 "
	    "User unknown (in reply to MAIL FROM command)");
	free(s);
	s = make_variant(V_SENDER, &r, "bob@example.org", R_USERUNKNOWN);
	ck_assert_str_eq(s, "550 5.1.1 <" SENDER ">: Sender address "
	    "rejected: User unknown");
	free(s);
	ck_assert_ptr_null(make_variant(V_OTHER, &r, "bob@example.org",
	    R_USERUNKNOWN));
	s = make_variant(V_TEMP, &r, "bob@example.org", R_USERUNKNOWN);
	ck_assert_str_eq(s, "450 4.1.1 User unknown");
	free(s);
	r.code = 0;
	r.status[0] = '\0';
	ck_assert_ptr_null(make_variant(V_MAIL, &r, "bob@example.org",
	    R_USERUNKNOWN));
}
END_TEST

/* --- reading the table ------------------------------------------------- */

/*
 * t/data/sender-side.tsv: family, recipient, reply; '#' lines and empty
 * lines are comments. Exits on a malformed line.
 */
static void
read_sentence(char **f, size_t nf, int lineno, void *arg)
{
	const char *path = arg;
	struct sentence s;

	if (f[0][0] == '#')
		return;
	if (nf != 3 || f[2][0] == '\0') {
		fprintf(stderr, "check_property: %s:%d: want family, "
		    "recipient and reply, tab-separated\n", path, lineno);
		exit(EXIT_FAILURE);
	}
	s.family = xstrdup(f[0]);
	s.rcpt = xstrdup(f[1]);
	s.reply = xstrdup(f[2]);
	s.lineno = lineno;
	sents = xreallocarray(sents, nsents + 1, sizeof(*sents));
	sents[nsents++] = s;
}

static Suite *
property_suite(void)
{
	Suite *s = suite_create("property");
	TCase *tc;

	tc = tcase_create("makers");
	tcase_add_test(tc, test_loaded);
	tcase_add_test(tc, test_makers);
	suite_add_tcase(s, tc);

	tc = tcase_create("sentences");
	tcase_add_test(tc, test_vector_variants);
	tcase_add_test(tc, test_sender_side);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const struct rule_test *t;
	size_t n, i;
	int rc;

	snprintf(tsv_path, sizeof(tsv_path), "%s/t/data/sender-side.tsv",
	    testlib_env("BOUNCER_SRCDIR", "."));
	if (!testlib_tsv_read(tsv_path, read_sentence, tsv_path)) {
		fprintf(stderr, "check_property: %s is missing\n", tsv_path);
		return EXIT_FAILURE;
	}
	/* Loaded once here; each forked test inherits it. */
	rs = ruleset_load(testlib_env("BOUNCER_RULES", "rules"), &rs_err);
	if (rs != NULL) {
		t = ruleset_tests(rs, &n);
		for (i = 0; i < n; i++)
			if (t[i].decision & D_SUPPRESS) {
				vecs = xreallocarray(vecs, nvecs + 1,
				    sizeof(*vecs));
				vecs[nvecs++] = &t[i];
			}
	}

	rc = testlib_run(property_suite());
	for (i = 0; i < nsents; i++) {
		free(sents[i].family);
		free(sents[i].rcpt);
		free(sents[i].reply);
	}
	free(sents);
	free(vecs);
	ruleset_unref(rs);
	free(rs_err);
	return rc;
}
