/*
 * check_senderside.c -- the words of the sender-side guard
 *
 * Each case is a reply text (as rules see it, without code, status or
 * wrappers) and whether it speaks of the sending side. The texts that
 * do not are recipient-side wordings that merely hold a word the
 * pattern looks for ("sender", "MAIL FROM", "Return-Path", "your"):
 * the guard must leave them alone, or it would keep dead addresses.
 *
 * See also: senderside.h, check_property.c (the guard with the real
 * rules), bouncer-rules(5) GUARDS.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "senderside.h"
#include "testlib.h"

struct ss_case {
	const char	*text;
	int		 want;
};

static const struct ss_case cases[] = {
	/* 1. the sender refused by name */
	{ "<bounce@news.example.com>: Sender address rejected: User unknown "
	  "in local recipient table", 1 },
	{ "Sender verify failed", 1 },
	{ "Verification failed for <bounce@news.example.com>", 1 },
	{ "Could not verify sender: mailbox unavailable", 1 },
	/* 2. our IP or host */
	{ "Your IP address 192.0.2.1 has been blocked: No such user here", 1 },
	{ "This IP has been temporarily blocked", 1 },
	{ "Client host rejected: Access denied", 1 },
	{ "IP 192.0.2.1 is blacklisted", 1 },
	{ "Host 192.0.2.1 is not allowed; mailbox unavailable", 1 },
	{ "Connections from 192.0.2.1 not accepted: user unknown", 1 },
	{ "Mail from [192.0.2.1] refused: mailbox unavailable", 1 },
	{ "Your network is not allowed to send mail: user unknown", 1 },
	{ "Your mail server is not permitted: recipient unknown", 1 },
	/* 3. the unknown addresses we tried */
	{ "Too many invalid recipients", 1 },
	{ "You have exceeded the number of unknown users allowed", 1 },
	{ "Directory harvest attack detected", 1 },
	/* 4. the MAIL FROM command */
	{ "MAIL FROM address: unknown user", 1 },
	{ "MAIL FROM:<bounce@news.example.com> does not exist", 1 },
	/* 5. a sending-side subject and a predicate */
	{ "The sender's mailbox does not exist", 1 },
	{ "No such sender", 1 },
	{ "Invalid return path", 1 },
	{ "Your account has been disabled", 1 },
	{ "Sender mailbox is full", 1 },
	{ "Reply-To address does not exist", 1 },
	{ "Your domain news.example.com is blacklisted", 1 },
	{ "Unknown or invalid recipient: blocked sender", 1 },
	{ "Unknown sender: <bounce@news.example.com>", 1 },
	{ "Message sending for this account is disabled", 1 },
	{ "Sending from your account has been suspended", 1 },
	{ "Outgoing mail for this account is blocked", 1 },
	{ "Sending is disabled for this account", 1 },
	{ "The account you are sending from has been disabled", 1 },
	{ "The address you sent from does not exist", 1 },
	{ "The user who sent this message is unknown", 1 },
	{ "Authenticated user does not exist", 1 },
	{ "Mailbox of the sending user is disabled", 1 },
	/* a long sender address in the clause counts as one word */
	{ "Domain of sender address root@build-host-17.internal.example.com "
	  "does not exist", 1 },
	{ "The domain of your address could not be resolved", 1 },
	{ "Sender address domain publishes a null MX", 1 },
	{ "The sending domain is not allowed to send to this recipient", 1 },
	{ "There is no MX for the sender's domain", 1 },
	{ "Could not resolve the domain of the sender", 1 },
	/* our HELO name, reverse DNS, host name */
	{ "Helo command rejected: Host not found", 1 },
	{ "HELO domain unknown", 1 },
	{ "Reverse DNS lookup failed: host name not found", 1 },
	{ "PTR record not found for 192.0.2.1", 1 },
	{ "Your host name is unknown", 1 },
	/* the sender in Japanese: "the sender's address does not exist" */
	{ "\u9001\u4fe1\u8005\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u304c\u5b58\u5728\u3057\u307e\u305b\u3093", 1 },
	{ "\u5dee\u51fa\u4eba\u306e\u30a2\u30c9\u30ec\u30b9\u306f\u7121\u52b9\u3067\u3059", 1 },
	/* the sender in other languages: unknown, does not exist, refused */
	{ "Absender unbekannt", 1 },
	{ "Absender-Adresse existiert nicht", 1 },
	{ "Adresse de l'exp\u00e9diteur inconnue", 1 },
	{ "Exp\u00e9diteur refus\u00e9", 1 },
	{ "La direcci\u00f3n del remitente no existe", 1 },
	{ "Remetente desconhecido", 1 },
	{ "Mittente sconosciuto", 1 },
	{ "Afzender onbekend", 1 },
	{ "Nadawca nieznany", 1 },
	{ "\u0410\u0434\u0440\u0435\u0441 \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b\u044f \u043d\u0435 \u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443\u0435\u0442", 1 },
	{ "\u53d1\u4ef6\u4eba\u5730\u5740\u4e0d\u5b58\u5728", 1 },
	{ "\ubc1c\uc2e0\uc790 \uba54\uc77c \uc8fc\uc18c\ub97c \ucc3e\uc744 \uc218 \uc5c6\uc2b5\ub2c8\ub2e4", 1 },
	{ "G\u00f6nderen bulunamad\u0131", 1 },
	/* our own account in other languages, or the sender's, disabled */
	{ "Ihr Konto wurde gesperrt", 1 },
	{ "Votre compte a \u00e9t\u00e9 d\u00e9sactiv\u00e9", 1 },
	{ "Su cuenta ha sido suspendida", 1 },
	{ "Het account van de afzender is gedeactiveerd", 1 },
	{ "Konto nadawcy jest zablokowane", 1 },
	{ "\u0412\u0430\u0448 \u0430\u043a\u043a\u0430\u0443\u043d"
	  "\u0442 \u0437\u0430\u0431\u043b\u043e\u043a\u0438\u0440"
	  "\u043e\u0432\u0430\u043d", 1 },
	{ "\u60a8\u7684\u8d26\u6237\u5df2\u88ab\u51bb\u7ed3", 1 },
	{ "\u9001\u4fe1\u8005\u306e\u30a2\u30ab\u30a6\u30f3\u30c8\u306f"
	  "\u51cd\u7d50\u3055\u308c\u3066\u3044\u307e\u3059", 1 },
	/* the sender, or our address, moved */
	{ "Der Absender ist nicht mehr unter dieser Adresse erreichbar", 1 },
	{ "L'exp\u00e9diteur n'est plus joignable \u00e0 cette adresse", 1 },
	/* recipient-side texts with the same words: not the sender's */
	/* recipient-side, the sender named in another clause */
	{ "Empf\u00e4nger unbekannt. Absender: bounce@news.example.com", 0 },
	{ "Destinataire inconnu; exp\u00e9diteur: bounce@news.example.com", 0 },
	{ "\u7528\u6237\u4e0d\u5b58\u5728\u3002\u53d1\u4ef6\u4eba\uff1abounce@news.example.com", 0 },
	/* the recipient's account disabled, our message named beside it */
	{ "Das Konto des Empf\u00e4ngers ist deaktiviert", 0 },
	{ "Compte d\u00e9sactiv\u00e9", 0 },
	{ "Votre message n'a pas pu \u00eatre remis : le compte du dest"
	  "inataire est d\u00e9sactiv\u00e9", 0 },
	{ "Ihre Nachricht konnte nicht zugestellt werden, das Konto ist"
	  " gesperrt", 0 },
	{ "Der Empf\u00e4nger ist umgezogen", 0 },
	{ "User unknown", 0 },
	{ "<x@example.org>: User unknown; sender bounce@example.com", 0 },
	{ "The email account that you tried to reach does not exist. "
	  "Please try double-checking the recipient's email address", 0 },
	{ "Because the recipient is only accepting mail from specific "
	  "email addresses", 0 },
	{ "no such user here MAIL FROM: bounce@news.example.com RCPT TO: "
	  "x@example.org", 0 },
	{ "User unknown Return-Path: <bounce@news.example.com> Received: "
	  "from unknown", 0 },
	{ "User unknown Sender: <bounce@news.example.com> invalid", 0 },
	{ "User unknown; please update your address book", 0 },
	{ "is not an active address at this host", 0 },
	{ "Requested action not taken: mailbox unavailable", 0 },
	{ "sorry, your message to x@example.org cannot be delivered. This "
	  "account has been disabled or discontinued", 0 },
	{ "Error sending to x@example.org: user unknown", 0 },
	{ "The account you are sending to is disabled", 0 },
	{ "The address you sent the message to does not exist", 0 },
	{ "This server rejected the recipient: user unknown", 0 },
	{ "User unknown. Please contact your mail server administrator if "
	  "this was rejected in error", 0 },
	{ "Remote host 192.0.2.1 rejected recipient <x@example.org>: user "
	  "unknown", 0 },
	{ "Mail for x@example.org from 192.0.2.9 (the last relay): no such "
	  "user", 0 },
	{ "Local mailbox x@mail.ru is unavailable: account is disabled", 0 },
	{ "Amazon SES has suppressed sending to this address because it "
	  "has a recent history of bouncing as an invalid address", 0 },
	{ "Host not found", 0 },
	{ "Recipient domain example.org does not exist", 0 },
	{ "lost connection with mx.example.org while performing the HELO "
	  "handshake", 0 },
	/* "dear sender": the recipient's address does not exist */
	{ "\u9001\u4fe1\u8005\u69d8\u3001\u5b9b\u5148\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u306f\u5b58\u5728\u3057\u307e\u305b\u3093", 0 },
	{ "\u5b9b\u5148\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u306f\u5b58\u5728\u3057\u307e\u305b\u3093", 0 },
};

START_TEST(test_case)
{
	const struct ss_case *c = &cases[_i];
	struct senderside *s;

	s = senderside_new();
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(senderside_match(s, c->text, strlen(c->text)) ==
	    c->want, "\"%s\": want %d", c->text, c->want);
	senderside_free(s);
}
END_TEST

START_TEST(test_free_null)
{
	senderside_free(NULL);
}
END_TEST

static Suite *
senderside_suite(void)
{
	Suite *s = suite_create("senderside");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(senderside_suite());
}
