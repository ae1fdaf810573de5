/*
 * logtail.h -- follow the MTA's log: a file, or a syslog datagram socket
 *
 * A file is followed across rotation (renamed away and a new one made,
 * also several times between two polls or while the daemon was down:
 * the rotated files are found again by inode in the log's directory)
 * and truncation, and the position reached is saved in a state file,
 * so that after a restart reading resumes where it stopped. A re-read
 * line does no harm (events carry their identity and the store ignores
 * repeats), but a missed one is a lost decision: when in doubt, this
 * module re-reads.
 *
 * Reading is done in slices, bounded in bytes and in time, so that a
 * long backlog never holds the event loop: while more remains, the
 * next slice is due at once, after the loop has served its sockets.
 *
 * Lines go to a callback without their newline, NUL-terminated, valid
 * for the call only. A line longer than the limit, or holding a NUL
 * byte, is skipped with a warning (the first time) and counted. The
 * callback returns 0 when the line is consumed, or -1 when it could not
 * be stored: that line is then held, and offered again later (a file:
 * read again from where it starts, which is also the position saved;
 * a socket: kept in memory, at most LOGTAIL_HELD_MAX bytes), with a
 * back-off from the poll interval up to 30 s, reset on success.
 */
#ifndef BOUNCER_LOGTAIL_H
#define BOUNCER_LOGTAIL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct listener_perm;
struct logtail;

/* 0: consumed; -1: not stored, offer it again later. */
typedef int logtail_line_fn(const char *line, size_t len, void *arg);

/* The most bytes of syslog lines held in memory while the store fails. */
#define LOGTAIL_HELD_MAX	(16 * 1024 * 1024)

struct logtail_stats {
	unsigned long	 lines;
	unsigned long	 bytes;
	unsigned long	 rotations;
	unsigned long	 truncations;
	unsigned long	 overlong;	/* lines skipped: too long */
	unsigned long	 nul;		/* lines skipped: a NUL byte inside */
	unsigned long	 held;		/* lines waiting for the store now */
	unsigned long	 dropped;	/* syslog lines lost: over the bound */
	uint64_t	 lag;		/* bytes in the file(s) not yet read */
};

/*
 * Follows path, polling every interval_ms on base; statefile (may be
 * NULL) keeps "inode offset" across restarts. A missing file is waited
 * for. Only a regular file is read: path is opened without following a
 * symbolic link, and a FIFO, directory or device there is refused
 * (once, with a warning) until it is a file again. The first slice is
 * read from the loop, not here. Returns NULL with *errp set only for a
 * bad argument.
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
/*
 * Reads one slice now (the timer does this too). Returns 1 when more
 * is there to read at once, 0 when the follower has caught up or is
 * waiting (held lines, no file).
 */
int		 logtail_poll(struct logtail *);
/*
 * Saves the position; done by polls that read something, too (while a
 * backlog is read, once a second), and by logtail_free().
 */
void		 logtail_save(struct logtail *);
/*
 * For a callback that takes a line before it is stored (bouncerd hands
 * lines to its writer thread): the position is saved only when
 * synced(arg) returns 1, meaning that every line taken so far is
 * stored; otherwise the save waits for a later poll. So a crash never
 * leaves the saved position past a line that was not stored.
 */
void		 logtail_set_sync(struct logtail *, int (*synced)(void *),
		    void *arg);
void		 logtail_free(struct logtail *);	/* saves; NULL is fine */
/* Valid as long as the follower; updated by each poll. */
const struct logtail_stats *logtail_stats(const struct logtail *);
/*
 * Is following healthy? 1 if so, 0 if not, with a one-line reason in
 * why (always NUL-terminated; "" when healthy): the file does not
 * exist, cannot be opened (the errno text), is not a regular file,
 * lines are held because the store fails, or reading does not advance
 * while the file has more. As of the last poll.
 */
int		 logtail_health(const struct logtail *, char *why,
		    size_t whysz);

#endif
