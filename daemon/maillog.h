/*
 * maillog.h -- pick delivery attempts out of Postfix, Sendmail, Exim,
 * OpenSMTPD and Haraka logs
 *
 * A delivery line names a queue id, a recipient, the relay, the DSN
 * status and the outcome, with the remote reply in parentheses
 * (Postfix) or after stat= (Sendmail):
 *
 *   Nov 25 03:00:01 mta postfix/smtp[123]: 4Bc1x2: to=<a@example.net>,
 *     relay=mx.example.net[192.0.2.5]:25, delay=1, delays=0/0/0/1,
 *     dsn=5.1.1, status=bounced (host mx.example.net[192.0.2.5] said:
 *     550 5.1.1 ... (in reply to RCPT TO command))
 *   Nov 25 03:00:01 mta sm-mta[77]: xAB12345: to=<a@example.net>, ...,
 *     relay=mx.example.net. [192.0.2.5], dsn=5.1.1, stat=User unknown
 *
 * Exim's main log has no program and no dsn=; "**" bounced, "=="
 * deferred, "=>" and "->" delivered, the reply after the first ": ":
 *
 *   2026-12-05 10:00:00 1abcDE-0001xY-AB ** a@example.net R=dnslookup
 *     T=remote_smtp H=mx.example.net [192.0.2.5]: SMTP error from remote
 *     mail server after RCPT TO:<a@example.net>: 550 5.1.1 No such user
 *
 * OpenSMTPD's (program "smtpd") say result= and stat=, the reply
 * quoted, without the stage; "mta" relays, "mda" delivers locally:
 *
 *   Dec  7 14:08:03 mx smtpd[14719]: 8e29610267fdcb3a mta delivery
 *     evpid=dd12dc53d87e0266 from=<s@example.net> to=<a@example.net>
 *     rcpt=<-> source="127.0.0.1" relay="mx.example.net (192.0.2.5)"
 *     delay=0s result="PermFail" stat="550 5.1.1 No such user"
 *
 * "PermFail" and "Loop" are bounced, "TempFail" deferred, "Ok" sent;
 * its envelope lines ("relay: Expire for EVPID: from=<...>, to=<...>,
 * ..., stat=Envelope expired", and OpenSMTPD 6.6 and before's
 * "delivery: PermFail for EVPID: ...") are read as Sendmail's
 * attributes. Its "mta error" lines name no recipient: not read.
 *
 * Haraka's outbound says which recipient a server refused, at a notice
 * level, with no stage; a stamp only with log_timestamps or syslog:
 *
 *   2026-12-07T14:08:03.123Z [NOTICE] [UUID.1] [outbound] recipient
 *     <a@example.net> rejected: 550 5.1.1 No such user
 *
 * "rejected" is bounced, "deferred" deferred. Its lines without a
 * recipient ("bouncing mail: ...", "Temp failing ...") are not read.
 *
 * Other lines are refused after a cheap scan. Nothing is allocated:
 * the entry's pointers point into the line.
 */
#ifndef BOUNCER_MAILLOG_H
#define BOUNCER_MAILLOG_H

#include <stddef.h>

enum maillog_status {
	ML_SENT, ML_DEFERRED, ML_BOUNCED, ML_EXPIRED, ML_OTHER
};

/* A field of the line: n bytes at p (not NUL-terminated). */
struct mlfield {
	const char	*p;
	size_t		 n;
};

struct maillog_entry {
	struct mlfield		 time;		/* the syslog timestamp */
	struct mlfield		 program;	/* "postfix/smtp", "sm-mta" */
	struct mlfield		 queue_id;
	struct mlfield		 to;		/* as logged: "<a@x>,<b@x>" */
	struct mlfield		 orig_to;	/* or n == 0 */
	struct mlfield		 relay;		/* host only, no [ip]:port */
	struct mlfield		 dsn;		/* "5.1.1", or n == 0 */
	enum maillog_status	 status;
	struct mlfield		 text;		/* the reply or stat= text */
	int			 sendmail;	/* 1 for Sendmail's format */
	int			 exim;		/* 1 for Exim's (no program) */
	int			 opensmtpd;	/* 1 for OpenSMTPD's */
	int			 haraka;	/* 1 for Haraka's */
	int			 to_program;	/* 1: a delivery to a program or
						   a file, to is the address
						   it was for */
	int			 cut;		/* 1: Postfix's "(text)" has
						   no ")": the line was cut
						   short (syslog's limit) */
};

/* Returns 1 and fills *e for a delivery line, 0 for any other line. */
int		 maillog_parse(const char *line, size_t n,
		    struct maillog_entry *e);
const char	*maillog_status_name(enum maillog_status);

/*
 * Iterates the recipients of e->to (Sendmail lists several, comma
 * separated): copies the next one, without <>, into buf and returns 1;
 * returns 0 when there are no more. *pos starts at 0.
 */
int		 maillog_next_rcpt(const struct maillog_entry *e, size_t *pos,
		    char *buf, size_t bufsz);

#endif
