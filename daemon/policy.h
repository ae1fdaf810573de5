/*
 * policy.h -- the Postfix policy delegation protocol, server side
 *
 * Postfix's smtpd (check_policy_service) sends "name=value" lines ended
 * by an empty line and reads back "action=..." and an empty line, many
 * times over one persistent connection (SMTPD_POLICY_README). This
 * module speaks that protocol on a libevent base and asks a callback
 * for each answer, as a struct answer (verdict.h); what the answer is
 * belongs to the caller, how Postfix is told it to this module.
 *
 * Unknown attributes are ignored. A request that is over-long or not
 * "name=value" lines closes that connection only. A callback that
 * cannot decide makes the answer DUNNO, so mail never waits on us.
 *
 * Connections are capped, timed and evicted by connlimit.h. Memory is
 * bounded per connection: the input by max_request, the answers not
 * yet taken by CONNLIMIT_WATERMARK (and one read's worth), past which
 * the connection is not read until its client reads.
 */
#ifndef BOUNCER_POLICY_H
#define BOUNCER_POLICY_H

#include <stddef.h>

#include "histo.h"
#include "verdict.h"

struct event_base;
struct policy;

/* The attributes bouncer uses; NULL when a request did not send one. */
struct policy_request {
	const char	*request;		/* "smtpd_access_policy" */
	const char	*protocol_state;	/* "RCPT", "DATA", ... */
	const char	*recipient;
	const char	*sender;
	const char	*client_address;
	const char	*queue_id;
	const char	*instance;
};

/*
 * Fills *out with the answer for req (out comes with ACT_DUNNO set; a
 * callback with nothing to say may leave it). Returns 0, or -1 when it
 * could not tell (the store failed): the answer is then DUNNO. This
 * module words it (policy_action()).
 */
typedef int policy_answer_fn(const struct policy_request *req,
		    struct answer *out, void *arg);

struct policy_limits {
	size_t		 max_request;	/* bytes in one request */
	unsigned	 max_conns;	/* more close the longest idle */
	int		 idle_timeout;	/* seconds with no request answered */
	int		 request_timeout;	/* seconds for one to arrive */
};

/* Counters, for /metrics. Only the event loop's thread changes them. */
struct policy_stats {
	unsigned long	 connections;	/* accepted, ever */
	unsigned long	 open;		/* open now */
	unsigned long	 evicted;	/* closed to make room */
	unsigned long	 timed_out;	/* idle or request timeout */
	unsigned long	 refused;	/* accept failed: no descriptor */
	unsigned long	 requests;
	unsigned long	 dunno, reject, defer, other;
	unsigned long	 errors;	/* callback failed: answered DUNNO */
	unsigned long	 bad;		/* malformed or over-long: closed */
	struct histo	 latency;	/* time to decide each answer */
};

/*
 * Serves the listening socket fd (which it takes over) on base. Returns
 * NULL with a message in *errp on failure. The callback runs on the
 * loop's thread.
 */
struct policy	*policy_new(struct event_base *base, int fd,
		    const struct policy_limits *, policy_answer_fn *, void *arg,
		    char **errp);
/*
 * The action Postfix is given for a (access(5) form, no newline) into
 * buf, cut to bufsz and terminated: "DUNNO", "550 5.1.1 bouncer:
 * recipient suppressed: userunknown since 2026-11-25" (a numeric
 * action, so that the client sees 550 and not
 * access_map_reject_code's 554; smtpd puts "<rcpt>: Recipient address
 * rejected:" in front of the text), "DEFER_IF_PERMIT 4.2.2 bouncer:
 * recipient in back-off: mailboxfull, retry in 1h20m",
 * "DEFER_IF_PERMIT 4.7.0 bouncer: destination throttled: blocked,
 * retry in 9m". Returns the length written.
 */
size_t		 policy_action(const struct answer *a, char *buf,
		    size_t bufsz);
/* Closes the listener and every connection. NULL is fine. */
void		 policy_free(struct policy *);
/* The counters, as of now; valid until the next call. */
const struct policy_stats *policy_stats(struct policy *);

#endif
