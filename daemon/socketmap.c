/*
 * socketmap.c -- Postfix's socketmap protocol, server side
 *
 * Netstrings: "LEN:DATA,". Requests are small (a map name and an
 * address); anything over 10,000 bytes, or not a netstring, closes the
 * connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "socketmap.h"
#include "xalloc.h"

#define MAX_REQUEST	10000

struct socketmap {
	struct evconnlistener	*lev;
	socketmap_fn		*fn;
	void			*arg;
	struct socketmap_stats	 stats;
};

static void
reply(struct bufferevent *bev, const char *s)
{
	evbuffer_add_printf(bufferevent_get_output(bev), "%zu:%s,",
	    strlen(s), s);
}

/* Answers every whole netstring in the input; -1 to close. */
static int
serve(struct socketmap *sm, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char head[8], req[MAX_REQUEST + 2], val[1024], out[1100];
	size_t have, i, len;
	char *sp;
	int rc;

	for (;;) {
		have = evbuffer_get_length(in);
		if (have == 0)
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
		if ((sp = strchr(req, ' ')) == NULL ||
		    memchr(req, '\0', len) != NULL) {
			sm->stats.bad++;
			reply(bev, "PERM malformed request");
			continue;
		}
		*sp = '\0';
		rc = sm->fn(req, sp + 1, val, sizeof(val), sm->arg);
		if (rc > 0) {
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

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct socketmap *sm = arg;

	if (serve(sm, bev) < 0) {
		sm->stats.bad++;
		log_warn("socketmap: malformed request; closing that "
		    "connection");
		bufferevent_free(bev);
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		bufferevent_free(bev);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent *bev;
	struct timeval idle = { 600, 0 };

	(void)sa;
	(void)salen;
	bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, on_read, NULL, on_event, arg);
	bufferevent_set_timeouts(bev, &idle, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

struct socketmap *
socketmap_new(struct event_base *base, int fd, socketmap_fn *fn, void *arg,
    char **errp)
{
	struct socketmap *sm = xcalloc(1, sizeof(*sm));

	sm->fn = fn;
	sm->arg = arg;
	sm->lev = evconnlistener_new(base, on_accept, sm,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (sm->lev == NULL) {
		*errp = xasprintf("socketmap: cannot listen: %s",
		    strerror(errno));
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
	evconnlistener_free(sm->lev);
	free(sm);
}

const struct socketmap_stats *
socketmap_stats(const struct socketmap *sm)
{
	return &sm->stats;
}
