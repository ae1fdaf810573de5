/*
 * pipeline.h -- the one path from what the MTA leaves behind to decisions
 *
 * bouncerd (following the maillog, reading bounce e-mails through the
 * milter) and bouncerctl ingest go through here, so that a log line or
 * a bounce means the same to each:
 *
 *   log line   -> logline_read() -> marks of what was delivered to whom
 *              -> classify() -> engine_record()
 *   bounce     -> dsn_parse() -> per recipient: tied to a delivery the
 *                 log showed? -> dsn_classify() -> engine_record()
 *
 * Trust. No e-mail decides anything about a recipient unless that
 * recipient is tied to a delivery bouncer saw in the log, within
 * bounce_verify_window: the bounce's queue id (X-Postfix-Queue-ID)
 * with that recipient, or the bounce's original Message-ID with that
 * recipient (the log ties Message-IDs to queue ids). A bounce about an
 * attempt whose last outcome the log showed as a failure repeats the
 * log: a duplicate. A message that did not come over SMTP (the MTA's
 * own DSN, or anybody's sendmail -f '') never decides anything: it is
 * a duplicate or unverified. A bounce decides only for its recipient
 * (suppress, retry), never throttles a destination nor raises an
 * alert. Anything else is reported as unverified and changes nothing.
 * And no answer bouncer gave (answer_is_ours()), nor a failure no
 * remote server said (logline.h), is ever evidence.
 *
 * What the log leaves in the store for this, beside the engine's
 * records, as notes purged after event_retention (each keeps the
 * latest, so that re-reading an older log moves nothing back):
 *   i:QID           the queue id's Message-ID (the first one logged)
 *   q:QID:RCPT      "sent" or "failed": the last attempt to RCPT
 *   m:MSGID:RCPT    the queue id that delivered MSGID to RCPT
 *
 * Every outcome, per recipient, goes to the report function given to
 * pipeline_new(), which does the logging and counting: the module
 * itself logs only store failures (the store does).
 *
 * One pipeline per thread, over that thread's store handle; the rule
 * set and conf must outlive it.
 */
#ifndef BOUNCER_PIPELINE_H
#define BOUNCER_PIPELINE_H

#include <stddef.h>

#include "classify.h"
#include "engine.h"

struct conf;
struct ruleset;
struct store;
struct pipeline;

enum pipeline_outcome {
	PO_RECORDED,	/* the engine took it: *res says what changed */
	PO_DUPLICATE,	/* a bounce of a failure the log had */
	PO_NOT_EVIDENCE,/* a failure no remote server said: why */
	PO_UNVERIFIED,	/* about a recipient bouncer saw no delivery
			   to: why; nothing changed */
	PO_BADTIME,	/* a delivery line with no usable time stamp */
	PO_FAILED	/* the store failed: nothing recorded */
};

/* What became of one recipient of one line or bounce. */
struct pipeline_report {
	enum pipeline_outcome		 outcome;
	enum event_source		 source;
	const char			*rcpt;		/* normalised, or "" */
	const char			*queue_id;	/* or "" */
	long long			 time;
	int				 sent;		/* a delivery success */
	const struct classification	*cl;	/* a failure, classified;
						   else NULL */
	const char			*provider;	/* "-" if none */
	const char			*rule;		/* "gmail.rules:18", "-" */
	const char			*reply;		/* the text, cut */
	const struct engine_result	*res;	/* PO_RECORDED; else NULL */
	const char			*why;		/* static, or NULL */
	const char			*kind;	/* bounces: "rfc3464", ... */
};

/* Called for every recipient's outcome; pointers valid for the call. */
typedef void	 pipeline_report_fn(const struct pipeline_report *,
		    void *arg);

/*
 * Makes a pipeline over st with its own engine, classifier and bounce
 * parser. conf gives the engine's parameters and bounce_verify_window;
 * report may be NULL.
 */
struct pipeline	*pipeline_new(const struct conf *, const struct ruleset *,
		    struct store *, pipeline_report_fn *report, void *arg);
void		 pipeline_free(struct pipeline *);	/* NULL is fine */

/*
 * One maillog line (n bytes), read at `now`. Returns 0, or -1 when the
 * store failed for some part of it.
 */
int		 pipeline_log_line(struct pipeline *, const char *line,
		    size_t n, long long now);

/*
 * Batches (bouncerd's writer, with many log lines queued): between
 * pipeline_batch_begin() and pipeline_batch_end() the engine's
 * transactions may be confirmed only at the end (engine_batch_begin(),
 * store_defer_begin()), so every report is held and made at the end,
 * in order, with each event's final outcome. Begin: 0 or -1; end: 0,
 * or -1 when the store failed for something in the batch (its reports
 * say PO_FAILED).
 */
int		 pipeline_batch_begin(struct pipeline *);
int		 pipeline_batch_end(struct pipeline *);

/* One e-mail the MTA handled, as the milter saw it. */
struct pipeline_mail {
	const char	*raw;		/* headers, blank line, body */
	size_t		 len;
	int		 internal;	/* its envelope says the MTA made it */
	const char	*queue_id;	/* the MTA's id for it, or "" */
};

/*
 * Reads one e-mail at `now`: a bounce, DSN, feedback report or
 * auto-reply is checked and recorded recipient by recipient. Returns
 * the number of recipients it reports (0: not a bounce), or -1 when
 * the store failed for some of them.
 */
int		 pipeline_mail(struct pipeline *, const struct pipeline_mail *,
		    long long now);

#endif
