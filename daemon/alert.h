/*
 * alert.h -- tell the operator: a hook program, and syslog
 *
 * When the sending side is in trouble (an IP on a blocklist, an
 * authentication failure, a destination throttling us), the daemon
 * raises an alert: one syslog line, and the configured hook program
 * run with the facts in its environment. The program is run without
 * a shell, with a clean environment, stdin from /dev/null, in a
 * process group of its own; the event loop never waits for it.
 *
 * A hook that outlives its timeout is sent SIGTERM, with everything
 * it started (its process group), then SIGKILL ALERT_KILL_GRACE
 * seconds later. At most ALERT_MAX_HOOKS run at once; later alerts
 * wait, in the order they were raised, up to ALERT_QUEUE_MAX of them,
 * and each starts as a running hook ends. An alert beyond that is
 * still logged, but its hook is dropped and counted.
 */
#ifndef BOUNCER_ALERT_H
#define BOUNCER_ALERT_H

#include <time.h>

#define ALERT_MAX_HOOKS		8	/* hooks running at once */
#define ALERT_QUEUE_MAX		1000	/* alerts waiting for a hook */
#define ALERT_KILL_GRACE	2	/* seconds from SIGTERM to SIGKILL */

struct event_base;
struct alerter;

/* What an alert is about; a NULL or empty field is left out. */
struct alert {
	const char	*kind;		/* "blocklist", "blocklist-cleared",
					   "authfailure", "throttle" */
	const char	*blocklist;	/* "spamhaus" */
	const char	*ip;		/* the listed address */
	const char	*provider;	/* "microsoft" */
	const char	*url;		/* where to ask for delisting */
	const char	*domain;	/* the destination */
	const char	*reason;
	const char	*rule;		/* "generic.rules:31" */
	const char	*reply;		/* the reply that showed it */
	const char	*source;	/* "dnsbl": found by the monitor */
	const char	*zone;		/* "zen.spamhaus.org" */
	const char	*target;	/* the listed IP or domain */
	const char	*meaning;	/* "127.0.0.2 SBL: ..." */
	time_t		 first_seen;
	unsigned long	 count;
};

struct alert_stats {
	unsigned long	 raised;
	unsigned long	 hooks_run;
	unsigned long	 hooks_failed;	/* exit status not 0, or killed */
	unsigned long	 hooks_dropped;	/* the queue was full */
	unsigned long	 hooks_running;	/* now */
	unsigned long	 hooks_queued;	/* now, waiting for a free slot */
};

/*
 * command: the hook program and its fixed arguments, split at spaces
 * (no shell, no quoting); NULL or "" runs none. timeout in seconds.
 */
struct alerter	*alerter_new(struct event_base *base, const char *command,
		    int timeout, char **errp);
/*
 * Logs the alert and starts its hook, or queues it while
 * ALERT_MAX_HOOKS run. Never blocks. The strings of a are copied.
 */
void		 alerter_raise(struct alerter *, const struct alert *);
/*
 * Kills the hooks still running, with their process groups, reaps
 * them, forgets the queued alerts and frees. NULL is fine.
 */
void		 alerter_free(struct alerter *);
/* The counters; valid until alerter_free(). Read on the loop thread. */
const struct alert_stats *alerter_stats(const struct alerter *);

#endif
