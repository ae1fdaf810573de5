/*
 * health.c -- named checks, each ok or failing, changes logged once
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "health.h"
#include "log.h"
#include "xalloc.h"

struct check {
	const char	*name;
	int		 ok;
	long long	 since;		/* when it became what it is */
	char		 why[HEALTH_WHY_MAX];
};

struct health {
	struct check	*checks;
	size_t		 n;
};

struct health *
health_new(void)
{
	return xcalloc(1, sizeof(struct health));
}

void
health_free(struct health *h)
{
	if (h == NULL)
		return;
	free(h->checks);
	free(h);
}

static struct check *
find(struct health *h, const char *name, long long now)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->checks[i].name, name) == 0)
			return &h->checks[i];
	h->checks = xreallocarray(h->checks, h->n + 1, sizeof(*h->checks));
	memset(&h->checks[h->n], 0, sizeof(h->checks[h->n]));
	h->checks[h->n].name = name;
	h->checks[h->n].ok = 1;
	h->checks[h->n].since = now;
	return &h->checks[h->n++];
}

void
health_set(struct health *h, const char *name, int ok, const char *why,
    long long now)
{
	struct check *c = find(h, name, now);
	char buf[HEALTH_WHY_MAX];

	snprintf(buf, sizeof(buf), "%s", ok || why == NULL ? "" : why);
	if (ok && c->ok)
		return;
	if (ok) {
		log_info("health: %s ok again (failing since %lld: %s)",
		    name, c->since, c->why);
		c->ok = 1;
		c->why[0] = '\0';
		c->since = now;
		return;
	}
	/* A new reason while failing (a count in it, say) is shown, not
	   logged: the part that fails logs its own details. */
	if (c->ok) {
		log_warn("health: %s failing: %s", name, buf);
		c->since = now;
	}
	c->ok = 0;
	memcpy(c->why, buf, sizeof(c->why));
}

int
health_ok(const struct health *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!h->checks[i].ok)
			return 0;
	return 1;
}

void
health_write(const struct health *h, struct evbuffer *out)
{
	size_t i;

	if (health_ok(h)) {
		evbuffer_add_printf(out, "ok\n");
		return;
	}
	for (i = 0; i < h->n; i++)
		if (!h->checks[i].ok)
			evbuffer_add_printf(out, "%s: failing since %lld: %s\n",
			    h->checks[i].name, h->checks[i].since,
			    h->checks[i].why);
}

void
health_metrics(const struct health *h, struct evbuffer *out)
{
	size_t i;

	evbuffer_add_printf(out, "# HELP bouncer_health Whether each part "
	    "of the daemon works (1) or not (0); /healthz says why.\n"
	    "# TYPE bouncer_health gauge\n");
	for (i = 0; i < h->n; i++)
		evbuffer_add_printf(out, "bouncer_health{check=\"%s\"} %d\n",
		    h->checks[i].name, h->checks[i].ok);
	evbuffer_add_printf(out, "# HELP bouncer_healthy 1 while /healthz "
	    "answers 200, 0 while it answers 503.\n"
	    "# TYPE bouncer_healthy gauge\n"
	    "bouncer_healthy %d\n", health_ok(h));
}
