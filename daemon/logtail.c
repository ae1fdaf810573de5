/*
 * logtail.c -- follow the MTA's log: a file, or a syslog datagram socket
 *
 * Polling, not inotify: it works the same on every file system and
 * under every log rotation scheme, and a poll of an unchanged file is
 * an open(), two fstat()s and a close().
 *
 * Each poll reads one slice: at most SLICE_BYTES and SLICE_USEC of
 * work, then the loop gets back to its sockets. When more remains, the
 * timer is set to fire at once (libevent runs timers after I/O), else
 * after the poll interval. A slice:
 *  - checks the open file: shorter than the position, or no longer
 *    holding the bytes just before it, means truncated: from 0 again;
 *  - hands over whole lines from the position on. Only a line the
 *    callback took moves the position, so the position saved is always
 *    the start of a line not yet consumed;
 *  - at the end of the file, if the path names another file (rotated),
 *    finishes the old one (its unterminated last line too), then reads
 *    the files that were rotated in between, then the new one from 0.
 *
 * Rotated files are found by inode among the log's siblings: regular
 * files in its directory named after it plus "." or "-" (compressed
 * ones skipped), last written no earlier than the old file, and neither
 * the old file nor the new one, in order of modification time. At
 * start, when the state file names an inode other than the log's, that
 * inode is looked for among the siblings the same way: finished from
 * the saved offset, then the siblings newer than it, then the log. No
 * inode is read twice (the last ones finished are remembered) and no
 * symbolic link is followed.
 *
 * When the callback fails (the store is down), the line is held: the
 * position stays at its start, and it is offered again after a
 * back-off that doubles from the poll interval up to BACKOFF_MAX_MS.
 * Lines from the syslog socket cannot be read again: they wait in a
 * FIFO in memory, at most LOGTAIL_HELD_MAX bytes; more is dropped and
 * counted.
 *
 * The state file holds "inode offset" of the first line not consumed;
 * at start it is honoured only if that offset ends a line of the file.
 *
 * Health is the state of the last poll: the path missing, not
 * openable, not a regular file, lines held, or no progress while the
 * file has more. One warning when it goes bad, one line when it is
 * well again; never one per poll.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "listener.h"
#include "log.h"
#include "logtail.h"
#include "xalloc.h"

#define LINE_MAX_BYTES	(256 * 1024)
#define READ_CHUNK	(64 * 1024)
#define SLICE_BYTES	(256 * 1024)
#define SLICE_USEC	10000
#define BACKOFF_MAX_MS	30000
#define STALL_MS	10000		/* no progress this long: unhealthy */
#define QUEUE_MAX	16		/* rotated files waiting to be read */
#define DONE_MAX	16		/* inodes finished, remembered */
#define DGRAM_BATCH	256		/* datagrams per read event */
#define SAVE_MS		1000		/* saves while reading a backlog */

enum lt_state {
	ST_OK,
	ST_MISSING,	/* the path is not there */
	ST_OPEN,	/* the path cannot be opened: errno */
	ST_NOTREG,	/* the path is a FIFO, directory, link, ... */
	ST_READ,	/* reading failed: errno */
	ST_HELD,	/* lines held: the store fails */
	ST_STALLED	/* no progress while the file has more */
};

struct fileid {
	int		 fd;
	dev_t		 dev;
	ino_t		 ino;
};

struct held {
	struct held	*next;
	size_t		 len;
	char		 line[];
};

struct logtail {
	struct event		*timer;
	struct event		*rev;		/* datagram mode: readable */
	logtail_line_fn		*fn;
	void			*arg;
	char			*path;
	char			*statefile;
	int			 interval_ms;
	int			 sock;		/* datagram mode */

	/* The file being read. */
	int			 fd;
	dev_t			 dev;
	ino_t			 ino;
	off_t			 pos;		/* next byte to read */
	off_t			 lpos;		/* start of the current line */
	int			 skipping;	/* inside an over-long line */
	char			 sig[64];	/* the bytes just before pos */
	size_t			 siglen;
	int			 dirty;		/* lpos not saved yet */
	int			(*synced)(void *);	/* logtail_set_sync() */
	void			*sync_arg;
	long long		 saved_at;	/* monotonic ms */

	/* Rotated files still to read, oldest first; then the log. */
	struct fileid		 queue[QUEUE_MAX + 1];
	size_t			 nqueue;
	struct fileid		 done[DONE_MAX];	/* a ring */
	size_t			 ndone;

	/* Held lines: back-off, and the socket's FIFO. */
	int			 held;
	int			 backoff_ms;
	long long		 retry_at;	/* monotonic ms */
	long long		 held_since;
	struct held		*hhead, **htail;
	size_t			 hbytes;
	int			 drop_warned;

	/* Health. */
	enum lt_state		 state;
	int			 err;		/* errno of ST_OPEN */
	int			 rerr;		/* errno of ST_READ */
	int			 took;		/* a line taken since hold() */
	long long		 progress_at;	/* monotonic ms */
	int			 nul_warned;
	struct logtail_stats	 stats;
	char			*buf;
};

static void
state_text(const struct logtail *lt, enum lt_state s, char *why,
    size_t whysz)
{
	switch (s) {
	case ST_OK:
		snprintf(why, whysz, "%s", "");
		break;
	case ST_MISSING:
		snprintf(why, whysz, "%s: does not exist", lt->path);
		break;
	case ST_OPEN:
		snprintf(why, whysz, "%s: cannot be read: %s", lt->path,
		    strerror(lt->err));
		break;
	case ST_NOTREG:
		snprintf(why, whysz, "%s: not a regular file; not read",
		    lt->path);
		break;
	case ST_READ:
		snprintf(why, whysz, "%s: read: %s", lt->path,
		    strerror(lt->rerr));
		break;
	case ST_HELD:
		snprintf(why, whysz, "%s: %lu line%s held for %llds: the "
		    "store fails", lt->sock >= 0 ? "syslog" : lt->path,
		    lt->stats.held, lt->stats.held == 1 ? "" : "s",
		    (clock_mono_ms() - lt->held_since) / 1000);
		break;
	case ST_STALLED:
		snprintf(why, whysz, "%s: not advancing; %ju bytes unread",
		    lt->path, (uintmax_t)lt->stats.lag);
		break;
	}
}

/* Logs a change of state: one warning when bad, one line when well. */
static void
set_state(struct logtail *lt, enum lt_state s)
{
	char why[512];

	if (s == lt->state)
		return;
	if (s == ST_OK)
		log_info("%s: following again", lt->sock >= 0 ? "syslog" :
		    lt->path);
	else if (s == ST_HELD)
		log_warn("%s: the store fails; lines held, to be offered "
		    "again", lt->sock >= 0 ? "syslog" : lt->path);
	else {
		enum lt_state old = lt->state;

		lt->state = s;
		state_text(lt, s, why, sizeof(why));
		lt->state = old;
		log_warn("%s", why);
	}
	lt->state = s;
}

int
logtail_health(const struct logtail *lt, char *why, size_t whysz)
{
	if (whysz > 0)
		*why = '\0';
	if (lt->state == ST_OK)
		return 1;
	if (whysz > 0)
		state_text(lt, lt->state, why, whysz);
	return 0;
}

/* The line was refused: hold it, and back off. */
static void
hold(struct logtail *lt)
{
	long long now = clock_mono_ms();

	if (!lt->held)
		lt->held_since = now;
	if (!lt->held || lt->took)
		lt->backoff_ms = lt->interval_ms;
	else if ((lt->backoff_ms *= 2) > BACKOFF_MAX_MS)
		lt->backoff_ms = BACKOFF_MAX_MS;
	lt->held = 1;
	lt->took = 0;
	lt->retry_at = now + lt->backoff_ms;
}

/* The held line was taken: the next hold starts a new back-off. */
static void
unhold(struct logtail *lt)
{
	lt->held = 0;
	lt->backoff_ms = 0;
}

/*
 * Offers one line (n bytes at l, l[n] writable). Returns 0 when it is
 * done with (consumed or refused for good), -1 when the callback could
 * not store it.
 */
static int
emit(struct logtail *lt, char *l, size_t n)
{
	if (memchr(l, '\0', n) != NULL) {
		lt->stats.nul++;
		if (!lt->nul_warned++)
			log_warn("%s: a line with a NUL byte; skipped (and "
			    "any more such lines, counted)", lt->sock >= 0 ?
			    "syslog" : lt->path);
		return 0;
	}
	if (n > 0 && l[n - 1] == '\r')
		n--;
	l[n] = '\0';
	if (lt->fn(l, n, lt->arg) < 0)
		return -1;
	lt->took = 1;
	lt->stats.lines++;
	return 0;
}

/* Forgets the position in the open file: read it again from off. */
static void
reset_to(struct logtail *lt, off_t off)
{
	lt->pos = lt->lpos = off;
	lt->skipping = 0;
	lt->siglen = 0;
	lt->dirty = 1;
}

static void
take_sig(struct logtail *lt)
{
	size_t n = lt->pos < (off_t)sizeof(lt->sig) ? (size_t)lt->pos :
	    sizeof(lt->sig);
	ssize_t r;

	r = n ? pread(lt->fd, lt->sig, n, lt->pos - (off_t)n) : 0;
	lt->siglen = r > 0 ? (size_t)r : 0;
}

/*
 * Was the file truncated since the last poll? Shorter than what was
 * read, or (truncated and written again past that point) no longer
 * holding the bytes last read.
 */
static int
truncated(struct logtail *lt, const struct stat *st)
{
	char now[sizeof(lt->sig)];

	if (st->st_size < lt->pos)
		return 1;
	if (lt->siglen == 0)
		return 0;
	return pread(lt->fd, now, lt->siglen, lt->pos -
	    (off_t)lt->siglen) != (ssize_t)lt->siglen ||
	    memcmp(now, lt->sig, lt->siglen) != 0;
}

struct budget {
	long long	 until;		/* monotonic usec */
	size_t		 bytes;		/* left */
};

static int
spent(const struct budget *b)
{
	return b->bytes == 0 || clock_mono_usec() >= b->until;
}

/*
 * Reads the open file from pos, within the budget. final: the file is
 * finished (rotated away), so an unterminated last line is a line.
 * Returns 1 when the budget ran out, 0 at the end of the file, -1 when
 * a line is held (pos at its start), -2 when reading failed.
 */
static int
read_slice(struct logtail *lt, struct budget *b, int final)
{
	char *p, *e, *nl;
	ssize_t n;
	size_t want;

	for (;;) {
		if (spent(b))
			return 1;
		want = READ_CHUNK;
again:
		n = pread(lt->fd, lt->buf, want, lt->pos);
		if (n < 0 && errno == EINTR)
			goto again;
		if (n < 0) {
			lt->rerr = errno;
			return -2;
		}
		if (n == 0)
			return 0;
		p = lt->buf;
		e = p + n;
		if (lt->skipping) {
			if ((nl = memchr(p, '\n', (size_t)n)) == NULL) {
				lt->pos += n;
				b->bytes -= b->bytes < (size_t)n ? b->bytes :
				    (size_t)n;
				continue;
			}
			lt->pos += nl + 1 - p;
			lt->lpos = lt->pos;
			lt->skipping = 0;
			lt->dirty = 1;
			continue;
		}
		if (memchr(p, '\n', (size_t)n) == NULL &&
		    (size_t)n == want && want < LINE_MAX_BYTES + 1) {
			/* A line longer than a chunk: read it whole. */
			want = LINE_MAX_BYTES + 1;
			goto again;
		}
		while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) !=
		    NULL) {
			if (emit(lt, p, (size_t)(nl - p)) < 0)
				return -1;
			lt->stats.bytes += (unsigned long)(nl + 1 - p);
			b->bytes -= b->bytes < (size_t)(nl + 1 - p) ?
			    b->bytes : (size_t)(nl + 1 - p);
			lt->pos += nl + 1 - p;
			lt->lpos = lt->pos;
			lt->dirty = 1;
			p = nl + 1;
			if (spent(b))
				return 1;
		}
		if (p == lt->buf) {
			/* No newline in LINE_MAX_BYTES + 1: skip it. */
			if ((size_t)n > LINE_MAX_BYTES) {
				lt->stats.overlong++;
				log_warn("%s: a line over %d bytes; skipped",
				    lt->path, LINE_MAX_BYTES);
				lt->skipping = 1;
				lt->pos += n;
				continue;
			}
			/* An unterminated line at the end. */
			if (!final)
				return 0;
			if (emit(lt, p, (size_t)(e - p)) < 0)
				return -1;
			lt->stats.bytes += (unsigned long)(e - p);
			lt->pos += e - p;
			lt->lpos = lt->pos;
			lt->dirty = 1;
			return 0;
		}
		/* The rest is a partial line: read from its start again. */
	}
}

/*
 * Opens name (relative to dirfd, or absolute with AT_FDCWD) for reading
 * without following a link or blocking. Returns the fd, or -1 with
 * *st_r saying why: ST_MISSING, ST_OPEN (errno in *err_r), ST_NOTREG.
 */
static int
open_reg(int dirfd, const char *name, struct stat *st, enum lt_state *st_r,
    int *err_r)
{
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		*err_r = errno;
		*st_r = errno == ENOENT ? ST_MISSING : errno == ELOOP ?
		    ST_NOTREG : ST_OPEN;
		return -1;
	}
	if (fstat(fd, st) < 0) {
		*err_r = errno;
		*st_r = ST_OPEN;
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		*st_r = ST_NOTREG;
		close(fd);
		return -1;
	}
	*st_r = ST_OK;
	return fd;
}

static void
use_file(struct logtail *lt, int fd, const struct stat *st, off_t start)
{
	if (lt->fd >= 0)
		close(lt->fd);
	lt->fd = fd;
	lt->dev = st->st_dev;
	lt->ino = st->st_ino;
	reset_to(lt, start);
	lt->progress_at = clock_mono_ms();
}

static int
was_done(const struct logtail *lt, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < lt->ndone && i < DONE_MAX; i++)
		if (lt->done[i].dev == dev && lt->done[i].ino == ino)
			return 1;
	return 0;
}

static void
mark_done(struct logtail *lt)
{
	lt->done[lt->ndone % DONE_MAX].dev = lt->dev;
	lt->done[lt->ndone % DONE_MAX].ino = lt->ino;
	lt->ndone++;
}

struct sib {
	int		 fd;
	struct stat	 st;
};

static int
sib_cmp(const void *a, const void *b)
{
	const struct stat *x = &((const struct sib *)a)->st;
	const struct stat *y = &((const struct sib *)b)->st;

	if (x->st_mtim.tv_sec != y->st_mtim.tv_sec)
		return x->st_mtim.tv_sec < y->st_mtim.tv_sec ? -1 : 1;
	if (x->st_mtim.tv_nsec != y->st_mtim.tv_nsec)
		return x->st_mtim.tv_nsec < y->st_mtim.tv_nsec ? -1 : 1;
	return 0;
}

/* Does name look like a rotated copy of the log (base.1, base-2026)? */
static int
sibling_name(const struct logtail *lt, const char *base, const char *name)
{
	static const char *const packed[] = { ".gz", ".xz", ".bz2", ".zst",
	    ".Z", ".lz4", ".tmp" };
	size_t bl = strlen(base), nl = strlen(name), i, sl;
	const char *sf;

	if (nl <= bl + 1 || strncmp(name, base, bl) != 0 ||
	    (name[bl] != '.' && name[bl] != '-'))
		return 0;
	for (i = 0; i < sizeof(packed) / sizeof(packed[0]); i++) {
		sl = strlen(packed[i]);
		if (nl > sl && strcmp(name + nl - sl, packed[i]) == 0)
			return 0;
	}
	/* The state file may live next to the log: it is no log. */
	if (lt->statefile != NULL) {
		sf = strrchr(lt->statefile, '/');
		sf = sf ? sf + 1 : lt->statefile;
		if (strcmp(name, sf) == 0)
			return 0;
	}
	return 1;
}

/*
 * Finds the rotated siblings of the log. With want_ino set, the one of
 * that inode is opened into *found (fd, else -1) and `after` is its
 * mtime. Then queues, oldest first, every sibling modified no earlier
 * than `after` that is neither x1 nor x2 nor already read.
 */
static void
queue_siblings(struct logtail *lt, const struct timespec *after_in,
    ino_t x1, ino_t x2, const ino_t *want_ino, struct sib *found)
{
	struct sib sibs[64];
	struct timespec after = after_in ? *after_in : (struct timespec){ 0,
	    0 };
	char *dir = xstrdup(lt->path), *base, *slash;
	struct dirent *de;
	struct stat dst, st;
	enum lt_state why;
	size_t n = 0, i;
	DIR *dp;
	int dfd, fd, err;

	if (found != NULL)
		found->fd = -1;
	slash = strrchr(dir, '/');
	base = slash + 1;
	*slash = '\0';
	if ((dp = opendir(*dir ? dir : "/")) == NULL) {
		free(dir);
		return;
	}
	dfd = dirfd(dp);
	if (fstat(dfd, &dst) < 0)
		goto out;
	if (want_ino != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (!sibling_name(lt, base, de->d_name) ||
			    fstatat(dfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) < 0 || st.st_ino !=
			    *want_ino || !S_ISREG(st.st_mode))
				continue;
			if ((fd = open_reg(dfd, de->d_name, &st, &why,
			    &err)) < 0 || st.st_ino != *want_ino) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			found->fd = fd;
			found->st = st;
			after = st.st_mtim;
			break;
		}
		if (found->fd < 0)
			goto out;
		rewinddir(dp);
	}
	while ((de = readdir(dp)) != NULL && n < sizeof(sibs) /
	    sizeof(sibs[0])) {
		if (!sibling_name(lt, base, de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_dev != dst.st_dev ||
		    st.st_ino == x1 || st.st_ino == x2 ||
		    (found != NULL && found->fd >= 0 &&
		    st.st_ino == found->st.st_ino) ||
		    was_done(lt, st.st_dev, st.st_ino) ||
		    st.st_mtim.tv_sec < after.tv_sec ||
		    (st.st_mtim.tv_sec == after.tv_sec &&
		    st.st_mtim.tv_nsec < after.tv_nsec))
			continue;
		if ((fd = open_reg(dfd, de->d_name, &sibs[n].st, &why,
		    &err)) < 0)
			continue;
		if (sibs[n].st.st_ino != st.st_ino) {
			close(fd);
			continue;
		}
		sibs[n++].fd = fd;
	}
	qsort(sibs, n, sizeof(sibs[0]), sib_cmp);
	for (i = 0; i < n; i++) {
		if (lt->nqueue < QUEUE_MAX) {
			lt->queue[lt->nqueue].fd = sibs[i].fd;
			lt->queue[lt->nqueue].dev = sibs[i].st.st_dev;
			lt->queue[lt->nqueue].ino = sibs[i].st.st_ino;
			lt->nqueue++;
			log_info("%s: reading rotated file %ju too", lt->path,
			    (uintmax_t)sibs[i].st.st_ino);
		} else
			close(sibs[i].fd);
	}
out:
	closedir(dp);
	free(dir);
}

/* Moves on to the next file in the queue. */
static void
next_file(struct logtail *lt)
{
	struct stat st;
	struct fileid f = lt->queue[0];

	mark_done(lt);
	memmove(lt->queue, lt->queue + 1, --lt->nqueue * sizeof(lt->queue[0]));
	if (fstat(f.fd, &st) < 0) {
		memset(&st, 0, sizeof(st));
		st.st_dev = f.dev;
		st.st_ino = f.ino;
	}
	use_file(lt, f.fd, &st, 0);
}

/* The bytes of the open file and the queued ones not read yet. */
static void
measure_lag(struct logtail *lt)
{
	struct stat st;
	uint64_t lag = 0;
	size_t i;

	if (lt->fd >= 0 && fstat(lt->fd, &st) == 0 && st.st_size > lt->pos)
		lag += (uint64_t)(st.st_size - lt->pos);
	for (i = 0; i < lt->nqueue; i++)
		if (fstat(lt->queue[i].fd, &st) == 0)
			lag += (uint64_t)st.st_size;
	lt->stats.lag = lag;
}

static void
schedule(struct logtail *lt, int more)
{
	struct timeval tv;
	long long ms = lt->interval_ms;

	if (lt->timer == NULL)
		return;
	if (more)
		ms = 0;
	else if (lt->held && lt->retry_at - clock_mono_ms() < ms)
		ms = lt->retry_at - clock_mono_ms() > 0 ? lt->retry_at - clock_mono_ms() :
		    0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(lt->timer, &tv);
}

/*
 * Looks at the path: a regular file? Sets *st and returns an fd on it,
 * or -1 with the state set to why not.
 */
static int
look(struct logtail *lt, struct stat *st, enum lt_state *why)
{
	int fd, err = 0;

	fd = open_reg(AT_FDCWD, lt->path, st, why, &err);
	if (fd < 0 && *why == ST_OPEN)
		lt->err = err;
	return fd;
}

static int
poll_file(struct logtail *lt)
{
	struct budget b;
	struct stat st, pst;
	enum lt_state pstate = ST_OK, rstate = ST_OK;
	off_t before = lt->pos;
	int fd, rc = 0, more = 0, final;

	memset(&st, 0, sizeof(st));
	b.until = clock_mono_usec() + SLICE_USEC;
	b.bytes = SLICE_BYTES;
	/* The path first: health, and has it been rotated? */
	fd = look(lt, &pst, &pstate);
	if (lt->fd < 0 && fd >= 0) {
		use_file(lt, fd, &pst, 0);
		fd = -1;
		log_info("%s: following from the start", lt->path);
	}
	if (lt->held && clock_mono_ms() < lt->retry_at)
		goto done;
	while (lt->fd >= 0) {
		if (fstat(lt->fd, &st) == 0 && truncated(lt, &st)) {
			lt->stats.truncations++;
			log_info("%s: truncated; reading from the start",
			    lt->path);
			reset_to(lt, 0);
		}
		final = lt->nqueue > 0 || (fd >= 0 && pst.st_ino != lt->ino);
		rc = read_slice(lt, &b, final);
		if (rc == -2) {
			rstate = ST_READ;
			break;
		}
		if (rc < 0) {
			hold(lt);
			break;
		}
		unhold(lt);
		if (rc > 0) {
			more = 1;
			break;
		}
		/* The end of this file. */
		if (lt->nqueue > 0) {
			next_file(lt);
			continue;
		}
		if (fd < 0 || pst.st_ino == lt->ino)
			break;
		/* Rotated: whatever was rotated in between, then the new. */
		lt->stats.rotations++;
		log_info("%s: rotated; following the new file", lt->path);
		queue_siblings(lt, &st.st_mtim, lt->ino, pst.st_ino, NULL,
		    NULL);
		lt->queue[lt->nqueue].fd = fd;
		lt->queue[lt->nqueue].dev = pst.st_dev;
		lt->queue[lt->nqueue].ino = pst.st_ino;
		lt->nqueue++;
		fd = -1;
		next_file(lt);
	}
	if (lt->fd >= 0)
		take_sig(lt);
done:
	if (fd >= 0)
		close(fd);
	measure_lag(lt);
	if (lt->pos != before || lt->stats.lag == 0 || lt->held)
		lt->progress_at = clock_mono_ms();
	lt->stats.held = lt->held ? 1 : 0;
	if (pstate != ST_OK)
		set_state(lt, pstate);
	else if (rstate != ST_OK)
		set_state(lt, rstate);
	else if (lt->held)
		set_state(lt, ST_HELD);
	else if (clock_mono_ms() - lt->progress_at > STALL_MS)
		set_state(lt, ST_STALLED);
	else
		set_state(lt, ST_OK);
	/* While a backlog is read, not at every slice: once a second. */
	if (lt->dirty && (!more || clock_mono_ms() - lt->saved_at >= SAVE_MS))
		logtail_save(lt);
	return more;
}

/* Offers the held syslog lines again, oldest first. */
static int
poll_held(struct logtail *lt)
{
	struct budget b;
	struct held *h;

	b.until = clock_mono_usec() + SLICE_USEC;
	b.bytes = SLICE_BYTES;
	if (lt->hhead == NULL || clock_mono_ms() < lt->retry_at)
		return 0;
	while ((h = lt->hhead) != NULL) {
		if (emit(lt, h->line, h->len) < 0) {
			hold(lt);
			return 0;
		}
		lt->hhead = h->next;
		if (lt->hhead == NULL)
			lt->htail = &lt->hhead;
		lt->hbytes -= h->len;
		lt->stats.held--;
		b.bytes -= b.bytes < h->len ? b.bytes : h->len;
		free(h);
		if (spent(&b))
			break;
	}
	if (lt->hhead == NULL) {
		unhold(lt);
		set_state(lt, ST_OK);
		lt->drop_warned = 0;
		return 0;
	}
	lt->retry_at = 0;
	return 1;
}

int
logtail_poll(struct logtail *lt)
{
	int more;

	more = lt->sock >= 0 ? poll_held(lt) : poll_file(lt);
	if (lt->sock < 0 || lt->hhead != NULL)
		schedule(lt, more);
	return more;
}

void
logtail_save(struct logtail *lt)
{
	char *tmp;
	FILE *fp;

	if (lt->statefile == NULL || lt->fd < 0)
		return;
	if (lt->synced != NULL && !lt->synced(lt->sync_arg))
		return;		/* a later poll saves */
	tmp = xasprintf("%s.tmp", lt->statefile);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("%s: %s", tmp, strerror(errno));
		free(tmp);
		return;
	}
	fprintf(fp, "%ju %jd\n", (uintmax_t)lt->ino, (intmax_t)lt->lpos);
	if (fclose(fp) != 0 || rename(tmp, lt->statefile) != 0)
		log_warn("%s: %s", lt->statefile, strerror(errno));
	else
		lt->dirty = 0;
	lt->saved_at = clock_mono_ms();
	free(tmp);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logtail_poll(arg);
}

static struct logtail *
lt_new(const char *path, logtail_line_fn *fn, void *arg)
{
	struct logtail *lt = xcalloc(1, sizeof(*lt));

	lt->path = xstrdup(path);
	lt->fn = fn;
	lt->arg = arg;
	lt->fd = -1;
	lt->sock = -1;
	lt->htail = &lt->hhead;
	lt->buf = xmalloc(LINE_MAX_BYTES + 2);
	lt->progress_at = clock_mono_ms();
	return lt;
}

/* Does the saved offset end a line of the file open on fd? */
static int
line_end(int fd, const struct stat *st, intmax_t off)
{
	char nl = '\n';

	return off >= 0 && off <= st->st_size && (off == 0 ||
	    (pread(fd, &nl, 1, (off_t)off - 1) == 1 && nl == '\n'));
}

/* Where to start: the state file's file and offset, if they still hold. */
static void
resume(struct logtail *lt)
{
	struct stat st;
	struct sib found;
	enum lt_state why;
	uintmax_t ino;
	intmax_t off;
	ino_t want;
	FILE *fp;
	int fd, ok, err;

	fd = open_reg(AT_FDCWD, lt->path, &st, &why, &err);
	if (lt->statefile == NULL || (fp = fopen(lt->statefile, "r")) ==
	    NULL) {
		if (fd >= 0)
			use_file(lt, fd, &st, 0);
		return;
	}
	ok = fscanf(fp, "%ju %jd", &ino, &off) == 2;
	fclose(fp);
	if (ok && fd >= 0 && (ino_t)ino == st.st_ino) {
		if (line_end(fd, &st, off)) {
			use_file(lt, fd, &st, (off_t)off);
			log_info("%s: resuming at byte %jd", lt->path, off);
			return;
		}
	} else if (ok) {
		/* Rotated while we were away? Finish that file first. */
		want = (ino_t)ino;
		queue_siblings(lt, NULL, fd >= 0 ? st.st_ino : 0, 0, &want,
		    &found);
		if (found.fd >= 0) {
			log_info("%s: resuming in rotated file %ju at byte "
			    "%jd", lt->path, ino, line_end(found.fd,
			    &found.st, off) ? off : 0);
			use_file(lt, found.fd, &found.st, line_end(found.fd,
			    &found.st, off) ? (off_t)off : 0);
			if (fd >= 0 && lt->nqueue < QUEUE_MAX + 1) {
				lt->queue[lt->nqueue].fd = fd;
				lt->queue[lt->nqueue].dev = st.st_dev;
				lt->queue[lt->nqueue].ino = st.st_ino;
				lt->nqueue++;
			} else if (fd >= 0)
				close(fd);
			return;
		}
	}
	if (fd >= 0) {
		log_info("%s: not the file of %s; reading from the start",
		    lt->path, lt->statefile);
		use_file(lt, fd, &st, 0);
	}
}

struct logtail *
logtail_file(struct event_base *base, const char *path,
    const char *statefile, int interval_ms, logtail_line_fn *fn, void *arg,
    char **errp)
{
	struct timeval tv = { 0, 0 };
	struct logtail *lt;

	if (path == NULL || *path != '/') {
		*errp = xasprintf("maillog_file: \"%s\" is not an absolute path",
		    path ? path : "");
		return NULL;
	}
	lt = lt_new(path, fn, arg);
	lt->interval_ms = interval_ms > 0 ? interval_ms : 250;
	if (statefile != NULL && *statefile != '\0')
		lt->statefile = xstrdup(statefile);
	resume(lt);
	if (base != NULL) {
		lt->timer = event_new(base, -1, 0, on_timer, lt);
		/* The first slice is read from the loop, not here. */
		event_add(lt->timer, &tv);
	}
	return lt;
}

/* Keeps a syslog line for later; drops it over the bound. */
static void
keep(struct logtail *lt, const char *p, size_t n)
{
	struct held *h;

	if (lt->hbytes + n > LOGTAIL_HELD_MAX) {
		lt->stats.dropped++;
		if (!lt->drop_warned++)
			log_warn("syslog: %d bytes of lines held; dropping "
			    "more lines until the store takes them",
			    LOGTAIL_HELD_MAX);
		return;
	}
	h = xmalloc(sizeof(*h) + n + 1);
	h->next = NULL;
	h->len = n;
	memcpy(h->line, p, n);
	h->line[n] = '\0';
	*lt->htail = h;
	lt->htail = &h->next;
	lt->hbytes += n;
	lt->stats.held++;
}

static void
on_dgram(evutil_socket_t fd, short what, void *arg)
{
	struct logtail *lt = arg;
	char buf[8193];
	ssize_t n;
	char *p, *e;
	int i;

	(void)what;
	for (i = 0; i < DGRAM_BATCH && (n = recv(fd, buf, sizeof(buf) - 1,
	    MSG_DONTWAIT)) > 0; i++) {
		p = buf;
		e = buf + n;
		while (e > p && (e[-1] == '\n' || e[-1] == '\0'))
			e--;
		/* "<22>Nov 25 ...": drop the priority */
		if (p < e && *p == '<') {
			char *q = memchr(p, '>', (size_t)(e - p));

			if (q != NULL && q - p <= 4)
				p = q + 1;
		}
		lt->stats.bytes += (unsigned long)n;
		if (memchr(p, '\0', (size_t)(e - p)) != NULL) {
			emit(lt, p, (size_t)(e - p));	/* counts, skips */
			continue;
		}
		if (lt->hhead == NULL && emit(lt, p, (size_t)(e - p)) == 0)
			continue;
		if (lt->hhead == NULL) {
			hold(lt);
			schedule(lt, 0);
		}
		keep(lt, p, (size_t)(e - p));
		set_state(lt, ST_HELD);
	}
}

struct logtail *
logtail_socket(struct event_base *base, const char *path,
    const struct listener_perm *perm, logtail_line_fn *fn, void *arg,
    char **errp)
{
	struct logtail *lt;
	char *e = NULL;
	int fd, size = 1 << 20;

	if (path == NULL || *path != '/') {
		*errp = xasprintf("syslog_socket: \"%s\": want an absolute "
		    "path", path ? path : "");
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errp = xasprintf("syslog_socket: %s", strerror(errno));
		return NULL;
	}
	if (listener_bind_unix(fd, path, perm, &e) < 0) {
		*errp = xasprintf("syslog_socket %s: %s", path, e);
		free(e);
		close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	lt = lt_new(path, fn, arg);
	lt->interval_ms = 250;
	lt->sock = fd;
	lt->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_dgram, lt);
	lt->timer = event_new(base, -1, 0, on_timer, lt);
	event_add(lt->rev, NULL);
	return lt;
}

void
logtail_set_sync(struct logtail *lt, int (*synced)(void *), void *arg)
{
	lt->synced = synced;
	lt->sync_arg = arg;
}

void
logtail_free(struct logtail *lt)
{
	struct held *h;
	size_t i;

	if (lt == NULL)
		return;
	if (lt->sock < 0 && lt->dirty)
		logtail_save(lt);
	if (lt->timer != NULL)
		event_free(lt->timer);
	if (lt->rev != NULL)
		event_free(lt->rev);
	if (lt->fd >= 0)
		close(lt->fd);
	for (i = 0; i < lt->nqueue; i++)
		close(lt->queue[i].fd);
	if (lt->sock >= 0) {
		if (lt->hhead != NULL)
			log_warn("syslog: %lu held lines lost at exit",
			    lt->stats.held);
		close(lt->sock);
		unlink(lt->path);
	}
	while ((h = lt->hhead) != NULL) {
		lt->hhead = h->next;
		free(h);
	}
	free(lt->buf);
	free(lt->path);
	free(lt->statefile);
	free(lt);
}

const struct logtail_stats *
logtail_stats(const struct logtail *lt)
{
	return &lt->stats;
}
