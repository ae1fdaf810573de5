/*
 * logtail.h -- follow the MTA's log: a file, or a syslog datagram socket
 *
 * A file is followed across rotation (renamed away and a new one made)
 * and truncation, and the position reached is saved in a state file, so
 * that after a restart reading resumes where it stopped. A re-read line
 * does no harm (events carry their identity and the store ignores
 * repeats), but a missed one is a lost decision: when in doubt, this
 * module re-reads.
 *
 * Lines go to a callback without their newline, NUL-terminated, valid
 * for the call only. A line longer than the limit is skipped with a
 * warning.
 */
#ifndef BOUNCER_LOGTAIL_H
#define BOUNCER_LOGTAIL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct listener_perm;
struct logtail;

typedef void logtail_line_fn(const char *line, size_t len, void *arg);

struct logtail_stats {
	unsigned long	 lines;
	unsigned long	 bytes;
	unsigned long	 rotations;
	unsigned long	 truncations;
	unsigned long	 overlong;	/* lines skipped: too long */
	uint64_t	 lag;		/* bytes in the file not yet read */
};

/*
 * Follows path, polling every interval_ms on base; statefile (may be
 * NULL) keeps "inode offset" across restarts. A missing file is waited
 * for. Returns NULL with *errp set only for a bad argument.
 */
struct logtail	*logtail_file(struct event_base *base, const char *path,
		    const char *statefile, int interval_ms,
		    logtail_line_fn *fn, void *arg, char **errp);
/*
 * Reads syslog datagrams from a unix datagram socket at path (made
 * here, with perm as listener_bind_unix() gives it); each message,
 * without its "<PRI>" head, is one line.
 */
struct logtail	*logtail_socket(struct event_base *base, const char *path,
		    const struct listener_perm *perm, logtail_line_fn *fn,
		    void *arg, char **errp);
/* Reads what is there now (the timer does this too). */
void		 logtail_poll(struct logtail *);
/* Saves the position; done on every poll that read something, too. */
void		 logtail_save(struct logtail *);
void		 logtail_free(struct logtail *);	/* saves; NULL is fine */
const struct logtail_stats *logtail_stats(const struct logtail *);

#endif
