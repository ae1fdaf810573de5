/*
 * reply.h -- parse one SMTP reply, in any of the forms MTAs log it
 *
 * Postfix ("host mx[192.0.2.5] said: 550-5.1.1 ... 550 5.1.1 ... (in
 * reply to RCPT TO command)" and its own texts), Exim ("SMTP error from
 * remote mail server after RCPT TO:<x>: 550 ..."), Sendmail ("... <<< 550
 * 5.1.1 ...", "reply: 550 ..."), qmail ("x@y: 192.0.2.1 does not like
 * recipient. Remote host said: 550 ... Giving up on 192.0.2.1."), DSN
 * diagnostic codes ("smtp; 550 ..."), DragonFly dma ("mx [192.0.2.1]
 * did not like our RCPT TO: 550 ..."), replies inside a sending
 * service's event payload ("reason":"550 ...", raw_reason=, {LED=...})
 * or a PowerMTA accounting row, and bare replies all parse to the same
 * struct reply: code, enhanced status, stage, remote host and the text
 * with wrappers and continuation prefixes removed, HTML entities and
 * backslash escapes undone and whitespace folded to single spaces.
 *
 * A struct reply owns one buffer that grows to the longest reply seen
 * and is reused: parsing allocates nothing once it is big enough.
 */
#ifndef BOUNCER_REPLY_H
#define BOUNCER_REPLY_H

#include <stddef.h>

enum smtp_stage {
	STAGE_UNKNOWN = 0,
	STAGE_CONNECT,		/* TCP connect and the greeting banner */
	STAGE_HELO,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,		/* the reply to DATA itself */
	STAGE_EOD,		/* the reply after the message, "end of data" */
	STAGE_COUNT
};

struct reply {
	int		 code;		/* 0 when the reply has none */
	char		 status[16];	/* "5.1.1", or "" when none */
	enum smtp_stage	 stage;
	char		 host[256];	/* remote host, or "" */
	char		 ip[64];	/* remote address, or "" */
	const char	*text;		/* NUL-terminated, inside buf */
	size_t		 textlen;
	/*
	 * The reporter's words in front of a reply found inside them ("Your
	 * message to x was not delivered." before "Reason: 550 ..."), up to
	 * the mark or wrapper that introduces it: inside buf, not
	 * NUL-terminated. NULL and 0 when the reply is the whole text.
	 */
	const char	*lead;
	size_t		 leadlen;
	/*
	 * The payload's members after the value that held the reply
	 * ("550 5.1.1 User unknown" of {"reason":"550 5.1.1 User
	 * unknown","recipient":"bob@x"}), from its closing quote on: the
	 * reporter's, as the lead is. Inside buf, not NUL-terminated; NULL
	 * and 0 when the reply is not a payload's or nothing follows it.
	 */
	const char	*tail;
	size_t		 taillen;
	/*
	 * The RCPT TO command a wrapper says the reply answered, with its
	 * argument ("RCPT TO:<x@y>" of Exim's "SMTP error from remote mail
	 * server after RCPT TO:<x@y>: ", of a transcript's ">>> RCPT
	 * To:<x@y> <<< "): inside buf, not NUL-terminated; NULL and 0 when
	 * no wrapper names one.
	 */
	const char	*rcptcmd;
	size_t		 rcptcmdlen;
	/*
	 * 1 when Postfix's "delivery temporarily suspended: " was in front:
	 * the queue manager deferred the recipient without trying it, on
	 * an earlier failure of the site, which is the reply that follows.
	 */
	int		 suspended;
	/*
	 * The mailbox an application's report says the reply is about (a
	 * Python dict's key, Nodemailer's recipient:, PHPMailer's
	 * "recipients failed: x:", swaks' RCPT TO:<x>; see replyapp.h),
	 * bare: inside buf, not NUL-terminated. NULL and 0 when the report
	 * names none. For a caller given no recipient.
	 */
	const char	*mailbox;
	size_t		 mailboxlen;
	/*
	 * Set by the caller before reply_parse(), kept by it: the recipient
	 * the reply is read for, or NULL. Of an application's report of
	 * several recipients' answers (a Python dict keyed by recipient,
	 * Nodemailer's rejectedErrors) reply_parse() reads want's; see
	 * replyapp.h. Not owned.
	 */
	const char	*want;
	char		*buf;		/* owned */
	size_t		 bufsz;
};

void		 reply_init(struct reply *);
void		 reply_free(struct reply *);	/* keeps nothing; may re-init */
/*
 * Parses n bytes of s (no NUL needed; s may be NULL when n is 0).
 * Never fails.
 */
void		 reply_parse(struct reply *, const char *s, size_t n);

/* "connect", "helo", ...; "-" for STAGE_UNKNOWN. Static strings. */
const char	*stage_name(enum smtp_stage);
/* Returns the stage named by s (n bytes), or -1. */
int		 stage_parse(const char *s, size_t n);

/*
 * Finds an enhanced status code "C.S.D" at s, C in 2, 4, 5, with
 * S and D of 1-3 digits, not part of a longer dotted number. Returns
 * its length (5..9), or 0.
 */
size_t		 status_at(const char *s, const char *end);

#endif
