/*
 * socketmap.c -- Postfix's socketmap protocol, server side
 *
 * Netstrings: "LEN:DATA,". Requests are small (a map name and an
 * address); anything over 10,000 bytes, or not a netstring, closes the
 * connection.
 *
 * A bufferevent per connection. Its input is never read past one
 * whole request (a read high watermark); its output, once
 * CONNLIMIT_WATERMARK bytes wait, stops the reading until the client
 * has taken half of them. Which connections stay open, and for how
 * long, is connlimit.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "connlimit.h"
#include "log.h"
#include "socketmap.h"
#include "xalloc.h"

#define MAX_REQUEST	10000
/* "10000:" and "," around the largest request. */
#define MAX_NETSTRING	(MAX_REQUEST + 8)

struct socketmap {
	struct event_base	*base;
	struct connlimit	*cl;
	socketmap_fn		*fn;
	void			*arg;
	struct socketmap_stats	 stats;
};

struct smconn {
	struct socketmap	*sm;
	struct connlimit_conn	*h;
	struct bufferevent	*bev;
	int			 paused;	/* output over the watermark */
};

static void
reply(struct bufferevent *bev, const char *s)
{
	evbuffer_add_printf(bufferevent_get_output(bev), "%zu:%s,",
	    strlen(s), s);
}

/*
 * Answers every whole netstring in the input, or until the output
 * reaches the watermark; adds them to *answered. -1 to close.
 */
static int
serve(struct socketmap *sm, struct bufferevent *bev, unsigned *answered)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *outb = bufferevent_get_output(bev);
	char head[8], req[MAX_REQUEST + 2], val[1024], out[1100];
	struct answer ans;
	size_t have, i, len;
	uint64_t t0;
	char *sp;
	int rc;

	for (;;) {
		have = evbuffer_get_length(in);
		if (have == 0 ||
		    evbuffer_get_length(outb) >= CONNLIMIT_WATERMARK)
			return 0;
		len = 0;
		evbuffer_copyout(in, head, have < sizeof(head) ? have :
		    sizeof(head));
		for (i = 0; i < have && i < sizeof(head) && head[i] >= '0' &&
		    head[i] <= '9'; i++)
			len = len * 10 + (size_t)(head[i] - '0');
		if (i == sizeof(head) || (i < have && i < sizeof(head) &&
		    head[i] != ':') || (i == 0 && have > 0) ||
		    len > MAX_REQUEST)
			return -1;
		if (i >= have || have < i + 1 + len + 1)
			return 0;		/* not all there yet */
		evbuffer_drain(in, i + 1);
		evbuffer_remove(in, req, len + 1);
		if (req[len] != ',')
			return -1;
		req[len] = '\0';
		sm->stats.requests++;
		(*answered)++;
		if ((sp = strchr(req, ' ')) == NULL ||
		    memchr(req, '\0', len) != NULL) {
			sm->stats.bad++;
			reply(bev, "PERM malformed request");
			continue;
		}
		*sp = '\0';
		ans.action = ACT_DUNNO;
		t0 = histo_now();
		rc = sm->fn(req, sp + 1, &ans, sm->arg);
		histo_since(&sm->stats.latency, t0);
		if (rc == 0 && socketmap_value(&ans, val, sizeof(val)) > 0) {
			sm->stats.found++;
			snprintf(out, sizeof(out), "OK %s", val);
			reply(bev, out);
		} else if (rc == 0) {
			sm->stats.notfound++;
			reply(bev, "NOTFOUND ");
		} else {
			sm->stats.temp++;
			reply(bev, "TEMP lookup failed");
		}
	}
}

size_t
socketmap_value(const struct answer *a, char *buf, size_t bufsz)
{
	int n;

	if (bufsz == 0)
		return 0;
	if (a->action != ACT_REJECT && a->action != ACT_DEFER) {
		buf[0] = '\0';
		return 0;
	}
	n = snprintf(buf, bufsz, "%s:%s ", a->action == ACT_REJECT ?
	    "error" : "retry", a->status);
	if (n < 0 || (size_t)n >= bufsz) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n + answer_text(a, buf + n, bufsz - (size_t)n);
}

/* connlimit's close callback, and ours. */
static void
smconn_free(void *arg)
{
	struct smconn *c = arg;

	bufferevent_free(c->bev);
	free(c);
}

static void
smconn_close(struct smconn *c)
{
	connlimit_drop(c->h);
	smconn_free(c);
}

/* Answers what the input holds; stops reading over the watermark. */
static void
process(struct smconn *c)
{
	struct socketmap *sm = c->sm;
	unsigned answered = 0;

	if (serve(sm, c->bev, &answered) < 0) {
		sm->stats.bad++;
		log_warn("socketmap: malformed request; closing that "
		    "connection");
		smconn_close(c);
		return;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >=
	    CONNLIMIT_WATERMARK && !c->paused) {
		c->paused = 1;
		bufferevent_disable(c->bev, EV_READ);
	}
	connlimit_progress(c->h, answered,
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	process(arg);
}

/* The output is down to the low watermark: read again. */
static void
on_write(struct bufferevent *bev, void *arg)
{
	struct smconn *c = arg;

	(void)bev;
	if (!c->paused)
		return;
	c->paused = 0;
	bufferevent_enable(c->bev, EV_READ);
	process(c);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		smconn_close(arg);
}

static void *
on_accept(int fd, struct connlimit_conn *h, void *arg)
{
	struct socketmap *sm = arg;
	struct smconn *c;

	c = xcalloc(1, sizeof(*c));
	c->sm = sm;
	c->h = h;
	c->bev = bufferevent_socket_new(sm->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, MAX_NETSTRING);
	bufferevent_setwatermark(c->bev, EV_WRITE, CONNLIMIT_WATERMARK / 2,
	    0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

struct socketmap *
socketmap_new(struct event_base *base, int fd,
    const struct socketmap_limits *lim, socketmap_fn *fn, void *arg,
    char **errp)
{
	struct socketmap *sm = xcalloc(1, sizeof(*sm));
	struct connlimit_conf cc;

	sm->fn = fn;
	sm->arg = arg;
	sm->base = base;
	cc.name = "socketmap";
	cc.max_conns = lim != NULL && lim->max_conns > 0 ? lim->max_conns :
	    1024;
	cc.idle_timeout = lim != NULL ? lim->idle_timeout : 600;
	cc.request_timeout = lim != NULL ? lim->request_timeout : 10;
	if ((sm->cl = connlimit_new(base, fd, &cc, on_accept, smconn_free,
	    sm, errp)) == NULL) {
		free(sm);
		return NULL;
	}
	return sm;
}

void
socketmap_free(struct socketmap *sm)
{
	if (sm == NULL)
		return;
	connlimit_free(sm->cl);
	free(sm);
}

const struct socketmap_stats *
socketmap_stats(struct socketmap *sm)
{
	const struct connlimit_stats *cs = connlimit_stats(sm->cl);

	sm->stats.connections = cs->accepted;
	sm->stats.open = cs->open;
	sm->stats.evicted = cs->evicted;
	sm->stats.timed_out = cs->timed_out;
	sm->stats.refused = cs->refused;
	return &sm->stats;
}
