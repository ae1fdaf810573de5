/*
 * milter.h -- libmilter glue: see bounce e-mails, refuse suppressed
 * recipients at RCPT
 *
 * libmilter runs its own threads (smfi_main), one per MTA connection;
 * this module starts them in a thread of their own and calls back:
 *  - for every RCPT TO of mail received over SMTP, to ask whether the
 *    recipient is to be refused (the Sendmail side of the policy
 *    server);
 *  - for every message with a null sender (a bounce, a DSN, an
 *    auto-reply), once it is complete, with its raw text.
 * Both callbacks run on milter threads: they must be thread safe, and
 * should hand heavy work to the event loop. Mail that is not a bounce
 * is let through as early as possible and cheaply.
 *
 * libmilter holds global state: one milter per process.
 */
#ifndef BOUNCER_MILTER_H
#define BOUNCER_MILTER_H

#include <stddef.h>

#include "histo.h"
#include "verdict.h"

/*
 * Should rcpt be refused? Fills *out (it comes with ACT_DUNNO set; a
 * callback with nothing to say may leave it) and returns 0, or -1 on
 * failure (let through). This module words the refusal: ACT_REJECT
 * as 550 and ACT_DEFER as 450, with the answer's status and "<rcpt>:
 * " before answer_text() (verdict.h).
 */
typedef int milter_rcpt_fn(const char *rcpt, struct answer *out,
		    void *arg);

/* A complete null-sender message. Strings are the callback's for the
 * call only; raw is CRLF or LF text, headers then body. */
struct milter_msg {
	const char	*raw;
	size_t		 len;
	int		 truncated;	/* longer than max_size, or
					   max_memory reached: cut */
	int		 internal;	/* not over SMTP: the MTA's own,
					   or sendmail(1)'s */
	const char	*queue_id;	/* the MTA's {i}, or "" */
	const char	*client;	/* "host [addr]", or "" */
};

/*
 * Returns 1 to discard the message (it was recorded and the operator
 * asked for bounces to be swallowed), 0 to let it through, -1 when it
 * could not be recorded for now (the store failed): the message is
 * then refused with 451 4.3.0, so that the sending MTA keeps it and
 * tries again, and no bounce is lost while the store is away.
 */
typedef int milter_msg_fn(const struct milter_msg *, void *arg);

struct listener_perm;

struct milter_conf {
	const char	*listen;	/* "inet:127.0.0.1:8891", "unix:/p" */
	const struct listener_perm *perm;	/* for a unix socket */
	size_t		 max_size;	/* bytes kept of one message */
	size_t		 max_memory;	/* bytes kept of all, at once */
	int		 timeout;	/* seconds, for the MTA's replies */
	int		 check_rcpt;	/* call rcpt_fn at RCPT TO */
	milter_rcpt_fn	*rcpt_fn;
	milter_msg_fn	*msg_fn;
	void		*arg;
};

struct milter_stats {
	unsigned long	 connections;
	unsigned long	 messages;	/* null-sender messages seen */
	unsigned long	 rejected;	/* recipients refused */
	unsigned long	 discarded;
	unsigned long	 tempfailed;	/* not recorded: try again */
	unsigned long	 errors;
	size_t		 buffered;	/* bytes held now, of max_memory */
	unsigned long	 over_memory;	/* messages cut: max_memory */
};

/*
 * Opens the socket and starts libmilter in a thread of its own.
 * Returns 0, or -1 with a message in *errp.
 */
int		 milter_start(const struct milter_conf *, char **errp);
/*
 * milter_start() in two steps, for a daemon that binds as root and
 * runs as another user: milter_open() binds the socket and starts no
 * thread; milter_run() then starts libmilter's threads. Each returns
 * 0, or -1 with a message in *errp.
 */
int		 milter_open(const struct milter_conf *, char **errp);
int		 milter_run(char **errp);
/* Stops accepting, waits for the thread; safe if never started. */
void		 milter_stop(void);
/* A snapshot of the counters. */
void		 milter_get_stats(struct milter_stats *);
/*
 * The time each RCPT TO check took (rcpt_fn), recorded by libmilter's
 * threads without a lock: read it with histo_snapshot(). Static
 * storage, valid for the life of the process.
 */
const struct histo *milter_rcpt_latency(void);

#endif
