/*
 * logtail.c -- follow the MTA's log: a file, or a syslog datagram socket
 *
 * Polling, not inotify: it works the same on every file system and
 * under every log rotation scheme, and a poll of an unchanged file is
 * two fstat()s. Each poll:
 *  - reads the open file to its end, handing over complete lines;
 *  - if the file is now shorter than what was read, or no longer holds
 *    the last bytes read, it was truncated: start again from 0;
 *  - if the path names another file (rotated), finish the old one,
 *    then open the new one from 0.
 * The state file holds "inode offset" of the last complete line; at
 * start it is honoured only if the inode still matches and the file is
 * at least that long.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "listener.h"
#include "log.h"
#include "logtail.h"
#include "xalloc.h"

#define LINE_MAX_BYTES	(256 * 1024)
#define READ_CHUNK	(64 * 1024)

struct logtail {
	struct event		*ev;
	logtail_line_fn		*fn;
	void			*arg;
	char			*path;
	char			*statefile;
	int			 fd;
	int			 sock;		/* datagram mode */
	ino_t			 ino;
	off_t			 pos;		/* end of the last whole line */
	off_t			 readpos;	/* bytes read from fd */
	char			*line;		/* a partial line */
	size_t			 linelen;
	int			 skipping;	/* inside an over-long line */
	char			 sig[64];	/* the bytes just before readpos */
	size_t			 siglen;
	int			 dirty;		/* pos not saved yet */
	struct logtail_stats	 stats;
};

static void
emit(struct logtail *lt, const char *p, size_t n)
{
	char *l;

	if (lt->skipping) {
		lt->skipping = 0;
		return;
	}
	if (lt->linelen) {
		if (lt->linelen + n > LINE_MAX_BYTES) {
			lt->stats.overlong++;
			lt->linelen = 0;
			return;
		}
		memcpy(lt->line + lt->linelen, p, n);
		n += lt->linelen;
		lt->linelen = 0;
		l = lt->line;
	} else {
		l = lt->line;
		if (n > LINE_MAX_BYTES) {
			lt->stats.overlong++;
			return;
		}
		memcpy(l, p, n);
	}
	if (n > 0 && l[n - 1] == '\r')
		n--;
	l[n] = '\0';
	lt->stats.lines++;
	lt->fn(l, n, lt->arg);
}

/* Hands over the whole lines of buf; keeps the tail for next time. */
static void
feed(struct logtail *lt, const char *buf, size_t n)
{
	const char *p = buf, *e = buf + n, *nl;

	while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		emit(lt, p, (size_t)(nl - p));
		lt->pos += nl - p + 1;
		p = nl + 1;
	}
	if (p < e) {
		size_t rest = (size_t)(e - p);

		if (lt->skipping || lt->linelen + rest > LINE_MAX_BYTES) {
			if (!lt->skipping) {
				lt->stats.overlong++;
				log_warn("%s: a line over %d bytes; skipped",
				    lt->path, LINE_MAX_BYTES);
			}
			lt->skipping = 1;
			lt->linelen = 0;
		} else {
			memcpy(lt->line + lt->linelen, p, rest);
			lt->linelen += rest;
		}
	}
	/*
	 * pos counts only whole lines, so a partial line is read again
	 * after a restart. While skipping, pos moves on.
	 */
	if (lt->skipping)
		lt->pos = lt->readpos;
	lt->dirty = 1;
}

static void
drain(struct logtail *lt)
{
	static char buf[READ_CHUNK];
	ssize_t n;

	for (;;) {
		n = pread(lt->fd, buf, sizeof(buf), lt->readpos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				log_warn("%s: read: %s", lt->path,
				    strerror(errno));
			return;
		}
		lt->readpos += n;
		lt->stats.bytes += (unsigned long)n;
		feed(lt, buf, (size_t)n);
		/* Remember the last bytes read, to notice a rewrite. */
		if ((size_t)n >= sizeof(lt->sig)) {
			memcpy(lt->sig, buf + n - sizeof(lt->sig),
			    sizeof(lt->sig));
			lt->siglen = sizeof(lt->sig);
		} else {
			size_t keep = lt->siglen + (size_t)n > sizeof(lt->sig) ?
			    sizeof(lt->sig) - (size_t)n : lt->siglen;

			memmove(lt->sig, lt->sig + lt->siglen - keep, keep);
			memcpy(lt->sig + keep, buf, (size_t)n);
			lt->siglen = keep + (size_t)n;
		}
	}
}

static void
reset_to(struct logtail *lt, off_t off)
{
	lt->pos = lt->readpos = off;
	lt->linelen = 0;
	lt->skipping = 0;
	lt->siglen = 0;
	lt->dirty = 1;
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

	if (st->st_size < lt->readpos)
		return 1;
	if (lt->siglen == 0)
		return 0;
	return pread(lt->fd, now, lt->siglen, lt->readpos -
	    (off_t)lt->siglen) != (ssize_t)lt->siglen ||
	    memcmp(now, lt->sig, lt->siglen) != 0;
}

static int
open_file(struct logtail *lt, off_t start)
{
	struct stat st;
	int fd;

	if ((fd = open(lt->path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (lt->fd >= 0)
		close(lt->fd);
	lt->fd = fd;
	lt->ino = st.st_ino;
	reset_to(lt, start <= st.st_size ? start : 0);
	return 0;
}

void
logtail_poll(struct logtail *lt)
{
	struct stat fst, pst;

	if (lt->sock >= 0)
		return;
	if (lt->fd < 0) {
		if (open_file(lt, 0) < 0)
			return;		/* not there yet */
		log_info("%s: following from the start", lt->path);
	}
	if (fstat(lt->fd, &fst) == 0 && truncated(lt, &fst)) {
		lt->stats.truncations++;
		log_info("%s: truncated; reading from the start", lt->path);
		reset_to(lt, 0);
	}
	drain(lt);
	if (stat(lt->path, &pst) == 0 && pst.st_ino != lt->ino) {
		/* Rotated: the old file is finished, the new one starts. */
		drain(lt);
		if (lt->linelen)
			emit(lt, "", 0);	/* its last, unterminated line */
		lt->stats.rotations++;
		log_info("%s: rotated; following the new file", lt->path);
		open_file(lt, 0);
		drain(lt);
	}
	if (fstat(lt->fd, &fst) == 0)
		lt->stats.lag = fst.st_size > lt->readpos ?
		    (uint64_t)(fst.st_size - lt->readpos) : 0;
	if (lt->dirty)
		logtail_save(lt);
}

void
logtail_save(struct logtail *lt)
{
	char *tmp;
	FILE *fp;

	if (lt->statefile == NULL || lt->fd < 0)
		return;
	tmp = xasprintf("%s.tmp", lt->statefile);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("%s: %s", tmp, strerror(errno));
		free(tmp);
		return;
	}
	fprintf(fp, "%ju %jd\n", (uintmax_t)lt->ino, (intmax_t)lt->pos);
	if (fclose(fp) != 0 || rename(tmp, lt->statefile) != 0)
		log_warn("%s: %s", lt->statefile, strerror(errno));
	else
		lt->dirty = 0;
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
	lt->line = xmalloc(LINE_MAX_BYTES + 1);
	return lt;
}

struct logtail *
logtail_file(struct event_base *base, const char *path,
    const char *statefile, int interval_ms, logtail_line_fn *fn, void *arg,
    char **errp)
{
	struct timeval tv;
	struct logtail *lt;
	struct stat st;
	uintmax_t ino;
	intmax_t off;
	FILE *fp;

	if (path == NULL || *path != '/') {
		*errp = xasprintf("maillog_file: \"%s\" is not an absolute path",
		    path ? path : "");
		return NULL;
	}
	lt = lt_new(path, fn, arg);
	if (statefile != NULL && *statefile != '\0')
		lt->statefile = xstrdup(statefile);
	if (open_file(lt, 0) == 0 && lt->statefile != NULL &&
	    (fp = fopen(lt->statefile, "r")) != NULL) {
		char nl = '\n';

		/* The saved offset must still end a line of this file. */
		if (fscanf(fp, "%ju %jd", &ino, &off) == 2 &&
		    (ino_t)ino == lt->ino && fstat(lt->fd, &st) == 0 &&
		    off >= 0 && off <= st.st_size && (off == 0 ||
		    (pread(lt->fd, &nl, 1, (off_t)off - 1) == 1 &&
		    nl == '\n'))) {
			reset_to(lt, (off_t)off);
			log_info("%s: resuming at byte %jd", path, off);
		} else
			log_info("%s: not the file of %s; reading from the "
			    "start", path, lt->statefile);
		fclose(fp);
	}
	tv.tv_sec = interval_ms / 1000;
	tv.tv_usec = (interval_ms % 1000) * 1000;
	if (base != NULL) {
		lt->ev = event_new(base, -1, EV_PERSIST, on_timer, lt);
		event_add(lt->ev, &tv);
	}
	return lt;
}

static void
on_dgram(evutil_socket_t fd, short what, void *arg)
{
	struct logtail *lt = arg;
	char buf[8192];
	ssize_t n;
	char *p, *e;

	(void)what;
	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
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
		emit(lt, p, (size_t)(e - p));
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
	lt->sock = fd;
	lt->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_dgram, lt);
	event_add(lt->ev, NULL);
	return lt;
}

void
logtail_free(struct logtail *lt)
{
	if (lt == NULL)
		return;
	if (lt->sock < 0 && lt->dirty)
		logtail_save(lt);
	if (lt->ev != NULL)
		event_free(lt->ev);
	if (lt->fd >= 0)
		close(lt->fd);
	if (lt->sock >= 0) {
		close(lt->sock);
		unlink(lt->path);
	}
	free(lt->line);
	free(lt->path);
	free(lt->statefile);
	free(lt);
}

const struct logtail_stats *
logtail_stats(const struct logtail *lt)
{
	return &lt->stats;
}
