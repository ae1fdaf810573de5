/*
 * alert.h -- tell the operator: a hook program, and syslog
 *
 * When the sending side is in trouble (an IP on a blocklist, an
 * authentication failure, a destination throttling us), the daemon
 * raises an alert: one syslog line, and the configured hook program
 * run with the facts in its environment. The program is run without
 * a shell, with a clean environment, stdin from /dev/null, and killed
 * if it outlives its timeout; the event loop never waits for it.
 */
#ifndef BOUNCER_ALERT_H
#define BOUNCER_ALERT_H

#include <time.h>

struct event_base;
struct alerter;

/* What an alert is about; a NULL or empty field is left out. */
struct alert {
	const char	*kind;		/* "blocklist", "authfailure", "throttle" */
	const char	*blocklist;	/* "spamhaus" */
	const char	*ip;		/* the listed address */
	const char	*provider;	/* "microsoft" */
	const char	*url;		/* where to ask for delisting */
	const char	*domain;	/* the destination */
	const char	*reason;
	const char	*rule;		/* "generic.rules:31" */
	const char	*reply;		/* the reply that showed it */
	time_t		 first_seen;
	unsigned long	 count;
};

struct alert_stats {
	unsigned long	 raised;
	unsigned long	 hooks_run;
	unsigned long	 hooks_failed;	/* exit status not 0, or killed */
	unsigned long	 hooks_dropped;	/* too many running at once */
};

/*
 * command: the hook program and its fixed arguments, split at spaces
 * (no shell, no quoting); NULL or "" runs none. timeout in seconds.
 */
struct alerter	*alerter_new(struct event_base *base, const char *command,
		    int timeout, char **errp);
/* Logs the alert and starts the hook. Never blocks. */
void		 alerter_raise(struct alerter *, const struct alert *);
/* Kills hooks still running and frees. NULL is fine. */
void		 alerter_free(struct alerter *);
const struct alert_stats *alerter_stats(const struct alerter *);

#endif
