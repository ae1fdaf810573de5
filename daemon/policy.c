/*
 * policy.c -- the Postfix policy delegation protocol, server side
 *
 * One bufferevent per connection. The requests in its input buffer are
 * parsed in place, attributes pointing into the buffer, and answered in
 * order (pipelined or not); an empty line dispatches. Nothing is
 * allocated per request.
 *
 * See also: SMTPD_POLICY_README, bouncerd(8).
 */
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "policy.h"
#include "xalloc.h"

struct pconn {
	struct policy		*srv;
	struct bufferevent	*bev;
	struct pconn		*prev, *next;
	struct policy_request	 attrs;		/* into the input buffer */
};

struct policy {
	struct evconnlistener	*lev;
	struct policy_limits	 lim;
	policy_answer_fn	*answer;
	void			*arg;
	struct pconn		*conns;
	struct policy_stats	 stats;
};

static void
pconn_free(struct pconn *c)
{
	struct policy *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
	srv->stats.open--;
}

/* Points the attribute a line names at its value, if we want it. */
static void
attr_set(struct policy_request *a, char *name, size_t nlen, char *value)
{
#define ATTR(s, f)							\
	if (nlen == sizeof(s) - 1 && memcmp(name, s, nlen) == 0) {	\
		a->f = value;						\
		return;							\
	}
	ATTR("request", request)
	ATTR("protocol_state", protocol_state)
	ATTR("recipient", recipient)
	ATTR("sender", sender)
	ATTR("client_address", client_address)
	ATTR("queue_id", queue_id)
	ATTR("instance", instance)
#undef ATTR
}

static void
dispatch(struct pconn *c)
{
	struct policy *srv = c->srv;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct timespec t0, t1;
	char action[512];
	int rc;

	srv->stats.requests++;
	action[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = srv->answer(&c->attrs, action, sizeof(action), srv->arg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	srv->stats.latency_us_sum += (unsigned long)((t1.tv_sec - t0.tv_sec) *
	    1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	if (rc < 0 || action[0] == '\0' || strpbrk(action, "\r\n") != NULL) {
		if (rc < 0)
			srv->stats.errors++;
		snprintf(action, sizeof(action), "DUNNO");
	}
	/* "550 5.1.1 ..." rejects and "450 ..." defers, as access(5) says. */
	if (strncmp(action, "DUNNO", 5) == 0)
		srv->stats.dunno++;
	else if (strncmp(action, "REJECT", 6) == 0 || action[0] == '5')
		srv->stats.reject++;
	else if (strncmp(action, "DEFER", 5) == 0 || action[0] == '4')
		srv->stats.defer++;
	else
		srv->stats.other++;
	evbuffer_add_printf(out, "action=%s\n\n", action);
}

/*
 * Answers every whole request in the input buffer, parsing it in place
 * (one pullup, one drain); returns -1 when the connection must close.
 * A partial request stays in the buffer and is parsed again, whole,
 * when the rest arrives.
 */
static int
read_requests(struct pconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct policy *srv = c->srv;
	size_t len = evbuffer_get_length(in), linelen;
	char *buf, *p, *e, *nl, *end, *next, *line, *eq;

	if (len == 0)
		return 0;
	if ((buf = (char *)evbuffer_pullup(in, -1)) == NULL)
		return -1;
	p = buf;
	e = buf + len;
	for (;;) {
		/* The end of the next whole request: an empty line. */
		for (end = p; end < e; end = nl + 1) {
			if ((nl = memchr(end, '\n', (size_t)(e - end))) == NULL) {
				end = NULL;
				break;
			}
			if (nl == end || (nl == end + 1 && *end == '\r'))
				break;
		}
		if (end == NULL || end >= e)
			break;
		next = nl + 1;
		if ((size_t)(next - p) > srv->lim.max_request)
			return -1;
		/* Now it may be cut up in place. */
		memset(&c->attrs, 0, sizeof(c->attrs));
		for (line = p; line < end; line = nl + 1) {
			nl = memchr(line, '\n', (size_t)(end - line));
			linelen = (size_t)(nl - line);
			if (linelen > 0 && line[linelen - 1] == '\r')
				linelen--;
			line[linelen] = '\0';
			if (memchr(line, '\0', linelen) != NULL ||
			    (eq = memchr(line, '=', linelen)) == NULL ||
			    eq == line)
				return -1;
			*eq = '\0';
			attr_set(&c->attrs, line, (size_t)(eq - line), eq + 1);
		}
		if (c->attrs.request == NULL)
			return -1;	/* no "request=": not Postfix */
		dispatch(c);
		p = next;
	}
	if ((size_t)(e - p) > srv->lim.max_request)
		return -1;
	evbuffer_drain(in, (size_t)(p - buf));
	return 0;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct pconn *c = arg;

	(void)bev;
	if (read_requests(c) < 0) {
		c->srv->stats.bad++;
		log_warn("policy: malformed or over-long request; closing "
		    "that connection");
		pconn_free(c);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pconn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		pconn_free(c);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct policy *srv = arg;
	struct event_base *base = evconnlistener_get_base(lev);
	struct timeval idle = { srv->lim.idle_timeout, 0 };
	struct pconn *c;

	(void)sa;
	(void)salen;
	if (srv->stats.open >= srv->lim.max_conns) {
		srv->stats.refused++;
		evutil_closesocket(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->next = srv->conns;
	if (c->next != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->stats.connections++;
	srv->stats.open++;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(c->bev, srv->lim.idle_timeout > 0 ? &idle :
	    NULL, NULL);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	/* EMFILE and friends: the listener retries on the next event. */
	log_warn("policy: accept: %s", strerror(errno));
}

struct policy *
policy_new(struct event_base *base, int fd, const struct policy_limits *lim,
    policy_answer_fn *answer, void *arg, char **errp)
{
	struct policy *srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->lim = *lim;
	if (srv->lim.max_request == 0)
		srv->lim.max_request = 16384;
	if (srv->lim.max_conns == 0)
		srv->lim.max_conns = 4096;
	srv->answer = answer;
	srv->arg = arg;
	srv->lev = evconnlistener_new(base, on_accept, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->lev == NULL) {
		*errp = xasprintf("policy: cannot listen: %s", strerror(errno));
		free(srv);
		return NULL;
	}
	evconnlistener_set_error_cb(srv->lev, on_accept_error);
	return srv;
}

void
policy_free(struct policy *srv)
{
	if (srv == NULL)
		return;
	evconnlistener_free(srv->lev);
	while (srv->conns != NULL)
		pconn_free(srv->conns);
	free(srv);
}

const struct policy_stats *
policy_stats(const struct policy *srv)
{
	return &srv->stats;
}
