/*
 * metrics.h -- /metrics (Prometheus text format) and /healthz over HTTP
 *
 * libevent's evhttp on a loopback address. What the metrics are is the
 * caller's: a callback writes them into the response. /healthz answers
 * "ok" while the callback says the daemon is healthy, 503 otherwise.
 * /status gives "name=value" lines about the running daemon, for
 * bouncerctl status.
 */
#ifndef BOUNCER_METRICS_H
#define BOUNCER_METRICS_H

struct evbuffer;
struct event_base;
struct histo;
struct metrics;

/* Writes the metrics text into out. */
typedef void metrics_render_fn(struct evbuffer *out, void *arg);
/* Returns 1 when healthy; may write a one-line reason into out. */
typedef int metrics_health_fn(struct evbuffer *out, void *arg);

/*
 * spec: "host:port" or "inet:host:port". render writes /metrics, status
 * writes /status (either may be NULL). NULL with *errp on failure.
 */
struct metrics	*metrics_new(struct event_base *base, const char *spec,
		    metrics_render_fn *render, metrics_render_fn *status,
		    metrics_health_fn *, void *arg, char **errp);
void		 metrics_free(struct metrics *);	/* NULL is fine */
/*
 * Writes h as the Prometheus histogram name (HELP, TYPE, one
 * name_bucket{le="..."} line per bucket, name_sum in seconds and
 * name_count) into out. name and help are the caller's; help is one
 * line without a backslash.
 */
void		 metrics_histogram(struct evbuffer *out, const char *name,
		    const char *help, const struct histo *h);

#endif
