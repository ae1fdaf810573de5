/*
 * policy.c -- the Postfix policy delegation protocol, server side
 *
 * Per connection, a read event and an input buffer that grows, as
 * requests need it, to the size of the largest (an idle connection has
 * none). One read() takes what the socket has; every whole request in
 * the buffer is parsed in place, attributes pointing into it, and
 * answered in order (pipelined or not); the answers go out in one
 * write(). Only what the socket does not take at once is held and
 * finished by a write event. No allocation per request, and two system
 * calls per request as a smtpd process sends them.
 *
 * A client that sends and does not read is answered until
 * CONNLIMIT_WATERMARK bytes of answers wait for it; then its requests
 * stay unparsed and its socket unread until it takes them. Which
 * connections stay open, and for how long, is connlimit.c's.
 *
 * See also: SMTPD_POLICY_README, bouncerd(8).
 */
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "connlimit.h"
#include "log.h"
#include "policy.h"
#include "xalloc.h"

#define POLICY_ACTION_MAX	512	/* bytes of one action, NUL included */

struct pconn {
	struct policy		*srv;
	struct connlimit_conn	*h;
	struct event		*rev;		/* readable */
	struct event		*wev;		/* writable, while out is held */
	int			 fd;
	int			 paused;	/* out is over the watermark */
	int			 writing;	/* wev is added */
	struct policy_request	 attrs;		/* into in[] */
	char			*in;		/* up to max_request + 1 */
	size_t			 inlen, incap;
	char			*out;		/* answers not yet written */
	size_t			 outlen, outcap;
};

struct policy {
	struct connlimit	*cl;
	struct event_base	*base;
	struct policy_limits	 lim;
	policy_answer_fn	*answer;
	void			*arg;
	struct policy_stats	 stats;
	char			 ans[65536];	/* one read's answers */
	size_t			 anslen;
};

/* connlimit's close callback: the table has forgotten c already. */
static void
pconn_free(void *arg)
{
	struct pconn *c = arg;

	event_free(c->rev);
	event_free(c->wev);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

static void
pconn_close(struct pconn *c)
{
	connlimit_drop(c->h);
	pconn_free(c);
}

/* The attributes bouncer uses, as struct policy_request has them. */
enum {
	A_REQUEST, A_STATE, A_RCPT, A_SENDER, A_CLIENT, A_QUEUE_ID,
	A_INSTANCE, A_N
};

/*
 * Which attribute name (nlen bytes) is, or -1 when bouncer does not
 * use it. By length first: most of the two dozen attributes Postfix
 * sends fail there.
 */
static int
attr_index(const char *name, size_t nlen)
{
#define ATTR(s, i)							\
	if (memcmp(name, s, sizeof(s) - 1) == 0)			\
		return i;
	switch (nlen) {
	case 6:
		ATTR("sender", A_SENDER)
		break;
	case 7:
		ATTR("request", A_REQUEST)
		break;
	case 8:
		ATTR("queue_id", A_QUEUE_ID)
		ATTR("instance", A_INSTANCE)
		break;
	case 9:
		ATTR("recipient", A_RCPT)
		break;
	case 14:
		ATTR("protocol_state", A_STATE)
		ATTR("client_address", A_CLIENT)
		break;
	}
#undef ATTR
	return -1;
}

/* Queues bytes for c behind what is already held. */
static void
hold(struct pconn *c, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (c->outlen + n > c->outcap) {
		c->outcap = c->outlen + n + 4096;
		c->out = xrealloc(c->out, c->outcap);
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/*
 * Writes held answers, then the new ones in srv->ans. Whatever the
 * socket does not take now is held, and the write event finishes it.
 * Returns -1 when the connection is gone.
 */
static int
flush(struct pconn *c, const char *p, size_t n)
{
	ssize_t w;

	if (c->outlen > 0 || n == 0) {
		hold(c, p, n);
		p = c->out;
		n = c->outlen;
	}
	while (n > 0) {
		w = write(c->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	if (p != c->out || n != c->outlen) {
		/* p is in c->out or in srv->ans: keep what is left. */
		if (c->outlen > 0) {
			memmove(c->out, p, n);
			c->outlen = n;
		} else
			hold(c, p, n);
	}
	/* Touch the write event only when that changes: not per answer. */
	if (c->outlen > 0 && !c->writing) {
		event_add(c->wev, NULL);
		c->writing = 1;
	} else if (c->outlen == 0 && c->writing) {
		event_del(c->wev);
		c->writing = 0;
	}
	return 0;
}

size_t
policy_action(const struct answer *a, char *buf, size_t bufsz)
{
	static const char dunno[] = "DUNNO";
	const char *verb;
	size_t n, vn, sn;

	if (bufsz == 0)
		return 0;
	switch (a->action) {
	case ACT_REJECT:
		verb = "550 ";
		break;
	case ACT_DEFER:
		verb = "DEFER_IF_PERMIT ";
		break;
	default:
		/* Most answers: no printf. */
		n = sizeof(dunno) - 1 < bufsz ? sizeof(dunno) - 1 : bufsz - 1;
		memcpy(buf, dunno, n);
		buf[n] = '\0';
		return n;
	}
	vn = strlen(verb);
	sn = strnlen(a->status, sizeof(a->status));
	if (vn + sn + 1 >= bufsz) {
		buf[0] = '\0';
		return 0;
	}
	memcpy(buf, verb, vn);
	memcpy(buf + vn, a->status, sn);
	buf[vn + sn] = ' ';
	n = vn + sn + 1;
	return n + answer_text(a, buf + n, bufsz - n);
}

static void
dispatch(struct pconn *c)
{
	struct policy *srv = c->srv;
	struct answer ans;
	uint64_t t0;
	char *p;
	size_t n;
	int rc;

	srv->stats.requests++;
	ans.action = ACT_DUNNO;
	t0 = histo_now();
	rc = srv->answer(&c->attrs, &ans, srv->arg);
	histo_since(&srv->stats.latency, t0);
	if (rc < 0) {
		srv->stats.errors++;
		ans.action = ACT_DUNNO;
	}
	switch (ans.action) {
	case ACT_REJECT:
		srv->stats.reject++;
		break;
	case ACT_DEFER:
		srv->stats.defer++;
		break;
	case ACT_DUNNO:
		srv->stats.dunno++;
		break;
	default:
		srv->stats.other++;
		ans.action = ACT_DUNNO;
		break;
	}
	if (srv->anslen + POLICY_ACTION_MAX + 16 > sizeof(srv->ans)) {
		/* A very long pipeline: hand over what is ready. */
		hold(c, srv->ans, srv->anslen);
		srv->anslen = 0;
	}
	/* "action=%s\n\n", worded in place. */
	p = srv->ans + srv->anslen;
	memcpy(p, "action=", 7);
	n = policy_action(&ans, p + 7, POLICY_ACTION_MAX);
	memcpy(p + 7 + n, "\n\n", 2);
	srv->anslen += 7 + n + 2;
}

/*
 * Parses the request that starts at p, if it is whole before e: one
 * pass over its lines, two memchr() calls a line. Points c->attrs
 * into the buffer, each value cut off with a NUL, and *next at the
 * byte after the empty line. Nothing is written to the buffer before
 * the request is known whole and sound, so a partial one stays as it
 * came. Returns 1, 0 when the request is not whole yet, or -1 when it
 * is malformed: a line that is not "name=value", a NUL, or no
 * "request=".
 */
static int
parse_request(struct pconn *c, char *p, char *e, char **next)
{
	struct policy_request *a = &c->attrs;
	char *line, *nl, *eq, *val[A_N], *end[A_N];
	size_t len;
	int bad = 0, i;

	memset(val, 0, sizeof(val));
	for (line = p;; line = nl + 1) {
		if (line >= e ||
		    (nl = memchr(line, '\n', (size_t)(e - line))) == NULL)
			return 0;
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0)
			break;
		if (bad)
			continue;
		if ((eq = memchr(line, '=', len)) == NULL || eq == line) {
			bad = 1;
			continue;
		}
		if ((i = attr_index(line, (size_t)(eq - line))) >= 0) {
			val[i] = eq + 1;
			end[i] = line + len;
		}
	}
	if (bad || val[A_REQUEST] == NULL ||
	    memchr(p, '\0', (size_t)(line - p)) != NULL)
		return -1;
	for (i = 0; i < A_N; i++)
		if (val[i] != NULL)
			*end[i] = '\0';
	a->request = val[A_REQUEST];
	a->protocol_state = val[A_STATE];
	a->recipient = val[A_RCPT];
	a->sender = val[A_SENDER];
	a->client_address = val[A_CLIENT];
	a->queue_id = val[A_QUEUE_ID];
	a->instance = val[A_INSTANCE];
	*next = nl + 1;
	return 1;
}

/*
 * Answers every whole request in c->in, parsing it in place; keeps a
 * partial one for the next read. Stops, leaving the rest in c->in,
 * once the answers waiting for the client reach the watermark. Adds
 * the requests answered to *answered. Returns 1 when it stopped so, 0
 * when only a partial request is left, -1 when the connection must
 * close.
 */
static int
read_requests(struct pconn *c, unsigned *answered)
{
	struct policy *srv = c->srv;
	char *buf = c->in, *p, *e, *next;
	int full = 0, rc;

	if (buf == NULL)
		return 0;
	p = buf;
	e = buf + c->inlen;
	for (;;) {
		if (c->outlen + srv->anslen >= CONNLIMIT_WATERMARK) {
			full = 1;
			break;
		}
		if ((rc = parse_request(c, p, e, &next)) < 0)
			return -1;
		if (rc == 0)
			break;
		dispatch(c);
		(*answered)++;
		p = next;
	}
	c->inlen = (size_t)(e - p);
	if (!full && c->inlen >= srv->lim.max_request)
		return -1;
	if (p != buf)
		memmove(buf, p, c->inlen);
	return full;
}

/*
 * Answers what c->in holds and writes the answers; stops reading c
 * while they wait over the watermark. Returns -1 when c must close.
 */
static int
serve(struct pconn *c)
{
	struct policy *srv = c->srv;
	unsigned answered = 0;
	int rc;

	do {
		srv->anslen = 0;
		if ((rc = read_requests(c, &answered)) < 0) {
			srv->stats.bad++;
			log_warn("policy: malformed or over-long request; "
			    "closing that connection");
			return -1;
		}
		if (srv->anslen > 0 && flush(c, srv->ans, srv->anslen) < 0)
			return -1;
		/* Stopped at the watermark, but the socket took it all. */
	} while (rc == 1 && c->outlen < CONNLIMIT_WATERMARK);
	if (c->outlen >= CONNLIMIT_WATERMARK && !c->paused) {
		c->paused = 1;
		event_del(c->rev);
	}
	connlimit_progress(c->h, answered, c->inlen > 0);
	return 0;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;
	struct policy *srv = c->srv;
	size_t room;
	ssize_t n;

	(void)what;
	if (c->inlen == c->incap && c->incap < srv->lim.max_request) {
		c->incap = c->incap == 0 ? 2048 : c->incap * 2;
		if (c->incap > srv->lim.max_request)
			c->incap = srv->lim.max_request;
		c->in = xrealloc(c->in, c->incap + 1);
	}
	room = c->incap - c->inlen;
	n = read(fd, c->in + c->inlen, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		pconn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	if (serve(c) < 0)
		pconn_close(c);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct pconn *c = arg;

	(void)fd;
	(void)what;
	if (flush(c, NULL, 0) < 0) {
		pconn_close(c);
		return;
	}
	/* Drained: answer what was left waiting, then read again. */
	if (c->paused && c->outlen < CONNLIMIT_WATERMARK / 2) {
		c->paused = 0;
		if (serve(c) < 0) {
			pconn_close(c);
			return;
		}
		if (!c->paused)
			event_add(c->rev, NULL);
	}
}

static void *
on_accept(int fd, struct connlimit_conn *h, void *arg)
{
	struct policy *srv = arg;
	struct pconn *c;

	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->h = h;
	c->fd = fd;
	c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	event_add(c->rev, NULL);
	return c;
}

struct policy *
policy_new(struct event_base *base, int fd, const struct policy_limits *lim,
    policy_answer_fn *answer, void *arg, char **errp)
{
	struct connlimit_conf cc;
	struct policy *srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->lim = *lim;
	if (srv->lim.max_request == 0)
		srv->lim.max_request = 16384;
	if (srv->lim.max_conns == 0)
		srv->lim.max_conns = 4096;
	srv->answer = answer;
	srv->arg = arg;
	cc.name = "policy";
	cc.max_conns = srv->lim.max_conns;
	cc.idle_timeout = srv->lim.idle_timeout;
	cc.request_timeout = srv->lim.request_timeout;
	if ((srv->cl = connlimit_new(base, fd, &cc, on_accept, pconn_free,
	    srv, errp)) == NULL) {
		free(srv);
		return NULL;
	}
	return srv;
}

void
policy_free(struct policy *srv)
{
	if (srv == NULL)
		return;
	connlimit_free(srv->cl);
	free(srv);
}

const struct policy_stats *
policy_stats(struct policy *srv)
{
	const struct connlimit_stats *cs = connlimit_stats(srv->cl);

	srv->stats.connections = cs->accepted;
	srv->stats.open = cs->open;
	srv->stats.evicted = cs->evicted;
	srv->stats.timed_out = cs->timed_out;
	srv->stats.refused = cs->refused;
	return &srv->stats;
}
