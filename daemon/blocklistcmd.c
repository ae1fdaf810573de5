/*
 * blocklistcmd.c -- "bouncerctl blocklist": check DNS blocklists now,
 * list what the daemon found
 *
 * "check" runs the daemon's monitor (dnsbl.h) once on an event base of
 * its own: each target against each zone of its kind, through
 * blocklist_resolver, and prints one row per pair when all answered or
 * timed out. Targets are the arguments or, without any, the
 * configured blocklist_watch_ips and blocklist_watch_domains.
 *
 * "list" reads the alert records the daemon keeps: its listings (key
 * "dnsbl|ZONE|TARGET") and the blocklist alerts bounces raised.
 *
 * Exit status: 0; 1 bad usage or a bad target; 2 a configuration or
 * store error, or (check) a check that failed with nothing listed;
 * 3 (check) something is listed.
 *
 * See also: blocklistcmd.h, dnsbl.h, bouncerctl(8).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "conf.h"
#include "dnsbl.h"
#include "blocklistcmd.h"
#include "store.h"
#include "xalloc.h"

#ifndef CONF_FILE
#define CONF_FILE "/etc/bouncer/bouncer.conf"
#endif

#define EX_OK_		0
#define EX_USAGE_	1
#define EX_CONFIG_	2
#define EX_LISTED_	3

void
blocklistcmd_usage(FILE *fp)
{
	fprintf(fp,
	    "       bouncerctl blocklist check [ip|domain ...]\n"
	    "       bouncerctl blocklist list\n");
}

static void
fmt_time(long long t, char *buf, size_t bufsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(buf, bufsz, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- check --------------------------------------------------------- */

struct row {
	int		 rank;		/* by target, then zone */
	char		 target[256];
	char		 list[64];
	char		 zone[256];
	char		 result[16];	/* listed, clean, or the error */
	char		 meaning[512];
	char		 url[512];
};

struct check {
	char		**targets;	/* normalised, as given */
	int		 ntargets;
	struct dnsbl_zcfg *zones;
	int		 nzones;
	struct row	*rows;
	size_t		 nrows;
	int		 listed, failed;
};

static int
rank_of(const struct check *ck, const char *target, const char *zone)
{
	int t, z;

	for (t = 0; t < ck->ntargets; t++)
		if (strcmp(ck->targets[t], target) == 0)
			break;
	for (z = 0; z < ck->nzones; z++)
		if (strcmp(ck->zones[z].shown, zone) == 0)
			break;
	return t * 1000 + z;
}

static void
on_check(const struct dnsbl_event *ev, void *arg)
{
	struct check *ck = arg;
	struct row *r;

	ck->rows = xreallocarray(ck->rows, ck->nrows + 1, sizeof(*ck->rows));
	r = &ck->rows[ck->nrows++];
	memset(r, 0, sizeof(*r));
	r->rank = rank_of(ck, ev->target, ev->zone);
	snprintf(r->target, sizeof(r->target), "%s", ev->target);
	snprintf(r->list, sizeof(r->list), "%s", ev->list);
	snprintf(r->zone, sizeof(r->zone), "%s", ev->zone);
	snprintf(r->meaning, sizeof(r->meaning), "%s", ev->meaning);
	switch (ev->what) {
	case DNSBL_EV_LISTED:
	case DNSBL_EV_STILL:
		snprintf(r->result, sizeof(r->result), "listed");
		snprintf(r->url, sizeof(r->url), "%s", ev->url);
		ck->listed = 1;
		break;
	case DNSBL_EV_CLEAN:
	case DNSBL_EV_CLEARED:
		snprintf(r->result, sizeof(r->result), "clean");
		*r->meaning = '\0';
		break;
	case DNSBL_EV_ERROR:
		snprintf(r->result, sizeof(r->result), "%s", ev->error_kind);
		ck->failed = 1;
		break;
	}
}

static int
row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* Appends word to *list (space-separated); the list is malloc'd. */
static void
list_add(char **list, const char *word)
{
	char *n = xasprintf("%s%s%s", *list ? *list : "", *list ? " " : "",
	    word);

	free(*list);
	*list = n;
}

/* Splits a configured list into ck->targets. */
static void
targets_add(struct check *ck, const char *list)
{
	char *buf = xstrdup(list), *w, *save = NULL, norm[256];

	for (w = strtok_r(buf, " \t,", &save); w != NULL;
	    w = strtok_r(NULL, " \t,", &save)) {
		if (dnsbl_target(w, norm, sizeof(norm)) == DNSBL_BAD)
			continue;	/* dnsbl_new() says so */
		ck->targets = xreallocarray(ck->targets,
		    (size_t)ck->ntargets + 1, sizeof(*ck->targets));
		ck->targets[ck->ntargets++] = xstrdup(norm);
	}
	free(buf);
}

static void
print_rows(struct check *ck)
{
	int wt = 6, wl = 4, wz = 4, wr = 6, n;
	size_t i;

	qsort(ck->rows, ck->nrows, sizeof(*ck->rows), row_cmp);
	for (i = 0; i < ck->nrows; i++) {
		if ((n = (int)strlen(ck->rows[i].target)) > wt)
			wt = n;
		if ((n = (int)strlen(ck->rows[i].list)) > wl)
			wl = n;
		if ((n = (int)strlen(ck->rows[i].zone)) > wz)
			wz = n;
		if ((n = (int)strlen(ck->rows[i].result)) > wr)
			wr = n;
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", wt, "TARGET", wl, "LIST", wz,
	    "ZONE", wr, "RESULT", "MEANING");
	for (i = 0; i < ck->nrows; i++) {
		const struct row *r = &ck->rows[i];

		printf("%-*s  %-*s  %-*s  %-*s  %s\n", wt, r->target, wl,
		    r->list, wz, r->zone, wr, r->result,
		    *r->meaning ? r->meaning : "-");
		if (*r->url != '\0')
			printf("%-*s  delisting: %s\n", wt + wl + wz + wr + 6,
			    "", r->url);
	}
}

static int
cmd_check(int argc, char **argv, const struct storecmd_globals *g)
{
	struct dnsbl_params p;
	struct event_base *base;
	struct dnsbl *mon;
	struct check ck;
	struct conf *c;
	char *ips = NULL, *doms = NULL, *err = NULL;
	int i, rc;
	enum dnsbl_type t;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			fprintf(stderr, "bouncerctl: blocklist check: unknown "
			    "option %s\n", argv[i]);
			return EX_USAGE_;
		}
		if ((t = dnsbl_target(argv[i], NULL, 0)) == DNSBL_BAD) {
			fprintf(stderr, "bouncerctl: blocklist check: \"%s\" "
			    "is not an IP address or a domain\n", argv[i]);
			free(ips);
			free(doms);
			return EX_USAGE_;
		}
		list_add(t == DNSBL_DOMAIN ? &doms : &ips, argv[i]);
	}
	if ((c = storecmd_conf(g)) == NULL) {
		free(ips);
		free(doms);
		return EX_CONFIG_;
	}
	memset(&p, 0, sizeof(p));
	if (argc > 1) {
		p.watch_ips = ips ? ips : "";
		p.watch_domains = doms ? doms : "";
	} else {
		p.watch_ips = conf_str(c, CONF_BLOCKLIST_WATCH_IPS);
		p.watch_domains = conf_str(c, CONF_BLOCKLIST_WATCH_DOMAINS);
	}
	p.zones = conf_str(c, CONF_BLOCKLIST_ZONES);
	p.dqs_key = conf_str(c, CONF_BLOCKLIST_DQS_KEY);
	p.resolver = conf_str(c, CONF_BLOCKLIST_RESOLVER);
	p.interval = conf_time(c, CONF_BLOCKLIST_INTERVAL);
	p.timeout = conf_time(c, CONF_BLOCKLIST_TIMEOUT);
	p.once = 1;
	memset(&ck, 0, sizeof(ck));
	if (!dnsbl_wanted(&p)) {
		fprintf(stderr, "bouncerctl: blocklist check: nothing to "
		    "check: name IPs or domains, or set blocklist_watch_ips "
		    "or blocklist_watch_domains\n");
		rc = EX_USAGE_;
		goto out;
	}
	targets_add(&ck, p.watch_ips);
	targets_add(&ck, p.watch_domains);
	if ((ck.nzones = dnsbl_zones_parse(p.zones, p.dqs_key, &ck.zones,
	    &err)) < 0) {
		fprintf(stderr, "bouncerctl: %s\n", err);
		rc = EX_CONFIG_;
		goto out;
	}
	base = event_base_new();
	if ((mon = dnsbl_new(base, &p, on_check, &ck, &err)) == NULL) {
		fprintf(stderr, "bouncerctl: %s\n", err);
		event_base_free(base);
		rc = EX_CONFIG_;
		goto out;
	}
	/* The monitor ends the loop when every pair is done. */
	if (dnsbl_pending(mon) > 0)
		event_base_dispatch(base);
	dnsbl_free(mon);
	event_base_free(base);
	print_rows(&ck);
	rc = ck.listed ? EX_LISTED_ : ck.failed ? EX_CONFIG_ : EX_OK_;
out:
	for (i = 0; i < ck.ntargets; i++)
		free(ck.targets[i]);
	free(ck.targets);
	free(ck.zones);
	free(ck.rows);
	free(err);
	free(ips);
	free(doms);
	conf_unref(c);
	return rc;
}

/* --- list ---------------------------------------------------------- */

struct listing {
	char		 target[64];
	char		 list[64];
	char		 zone[128];
	char		 source[8];
	long long	 since, last;
	char		 meaning[STORE_REPLY_MAX];
};

struct listings {
	struct listing	*v;
	size_t		 n;
};

static int
list_keep(const void *rec, void *arg)
{
	const struct store_alert *a = rec;
	struct listings *ls = arg;
	struct listing *l;
	int dnsbl = strcmp(a->kind, "dnsbl") == 0;

	if (!dnsbl && a->blocklist[0] == '\0')
		return 0;
	ls->v = xreallocarray(ls->v, ls->n + 1, sizeof(*ls->v));
	l = &ls->v[ls->n++];
	memset(l, 0, sizeof(*l));
	snprintf(l->target, sizeof(l->target), "%s", *a->ip ? a->ip : "-");
	snprintf(l->list, sizeof(l->list), "%s", a->blocklist);
	snprintf(l->zone, sizeof(l->zone), "%s", dnsbl &&
	    strncmp(a->rule, "dnsbl:", 6) == 0 ? a->rule + 6 : "-");
	snprintf(l->source, sizeof(l->source), "%s", dnsbl ? "dnsbl" :
	    "bounce");
	l->since = a->first;
	l->last = a->last;
	snprintf(l->meaning, sizeof(l->meaning), "%s", dnsbl ? a->reply :
	    a->kind);
	return 0;
}

static int
listing_cmp(const void *a, const void *b)
{
	const struct listing *x = a, *y = b;
	int d;

	if ((d = strcmp(x->target, y->target)) != 0)
		return d;
	if ((d = strcmp(x->list, y->list)) != 0)
		return d;
	return strcmp(x->zone, y->zone);
}

static int
cmd_list(int argc, char **argv, const struct storecmd_globals *g)
{
	struct listings ls = { NULL, 0 };
	const char *uri;
	struct store *st;
	struct conf *c;
	char *err = NULL, since[32], last[32];
	int wt = 6, wl = 4, wz = 4, n, rc;
	size_t i;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "bouncerctl: blocklist list takes no "
		    "arguments\n");
		return EX_USAGE_;
	}
	if ((c = storecmd_conf(g)) == NULL)
		return EX_CONFIG_;
	uri = g->store_uri ? g->store_uri : conf_str(c, CONF_STORE);
	if ((st = store_open(uri, c, &err)) == NULL) {
		fprintf(stderr, "bouncerctl: store: %s\n", err);
		free(err);
		conf_unref(c);
		return EX_CONFIG_;
	}
	rc = store_iterate(st, SK_ALERT, list_keep, &ls);
	if (ls.n > 1)
		qsort(ls.v, ls.n, sizeof(*ls.v), listing_cmp);
	for (i = 0; i < ls.n; i++) {
		if ((n = (int)strlen(ls.v[i].target)) > wt)
			wt = n;
		if ((n = (int)strlen(ls.v[i].list)) > wl)
			wl = n;
		if ((n = (int)strlen(ls.v[i].zone)) > wz)
			wz = n;
	}
	if (rc == 0)
		printf("%-*s  %-*s  %-*s  %-6s  %-20s  %-20s  %s\n", wt,
		    "TARGET", wl, "LIST", wz, "ZONE", "SOURCE", "SINCE",
		    "LAST CHECKED", "MEANING");
	for (i = 0; rc == 0 && i < ls.n; i++) {
		const struct listing *l = &ls.v[i];

		fmt_time(l->since, since, sizeof(since));
		fmt_time(l->last, last, sizeof(last));
		printf("%-*s  %-*s  %-*s  %-6s  %-20s  %-20s  %s\n", wt,
		    l->target, wl, l->list, wz, l->zone, l->source, since,
		    last, *l->meaning ? l->meaning : "-");
	}
	free(ls.v);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

int
blocklistcmd_run(int argc, char **argv, const struct storecmd_globals *g)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1, g);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return cmd_list(argc - 1, argv + 1, g);
	fprintf(stderr, "usage:\n");
	blocklistcmd_usage(stderr);
	return EX_USAGE_;
}
