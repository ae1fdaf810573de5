/*
 * metrics.c -- /metrics (Prometheus text format) and /healthz over HTTP
 *
 * A scraper sends a short GET. Anything bigger is refused before it is
 * read whole, so that what evhttp holds per connection is bounded:
 * headers over METRICS_MAX_HEADERS (400, and closed), a body over
 * METRICS_MAX_BODY (413), methods other than GET and HEAD (405), and
 * a connection that does not finish its request in METRICS_TIMEOUT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "histo.h"
#include "listener.h"
#include "metrics.h"
#include "xalloc.h"

#define METRICS_MAX_HEADERS	8192	/* bytes, request line included */
#define METRICS_MAX_BODY	1024	/* bytes */
#define METRICS_TIMEOUT		10	/* seconds */

struct metrics {
	struct evhttp		*http;
	metrics_render_fn	*render;
	metrics_render_fn	*status;
	metrics_health_fn	*health;
	void			*arg;
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out;
	int ok;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	out = evbuffer_new();
	if (strcmp(uri, "/metrics") == 0 && m->render != NULL) {
		m->render(out, m->arg);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain; version=0.0.4");
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/healthz") == 0) {
		ok = m->health == NULL || m->health(out, m->arg);
		if (evbuffer_get_length(out) == 0)
			evbuffer_add_printf(out, ok ? "ok\n" : "unhealthy\n");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain");
		evhttp_send_reply(req, ok ? 200 : 503, ok ? "OK" :
		    "Service Unavailable", out);
	} else if (strcmp(uri, "/status") == 0 && m->status != NULL) {
		m->status(out, m->arg);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain");
		evhttp_send_reply(req, 200, "OK", out);
	} else
		evhttp_send_error(req, 404, "try /metrics, /healthz or /status");
	evbuffer_free(out);
}

struct metrics *
metrics_new(struct event_base *base, const char *spec,
    metrics_render_fn *render, metrics_render_fn *status,
    metrics_health_fn *health, void *arg, char **errp)
{
	struct metrics *m;
	char *full = NULL;
	int fd;

	if (strncmp(spec, "inet:", 5) != 0)
		spec = full = xasprintf("inet:%s", spec);
	fd = listener_open(spec, 64, NULL, errp);
	free(full);
	if (fd < 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->render = render;
	m->status = status;
	m->health = health;
	m->arg = arg;
	m->http = evhttp_new(base);
	if (m->http == NULL || evhttp_accept_socket(m->http, fd) != 0) {
		*errp = xasprintf("metrics: evhttp: %s", strerror(errno));
		if (m->http != NULL)
			evhttp_free(m->http);
		free(m);
		return NULL;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_gencb(m->http, on_request, m);
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	evhttp_free(m->http);
	free(m);
}

void
metrics_histogram(struct evbuffer *out, const char *name, const char *help,
    const struct histo *h)
{
	struct histo_snap hs;
	size_t i;

	histo_snapshot(h, &hs);
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n",
	    name, help, name);
	for (i = 0; i < HISTO_NBUCKETS; i++)
		evbuffer_add_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
		    histo_bound_label(i), (unsigned long long)hs.cum[i]);
	evbuffer_add_printf(out, "%s_sum %.9f\n%s_count %llu\n", name, hs.sum,
	    name, (unsigned long long)hs.count);
}
