/*
 * replyapp.h -- a reply inside what an application or library printed
 *
 * People paste replies as their mail library reported them: Python's
 * smtplib ("SMTPRecipientsRefused: {'ann@x': (550, b'5.1.1 ...')}",
 * "SMTPSenderRefused: (553, b'...', 'us@x')", "SMTPDataError(554,
 * b'...')"), PHPMailer ("SMTP ERROR: RCPT TO command failed: 550 ...",
 * "SMTP code: 550 Additional SMTP info: 5.1.1"), Nodemailer ("Can't
 * send mail - all recipients were rejected: 550 ...", its response: and
 * command: fields), JavaMail's and .NET's exceptions, Ruby's
 * Net::SMTPFatalError, Symfony Mailer ("Expected response code \"354\"
 * but got code \"554\", with message \"554 ...\""), swaks transcripts
 * ("-> RCPT TO:<x> <** 550 ..."), msmtp, ssmtp, curl, Outlook's and
 * Thunderbird's pop-ups. Each names, in its own words, the command the
 * reply answered and often the mailbox it was about.
 *
 * reply.c calls appreply_find() on a text that does not start with a
 * reply code once its MTA wrappers are off: never on the common path.
 */
#ifndef BOUNCER_REPLYAPP_H
#define BOUNCER_REPLYAPP_H

#include <stddef.h>

#include "reply.h"

struct appreply {
	/*
	 * The reply, rewritten in place to start with its code when the
	 * wrapper gave the code apart ("550 5.1.1 ..." out of "(550,
	 * b'5.1.1 ...')"), its line separators ("<** ", "msmtp: server
	 * message: ") made spaces. Inside the caller's buffer.
	 */
	char		*p;
	char		*e;
	/* Where the wrapper's own words start: the lead ends there. */
	char		*wrapper;
	/* The stage the wrapper names, or STAGE_UNKNOWN. */
	enum smtp_stage	 stage;
	/*
	 * The mailbox the wrapper says the reply is about (a dict key,
	 * "recipient: 'x'", "recipients failed: x:", "RCPT TO:<x>"), inside
	 * the buffer, not NUL-terminated; NULL and 0 when none.
	 */
	const char	*rcpt;
	size_t		 rcptlen;
};

/*
 * Looks in [p, e) (folded and unescaped, see reply.c) for a reply as an
 * application reports it. want is the recipient the caller classifies
 * for, or NULL or "": of several recipients' answers it picks want's
 * (else the first). Returns 1 and fills out, or 0 (out->stage may still
 * be set from the wrapper's words). May rewrite bytes in [p, e).
 */
int	appreply_find(char *p, char *e, const char *want, struct appreply *out);
/*
 * The last resort, after reply.c's own marks found nothing: words, ": ",
 * then a code and an enhanced status. Returns 1 and fills out, or 0.
 */
int	appreply_loose(char *p, char *e, struct appreply *out);

#endif
