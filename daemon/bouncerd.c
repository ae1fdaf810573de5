/*
 * bouncerd.c -- the daemon: hooks into the MTA, decides, answers
 *
 * Wiring only. One libevent loop runs the log follower, the policy
 * server, the metrics listener, alerts and timers; libmilter runs in
 * threads of its own (milter.c). Every write to the store happens on
 * one writer thread (writer.h), with its own handle, engine and
 * classifier: the loop hands it the log's lines, a milter thread its
 * bounces (and waits for the outcome), so the loop never waits on a
 * disk or on Redis. The loop and the milter threads answer lookups
 * from the in-memory view (store_view_only()), which the writer keeps
 * current after each commit and, when idle, every WRITER_IDLE_MS (so
 * that another process's writes, a bouncerctl import, show too). Each
 * of these threads has its own handle, built from the current snapshot
 * of configuration and rules; SIGHUP makes a new snapshot and each
 * thread picks it up before its next piece of work, so a reload drops
 * no connection. A rule set that does not load is refused and the
 * running one kept.
 *
 * Fail open, always: a policy lookup that fails answers DUNNO, a
 * milter callback that fails continues, and the MTA's own settings
 * (conf/postfix-main.cf) cover the daemon being down.
 *
 * See also: bouncerd(8), bouncer.conf(5).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "alert.h"
#include "clock.h"
#include "conf.h"
#include "daemonize.h"
#include "dnsbl.h"
#include "engine.h"
#include "health.h"
#include "listener.h"
#include "log.h"
#include "logtail.h"
#include "metrics.h"
#include "milter.h"
#include "pipeline.h"
#include "policy.h"
#include "rules.h"
#include "socketmap.h"
#include "store.h"
#include "writer.h"
#include "xalloc.h"

#ifndef CONF_FILE
#define CONF_FILE "/etc/bouncer/bouncer.conf"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* What a reload replaces: configuration and rules, together. */
struct snapshot {
	int		 refs;
	unsigned	 gen;
	struct conf	*conf;
	struct ruleset	*rs;
};

/* Per thread: the store handle and what is built on the snapshot. */
struct worker {
	struct snapshot		*snap;
	struct store		*store;
	struct pipeline		*pipe;
	int			 failed;	/* the store failed it */
	int			 view_only;	/* lookups only: no pipeline */
	time_t			 opened;	/* (monotonic) */
	unsigned long		 unverified;	/* of the current e-mail */
};

/*
 * A handle the store failed is opened again, at most this often: a
 * SQLite file opened while it could not be written stays read-only
 * for that handle's life, and a new handle sees a mended file.
 */
#define STORE_REOPEN_SECS	2

/*
 * The writer: how often it looks at the store when idle (another
 * process's writes), how long it waits before trying a failed log
 * line again, how many log lines go in one batch (one commit), how
 * long a milter thread waits for its bounce to be recorded, and how
 * long the writer may drain its queue at exit.
 */
#define WRITER_IDLE_MS		10
#define WRITER_RETRY_MS		200
#define WRITER_BATCH		256
#define WRITER_MAIL_WAIT_MS	20000
#define WRITER_DRAIN_MS		10000

/* Events by (source, reason, provider, decision), for /metrics. */
struct tally {
	enum event_source	 src;
	enum reason		 reason;
	char			 provider[32];
	unsigned		 decision;
	unsigned long		 n;
};

struct pending_alert {
	struct pending_alert	*next;
	struct store_alert	 rec;
	char			 provider[32];
	char			 url[512];
	char			 domain[STORE_DEST_MAX];
	char			 reason[32];
	char			 kind[32];
	/* The blocklist monitor's (source "dnsbl"); "" for the others. */
	char			 source[16];
	char			 zone[256];
	char			 target[256];
	char			 meaning[512];
};

static struct {
	pthread_mutex_t		 lock;		/* snap, tallies, alerts */
	struct snapshot		*snap;
	unsigned		 gen;
	struct conf		*start_conf;	/* as started */
	const char		*conf_path;
	int			 conf_missing_ok;
	char			**overrides;
	int			 noverrides;

	struct event_base	*base;
	struct worker		 loop;		/* the loop thread's: view only */
	struct worker		 wr;		/* the writer thread's */
	struct writer		*writer;
	/* the writer's last health probe, under lock */
	int			 probe_ok, probe_running;
	int			 lines_failing;	/* atomic: the writer holds */
	char			 probe_why[256];
	struct policy		*policy;
	struct socketmap	*smap;
	struct metrics		*metrics;
	struct health		*health;
	struct logtail		*tail;
	struct logtail		*socktail;
	struct alerter		*alerter;
	struct event		*alert_ev;
	struct pending_alert	*alerts;	/* oldest first */
	struct pending_alert	**alerts_tail;
	struct dnsbl		*dnsbl;		/* the blocklist monitor */

	struct tally		*tallies;
	size_t			 ntallies;
	unsigned long		 store_errors;
	unsigned long		 unverified;	/* bounce recipients not ours */
	unsigned long		 dup_dsn;	/* bounces the log had */
	unsigned long		 not_evidence;	/* failures nobody remote said */
	unsigned long		 bad_time;	/* lines without a time stamp */
	unsigned long		 reloads, reload_failures;
	long long		 started;
} d = { .lock = PTHREAD_MUTEX_INITIALIZER, .alerts_tail = &d.alerts };

static pthread_key_t worker_key;

/* --- snapshots ------------------------------------------------------ */

static unsigned snapshots_freeing;	/* frees still running (atomic) */

static void *
snapshot_free(void *arg)
{
	struct snapshot *s = arg;

	conf_unref(s->conf);
	ruleset_unref(s->rs);
	free(s);
	__atomic_sub_fetch(&snapshots_freeing, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Freeing a large rule set takes long (130 ms for 10,000 rules, a
 * plain build), and the last reference to an old snapshot is often
 * dropped on the event loop, by its worker at the first request after
 * a reload. So a thread of its own does the freeing, and the loop goes
 * on answering; snapshots_wait() waits for such threads at exit.
 */
static void
snapshot_unref(struct snapshot *s)
{
	pthread_attr_t attr;
	pthread_t t;

	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL))
		return;
	__atomic_add_fetch(&snapshots_freeing, 1, __ATOMIC_ACQ_REL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, snapshot_free, s) != 0)
		snapshot_free(s);
	pthread_attr_destroy(&attr);
}

static void
snapshots_wait(void)
{
	struct timespec ts = { 0, 1000000 };

	while (__atomic_load_n(&snapshots_freeing, __ATOMIC_ACQUIRE) > 0)
		nanosleep(&ts, NULL);
}

static struct snapshot *
snapshot_get(void)
{
	struct snapshot *s;

	pthread_mutex_lock(&d.lock);
	s = d.snap;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d.lock);
	return s;
}

/*
 * Reads the configuration as a reload would: the file, then the -o
 * overrides of the command line. NULL with every error in *errp.
 */
static struct conf *
conf_read(char **errp)
{
	struct conf *conf;
	char *err = NULL;
	int i;

	conf = conf_new();
	if (conf_load(conf, d.conf_path, d.conf_missing_ok, &err) < 0) {
		*errp = err;
		conf_unref(conf);
		return NULL;
	}
	for (i = 0; i < d.noverrides; i++)
		if (conf_set(conf, "-o", d.overrides[i], NULL, &err) < 0) {
			*errp = err;
			conf_unref(conf);
			return NULL;
		}
	return conf;
}

/* Reads configuration and rules; NULL with every error in *errp. */
static struct snapshot *
snapshot_load(char **errp)
{
	struct snapshot *s;
	struct conf *conf;
	struct ruleset *rs;
	char *err = NULL;

	if ((conf = conf_read(errp)) == NULL)
		return NULL;
	if ((rs = ruleset_load_local(conf_str(conf, CONF_RULES_LOCAL_DIR),
	    conf_str(conf, CONF_RULES_DIR), NULL, 0, &err)) == NULL) {
		*errp = err;
		conf_unref(conf);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->conf = conf;
	s->rs = rs;
	return s;
}

/* --- workers --------------------------------------------------------- */

static void on_report(const struct pipeline_report *, void *);

static void
worker_clear(struct worker *w)
{
	int view_only = w->view_only;

	pipeline_free(w->pipe);
	store_close(w->store);
	snapshot_unref(w->snap);
	memset(w, 0, sizeof(*w));
	w->view_only = view_only;
}

/*
 * Brings w up to the current snapshot. Returns 0, or -1 when the store
 * cannot be opened (the caller fails open; the next call tries again).
 */
static int
worker_ready(struct worker *w)
{
	struct snapshot *s;
	char *err = NULL;
	int reopen = 0;

	/* Only a failed handle pays for reading the clock. */
	if (w->failed &&
	    clock_mono_ms() / 1000 - w->opened >= STORE_REOPEN_SECS)
		reopen = 1;
	else if (w->failed && w->store == NULL)
		return -1;
	if (!reopen && w->snap != NULL && w->store != NULL &&
	    w->snap->gen == __atomic_load_n(&d.gen, __ATOMIC_ACQUIRE))
		return 0;
	s = snapshot_get();
	if (!reopen && w->snap != NULL && w->store != NULL && w->snap == s) {
		snapshot_unref(s);
		return 0;
	}
	worker_clear(w);
	w->snap = s;
	w->opened = (time_t)(clock_mono_ms() / 1000);
	w->store = store_open(conf_str(s->conf, CONF_STORE), s->conf, &err);
	if (w->store == NULL) {
		log_warn("store: %s", err ? err : "cannot open");
		free(err);
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
		w->failed = 1;
		return -1;
	}
	if (w->view_only)
		store_view_only(w->store);
	else
		w->pipe = pipeline_new(s->conf, s->rs, w->store, on_report, w);
	return 0;
}

static void
worker_destroy(void *arg)
{
	struct worker *w = arg;

	worker_clear(w);
	free(w);
}

/* The calling milter thread's worker. */
static struct worker *
thread_worker(void)
{
	struct worker *w = pthread_getspecific(worker_key);

	if (w == NULL) {
		w = xcalloc(1, sizeof(*w));
		w->view_only = 1;
		pthread_setspecific(worker_key, w);
	}
	return w;
}

/* --- recording --------------------------------------------------------- */

static void
tally(enum event_source src, enum reason reason, const char *provider,
    unsigned decision)
{
	size_t i;

	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.ntallies; i++) {
		struct tally *t = &d.tallies[i];

		if (t->src == src && t->reason == reason &&
		    t->decision == decision &&
		    strcmp(t->provider, provider) == 0) {
			t->n++;
			pthread_mutex_unlock(&d.lock);
			return;
		}
	}
	d.tallies = xreallocarray(d.tallies, d.ntallies + 1,
	    sizeof(*d.tallies));
	d.tallies[d.ntallies] = (struct tally){ src, reason, "", decision, 1 };
	snprintf(d.tallies[d.ntallies].provider,
	    sizeof(d.tallies[d.ntallies].provider), "%s", provider);
	d.ntallies++;
	pthread_mutex_unlock(&d.lock);
}

/*
 * Hands an alert to the loop thread, which owns the alerter. Alerts
 * are raised in the order they came: appended here, taken from the
 * head by on_alerts().
 */
static void
append_alert(struct pending_alert *pa)
{
	pthread_mutex_lock(&d.lock);
	*d.alerts_tail = pa;
	d.alerts_tail = &pa->next;
	pthread_mutex_unlock(&d.lock);
	event_active(d.alert_ev, EV_READ, 0);
}

static void
queue_alert(const struct engine_result *res, const char *provider,
    const struct reply_facts *facts, enum reason reason)
{
	struct pending_alert *pa = xcalloc(1, sizeof(*pa));

	pa->rec = res->alert_rec;
	snprintf(pa->provider, sizeof(pa->provider), "%s", provider);
	snprintf(pa->url, sizeof(pa->url), "%s", facts->url);
	snprintf(pa->domain, sizeof(pa->domain), "%s", res->dest);
	snprintf(pa->reason, sizeof(pa->reason), "%s", reason_name(reason));
	snprintf(pa->kind, sizeof(pa->kind), "%s", pa->rec.blocklist[0] ?
	    "blocklist" : pa->rec.kind);
	append_alert(pa);
}

static void
on_alerts(evutil_socket_t fd, short what, void *arg)
{
	struct pending_alert *list, *pa;
	struct alert a;

	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&d.lock);
	list = d.alerts;
	d.alerts = NULL;
	d.alerts_tail = &d.alerts;
	pthread_mutex_unlock(&d.lock);
	while ((pa = list) != NULL) {
		list = pa->next;
		/*
		 * A bounce naming a list and an IP that the monitor found
		 * listed: it raised (or found raised) that alert already.
		 */
		if (*pa->source == '\0' && pa->rec.blocklist[0] != '\0' &&
		    dnsbl_listed(d.dnsbl, pa->rec.blocklist, pa->rec.ip)) {
			log_info("alert kind=%s blocklist=%s ip=%s: known to "
			    "the blocklist monitor already; not raised again",
			    pa->kind, pa->rec.blocklist, pa->rec.ip);
			free(pa);
			continue;
		}
		memset(&a, 0, sizeof(a));
		a.kind = pa->kind;
		a.blocklist = pa->rec.blocklist;
		a.ip = pa->rec.ip;
		a.provider = pa->provider;
		a.url = pa->url;
		a.domain = pa->domain;
		a.reason = pa->reason;
		a.rule = pa->rec.rule;
		a.reply = pa->rec.reply;
		a.first_seen = (time_t)pa->rec.first;
		a.count = (unsigned long)pa->rec.count;
		if (*pa->source != '\0') {
			a.source = pa->source;
			a.zone = pa->zone;
			a.target = pa->target;
			a.meaning = pa->meaning;
			a.reason = NULL;
		}
		alerter_raise(d.alerter, &a);
		free(pa);
	}
}

/*
 * What became of one recipient of a log line or a bounce: the decision
 * logged, tallied and its alert raised; everything else counted.
 */
static void
on_report(const struct pipeline_report *r, void *arg)
{
	struct worker *w = arg;
	const struct classification *cl = r->cl;
	char dec[64];

	switch (r->outcome) {
	case PO_FAILED:
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
		w->failed = 1;
		return;
	case PO_DUPLICATE:
		__atomic_add_fetch(&d.dup_dsn, 1, __ATOMIC_RELAXED);
		return;
	case PO_NOT_EVIDENCE:
		__atomic_add_fetch(&d.not_evidence, 1, __ATOMIC_RELAXED);
		log_debug("queue=%s rcpt=<%s> src=%s not evidence: %s",
		    *r->queue_id ? r->queue_id : "-", r->rcpt,
		    event_source_name(r->source), r->why);
		return;
	case PO_BADTIME:
		if (__atomic_add_fetch(&d.bad_time, 1, __ATOMIC_RELAXED) == 1)
			log_warn("queue=%s: a delivery line with no usable "
			    "time stamp, ignored (counted from now on in "
			    "bouncer_log_bad_time_total)", r->queue_id);
		return;
	case PO_UNVERIFIED:
		__atomic_add_fetch(&d.unverified, 1, __ATOMIC_RELAXED);
		w->unverified++;
		log_info("queue=%s rcpt=<%s> src=%s unverified %s bounce: %s; "
		    "recorded nothing", *r->queue_id ? r->queue_id : "-",
		    r->rcpt, event_source_name(r->source), r->kind, r->why);
		return;
	case PO_RECORDED:
		break;
	}
	if (cl == NULL || r->res == NULL || r->res->duplicate)
		return;
	/* A reply that names our IP ("Client host [ip] blocked"). */
	if (cl->facts.ip[0] != '\0')
		dnsbl_discover(d.dnsbl, cl->facts.ip);
	tally(r->source, cl->reason, r->provider, cl->decision);
	log_info("queue=%s rcpt=<%s> reason=%s action=%s status=%s "
	    "provider=%s rule=%s src=%s%s%s%s", *r->queue_id ? r->queue_id :
	    "-", r->rcpt, reason_name(cl->reason),
	    decision_format(cl->decision, dec, sizeof(dec)), cl->status,
	    r->provider, r->rule, event_source_name(r->source),
	    r->res->changed ? " state=" : "",
	    r->res->changed ? rcpt_state_name(r->res->new_state) : "",
	    r->res->throttled ? " throttled" : "");
	if (r->res->alert)
		queue_alert(r->res, r->provider, &cl->facts, cl->reason);
}

/* --- the blocklist monitor -------------------------------------------- */

/*
 * A listing is kept in the store as an alert record, key
 * "dnsbl|ZONE|TARGET", kind "dnsbl": first is since when, last the
 * last check that saw it, notified when its alert was raised (0: a
 * bounce had raised it), rule "dnsbl:ZONE" and reply the meaning.
 * "bouncerctl blocklist list" reads them; a clear deletes it.
 */
struct bl_job {
	enum dnsbl_what	 what;
	char		 list[64];
	char		 zone[256];
	char		 target[256];
	char		 meaning[512];
	char		 url[512];
	long long	 since, checked;
};

struct bl_dup {
	const char	*list, *target;
	long long	 after;
	int		 found;
};

/* A bounce's alert for the same list and IP, raised within a window? */
static int
bl_dup_fn(const void *rec, void *arg)
{
	const struct store_alert *a = rec;
	struct bl_dup *dup = arg;

	if (strcmp(a->kind, "dnsbl") != 0 &&
	    strcmp(a->blocklist, dup->list) == 0 &&
	    strcmp(a->ip, dup->target) == 0 && a->notified >= dup->after) {
		dup->found = 1;
		return 1;
	}
	return 0;
}

static void
bl_alert(const struct bl_job *j, const char *kind, long long first)
{
	struct pending_alert *pa = xcalloc(1, sizeof(*pa));

	snprintf(pa->kind, sizeof(pa->kind), "%s", kind);
	snprintf(pa->source, sizeof(pa->source), "dnsbl");
	snprintf(pa->rec.blocklist, sizeof(pa->rec.blocklist), "%s", j->list);
	snprintf(pa->zone, sizeof(pa->zone), "%s", j->zone);
	snprintf(pa->target, sizeof(pa->target), "%s", j->target);
	snprintf(pa->meaning, sizeof(pa->meaning), "%s", j->meaning);
	snprintf(pa->url, sizeof(pa->url), "%s", j->url);
	if (dnsbl_target(j->target, NULL, 0) == DNSBL_DOMAIN)
		snprintf(pa->domain, sizeof(pa->domain), "%s", j->target);
	else
		snprintf(pa->rec.ip, sizeof(pa->rec.ip), "%.63s",
		    j->target);
	pa->rec.first = first;
	pa->rec.count = 1;
	append_alert(pa);
}

/*
 * On the writer: a listing recorded (and its alert raised, unless a
 * bounce raised it within alert_window, or it was raised before a
 * restart), or a clear (the record deleted, the cleared alert
 * raised). The store failing does not stop an alert: better twice
 * than never.
 */
static enum writer_rc
bl_run(void *job, void *arg)
{
	struct bl_job *j = job;
	struct store_alert a;
	struct bl_dup dup;
	char key[STORE_DEST_MAX];
	int have = -1, raise;

	(void)arg;
	snprintf(key, sizeof(key), "dnsbl|%.100s|%.140s", j->zone,
	    j->target);
	if (worker_ready(&d.wr) < 0) {
		if (j->what == DNSBL_EV_LISTED || j->what == DNSBL_EV_CLEARED)
			bl_alert(j, j->what == DNSBL_EV_CLEARED ?
			    "blocklist-cleared" : "blocklist", j->since);
		return WRITER_DONE;
	}
	if (j->what == DNSBL_EV_CLEARED) {
		if (store_del(d.wr.store, SK_ALERT, key) < 0)
			__atomic_add_fetch(&d.store_errors, 1,
			    __ATOMIC_RELAXED);
		bl_alert(j, "blocklist-cleared", j->since);
		return WRITER_DONE;
	}
	/*
	 * The first clean answer since the start: a listing recorded
	 * before it (the daemon was down when it ended) is cleared now.
	 */
	if (j->what == DNSBL_EV_CLEAN) {
		if ((have = store_get_alert(d.wr.store, key, &a)) < 0)
			__atomic_add_fetch(&d.store_errors, 1,
			    __ATOMIC_RELAXED);
		if (have > 0) {
			if (store_del(d.wr.store, SK_ALERT, key) < 0)
				__atomic_add_fetch(&d.store_errors, 1,
				    __ATOMIC_RELAXED);
			log_info("dnsbl: %s is no longer listed on %s (%s), "
			    "as recorded before the start", j->target,
			    j->zone, j->list);
			snprintf(j->meaning, sizeof(j->meaning), "%s",
			    a.reply);
			bl_alert(j, "blocklist-cleared", a.first);
		}
		return WRITER_DONE;
	}
	if ((have = store_get_alert(d.wr.store, key, &a)) < 0)
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
	if (have <= 0) {
		memset(&a, 0, sizeof(a));
		snprintf(a.key, sizeof(a.key), "%s", key);
		snprintf(a.kind, sizeof(a.kind), "dnsbl");
		snprintf(a.blocklist, sizeof(a.blocklist), "%s", j->list);
		snprintf(a.ip, sizeof(a.ip), "%.63s", j->target);
		a.first = j->since;
	}
	/* Raised before a restart: the record says so. */
	raise = j->what == DNSBL_EV_LISTED && have <= 0;
	if (raise) {
		memset(&dup, 0, sizeof(dup));
		dup.list = j->list;
		dup.target = j->target;
		dup.after = j->checked - conf_time(d.wr.snap->conf,
		    CONF_ALERT_WINDOW);
		if (store_iterate(d.wr.store, SK_ALERT, bl_dup_fn, &dup) < 0)
			__atomic_add_fetch(&d.store_errors, 1,
			    __ATOMIC_RELAXED);
		else if (dup.found) {
			log_info("alert kind=blocklist source=dnsbl list=%s "
			    "zone=%s target=%s: raised from a bounce already; "
			    "not raised again", j->list, j->zone, j->target);
			raise = 0;
		}
		a.notified = raise ? j->checked : 0;
	}
	a.last = j->checked;
	a.count++;
	snprintf(a.rule, sizeof(a.rule), "dnsbl:%.120s", j->zone);
	snprintf(a.reply, sizeof(a.reply), "%s", j->meaning);
	if (store_put_alert(d.wr.store, &a) < 0)
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
	if (raise)
		bl_alert(j, "blocklist", a.first);
	return WRITER_DONE;
}

/* On the loop: what a check found. Errors are the monitor's to log. */
static void
on_dnsbl(const struct dnsbl_event *ev, void *arg)
{
	struct bl_job *j;

	(void)arg;
	if (ev->what == DNSBL_EV_ERROR)
		return;
	j = xcalloc(1, sizeof(*j));
	j->what = ev->what;
	snprintf(j->list, sizeof(j->list), "%s", ev->list);
	snprintf(j->zone, sizeof(j->zone), "%s", ev->zone);
	snprintf(j->target, sizeof(j->target), "%s", ev->target);
	snprintf(j->meaning, sizeof(j->meaning), "%s", ev->meaning);
	snprintf(j->url, sizeof(j->url), "%s", ev->url);
	j->since = ev->since;
	j->checked = ev->checked;
	if (ev->what == DNSBL_EV_LISTED)
		log_info("dnsbl: %s is listed on %s (%s): %s", ev->target,
		    ev->zone, ev->list, ev->meaning);
	else if (ev->what == DNSBL_EV_CLEARED)
		log_info("dnsbl: %s is no longer listed on %s (%s)",
		    ev->target, ev->zone, ev->list);
	if (d.writer != NULL && writer_submit(d.writer, bl_run, j, free,
	    0) == 0)
		return;
	/* The writer's queue is full: the alert at least, unrecorded. */
	if (ev->what == DNSBL_EV_LISTED || ev->what == DNSBL_EV_CLEARED)
		bl_alert(j, ev->what == DNSBL_EV_CLEARED ?
		    "blocklist-cleared" : "blocklist", j->since);
	free(j);
}

/* --- the log ------------------------------------------------------------ */

/* --- the writer's jobs ------------------------------------------------ */

struct line_job {
	long long	 now;
	size_t		 len;
	char		 line[];
};

/*
 * On the writer: one log line. A line the store could not take is
 * tried again (writer.h) until it can; a repeat is harmless: a note is
 * rewritten with the same value, and an event's identity is marked in
 * the transaction that records it.
 */
static enum writer_rc
line_run(void *job, void *arg)
{
	struct line_job *lj = job;

	(void)arg;
	if (worker_ready(&d.wr) < 0 ||
	    pipeline_log_line(d.wr.pipe, lj->line, lj->len, lj->now) < 0) {
		if (!__atomic_exchange_n(&d.lines_failing, 1,
		    __ATOMIC_RELAXED))
			log_warn("maillog: the store fails; lines held, to be "
			    "written when it is back");
		return WRITER_RETRY;
	}
	if (__atomic_exchange_n(&d.lines_failing, 0, __ATOMIC_RELAXED))
		log_info("maillog: the store is back; held lines written");
	return WRITER_DONE;
}

struct mail_job {
	int		 internal;
	char		 queue_id[64];
	long long	 now;
	int		 n;		/* out: pipeline_mail() */
	unsigned long	 unverified;	/* out */
	size_t		 len;
	char		 raw[];
};

/* On the writer: one e-mail the milter read. Not tried again. */
static enum writer_rc
mail_run(void *job, void *arg)
{
	struct mail_job *mj = job;
	struct pipeline_mail pm;

	(void)arg;
	if (worker_ready(&d.wr) < 0) {
		mj->n = -1;
		return WRITER_DONE;
	}
	memset(&pm, 0, sizeof(pm));
	pm.raw = mj->raw;
	pm.len = mj->len;
	pm.internal = mj->internal;
	pm.queue_id = mj->queue_id;
	d.wr.unverified = 0;
	mj->n = pipeline_mail(d.wr.pipe, &pm, mj->now);
	mj->unverified = d.wr.unverified;
	return WRITER_DONE;
}

/* On the writer: can the store be written? See check_health(). */
static enum writer_rc
probe_run(void *job, void *arg)
{
	char why[256] = "";
	int ok = 1;

	(void)job;
	(void)arg;
	if (worker_ready(&d.wr) < 0) {
		ok = 0;
		snprintf(why, sizeof(why), "cannot open the store (see the "
		    "log)");
	} else if (store_note_put(d.wr.store, "h:probe", "",
	    clock_now()) < 0) {
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
		d.wr.failed = 1;
		ok = 0;
		snprintf(why, sizeof(why), "writing to %s fails (see the log)",
		    store_uri(d.wr.store));
	}
	pthread_mutex_lock(&d.lock);
	d.probe_ok = ok;
	d.probe_running = 0;
	memcpy(d.probe_why, why, sizeof(why));
	pthread_mutex_unlock(&d.lock);
	return WRITER_DONE;
}

/* On the writer: purges what expired. */
static enum writer_rc
expire_run(void *job, void *arg)
{
	struct store_expired n;

	(void)job;
	(void)arg;
	if (worker_ready(&d.wr) < 0)
		return WRITER_DONE;
	if (store_expire(d.wr.store, clock_now(),
	    conf_time(d.wr.snap->conf, CONF_ALERT_WINDOW), &n) < 0)
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
	else if (n.rcpts + n.dests + n.alerts)
		log_info("expired rcpts=%lu dests=%lu alerts=%lu events=%lu "
		    "notes=%lu", n.rcpts, n.dests, n.alerts, n.events,
		    n.notes);
	return WRITER_DONE;
}

/* On the writer: the view brought up to date (also the first load). */
static enum writer_rc
refresh_run(void *job, void *arg)
{
	int *ok = job;

	(void)arg;
	*ok = worker_ready(&d.wr) == 0 && store_refresh(d.wr.store) == 0;
	return WRITER_DONE;
}

/* On the writer: nothing; what was queued before it is done. */
static enum writer_rc
drain_run(void *job, void *arg)
{
	(void)job;
	(void)arg;
	return WRITER_DONE;
}

/* The writer's hooks: log lines in batches, the view kept current. */
static int
writer_begin(void *arg)
{
	(void)arg;
	if (worker_ready(&d.wr) < 0)
		return -1;
	return pipeline_batch_begin(d.wr.pipe);
}

static int
writer_end(void *arg)
{
	(void)arg;
	if (d.wr.pipe == NULL)
		return -1;
	return pipeline_batch_end(d.wr.pipe);
}

static void
writer_after(void *arg)
{
	(void)arg;
	if (d.wr.store != NULL && !d.wr.failed)
		store_refresh(d.wr.store);
}

/*
 * Has the writer stored every line handed to it? The follower saves
 * its position only then (logtail_set_sync()).
 */
static int
log_synced(void *arg)
{
	struct writer_stats ws;

	(void)arg;
	if (d.writer == NULL)
		return 1;
	writer_stats(d.writer, &ws);
	return ws.queued == 0;
}

/*
 * A line goes to the writer's queue; when the queue is full, or the
 * store fails, it is refused, and the follower holds it and offers it
 * again later.
 */
static int
on_log_line(const char *line, size_t len, void *arg)
{
	struct line_job *lj;
	struct writer_stats ws;

	(void)arg;
	if (d.writer == NULL)
		return -1;
	/* While the store fails, the follower holds its lines itself. */
	writer_stats(d.writer, &ws);
	if (ws.retrying)
		return -1;
	lj = xmalloc(sizeof(*lj) + len + 1);
	lj->now = clock_now();
	lj->len = len;
	memcpy(lj->line, line, len);
	lj->line[len] = '\0';
	if (writer_submit(d.writer, line_run, lj, free,
	    WRITER_BATCHABLE) < 0) {
		free(lj);
		return -1;
	}
	return 0;
}

/*
 * Catching up with the log on a milter thread's behalf. Postfix logs a
 * failure before its bounce daemon writes the DSN, which can reach the
 * milter before the follower's next poll: the DSN is checked against
 * the log once the loop has read what the file holds now.
 */
static struct {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	unsigned long	 asked, done;
	struct event	*ev;
} catchup = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0,
    NULL };

static void
on_catchup(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval now = { 0, 0 };
	unsigned long gen;

	(void)fd;
	(void)what;
	(void)arg;
	pthread_mutex_lock(&catchup.lock);
	gen = catchup.asked;
	pthread_mutex_unlock(&catchup.lock);
	/* One slice a turn; the next after the loop has served its sockets. */
	if (d.tail != NULL && logtail_poll(d.tail) > 0) {
		event_add(catchup.ev, &now);
		return;
	}
	pthread_mutex_lock(&catchup.lock);
	catchup.done = gen;
	pthread_cond_broadcast(&catchup.cond);
	pthread_mutex_unlock(&catchup.lock);
}

/* Waits, two seconds at most, until the loop has read the log to its end. */
static void
log_catch_up(void)
{
	struct timespec until;
	unsigned long gen;

	/* d.tail is set after the milter starts; the socket's before. */
	if ((__atomic_load_n(&d.tail, __ATOMIC_ACQUIRE) == NULL &&
	    d.socktail == NULL) || catchup.ev == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&catchup.lock);
	gen = ++catchup.asked;
	pthread_mutex_unlock(&catchup.lock);
	event_active(catchup.ev, EV_READ, 0);
	pthread_mutex_lock(&catchup.lock);
	while (catchup.done < gen && pthread_cond_timedwait(&catchup.cond,
	    &catchup.lock, &until) == 0)
		;
	pthread_mutex_unlock(&catchup.lock);
}

/*
 * What the MTA is to be told about rcpt now, typed, into *out (left at
 * ACT_DUNNO when nothing is in force). Returns 0, or -1 when the store
 * could not tell (counted; callers fail open). The policy server, the
 * milter and the socketmap each word it in their own terms.
 */
static int
rcpt_answer(struct worker *w, const char *rcpt, struct answer *out)
{
	struct store_answer ans;
	struct store_rcpt rec;
	long long now = clock_now();
	int rc;

	if (worker_ready(w) < 0)
		return -1;
	if ((rc = store_lookup(w->store, rcpt, now, &ans)) < 0) {
		/*
		 * Not w->failed: a view-only handle is not opened again
		 * (a Redis handle reconnects by itself, and opening one
		 * would wait on the server).
		 */
		__atomic_add_fetch(&d.store_errors, 1, __ATOMIC_RELAXED);
		return -1;
	}
	if (rc == 0)
		return 0;
	/* The record is read only when the lookup did not bring its words. */
	engine_answer(&ans, ans.kind != ANS_THROTTLED &&
	    (store_lookup_detail(w->store, &rec) == 1 ||
	    store_get_rcpt(w->store, rcpt, &rec) == 1) ? &rec : NULL, now, out);
	return 0;
}

/* --- the milter -------------------------------------------------------- */

static int
milter_rcpt(const char *rcpt, struct answer *out, void *arg)
{
	(void)arg;
	return rcpt_answer(thread_worker(), rcpt, out);
}

/*
 * A bounce that came over SMTP and could not be recorded because the
 * store failed is refused for now (-1: 451 4.3.0): the remote MTA
 * keeps it and tries again. The MTA's own DSNs repeat its log, which
 * the follower holds until the store is back: those pass.
 */
static int
milter_message(const struct milter_msg *m, void *arg)
{
	struct snapshot *s;
	struct mail_job *mj;
	unsigned long unverified;
	int n, rc;

	(void)arg;
	if (d.writer == NULL)
		return m->internal ? 0 : -1;
	/* The MTA's own DSN follows the log line of its failure. */
	if (m->internal)
		log_catch_up();
	/* Recorded by the writer, after the log lines queued before it. */
	mj = xmalloc(sizeof(*mj) + m->len + 1);
	memset(mj, 0, sizeof(*mj));
	mj->internal = m->internal;
	snprintf(mj->queue_id, sizeof(mj->queue_id), "%s",
	    m->queue_id ? m->queue_id : "");
	mj->now = clock_now();
	mj->len = m->len;
	memcpy(mj->raw, m->raw, m->len);
	mj->raw[m->len] = '\0';
	rc = writer_call(d.writer, mail_run, mj, free, WRITER_MAIL_WAIT_MS);
	if (rc < 0) {
		if (rc == -1)
			free(mj);
		log_warn("milter: a bounce from %s not recorded now: the "
		    "writer's queue is %s", *m->client ? m->client : "-",
		    rc == -1 ? "full" : "slow");
		return m->internal ? 0 : -1;
	}
	n = mj->n;
	unverified = mj->unverified;
	free(mj);
	if (n < 0)
		return m->internal ? 0 : -1;
	if (unverified > 0)
		log_info("milter: a bounce from %s named %lu recipient(s) "
		    "bouncer sent nothing to", *m->client ? m->client : "-",
		    unverified);
	/* Swallow a bounce only when every recipient of it was ours. */
	s = snapshot_get();
	rc = n > 0 && unverified == 0 &&
	    strcmp(conf_str(s->conf, CONF_MILTER_BOUNCE_ACTION),
	    "discard") == 0;
	snapshot_unref(s);
	return rc;
}

/* --- the policy server ---------------------------------------------- */

static int
policy_answer(const struct policy_request *req, struct answer *out,
    void *arg)
{
	(void)arg;
	if (req->recipient == NULL || *req->recipient == '\0' ||
	    (req->protocol_state != NULL &&
	    strcmp(req->protocol_state, "RCPT") != 0))
		return 0;
	return rcpt_answer(&d.loop, req->recipient, out);
}

/*
 * The socketmap for transport_maps: a suppressed address routes to
 * error: (bounced), one in back-off to retry: (deferred); anything
 * else, and every partial key Postfix also asks (the domain), is not
 * found and takes the usual route.
 */
static int
transport_lookup(const char *name, const char *key, struct answer *out,
    void *arg)
{
	(void)name;
	(void)arg;
	if (strchr(key, '@') == NULL)
		return 0;
	return rcpt_answer(&d.loop, key, out);
}

/* --- metrics ---------------------------------------------------------- */

/* The connection counters of one listener (connlimit.h). */
static void
render_conns(struct evbuffer *out, const char *name, unsigned long accepted,
    unsigned long evicted, unsigned long timed_out, unsigned long refused)
{
	evbuffer_add_printf(out,
	    "# HELP bouncer_%s_connections_total Connections accepted.\n"
	    "# TYPE bouncer_%s_connections_total counter\n"
	    "bouncer_%s_connections_total %lu\n"
	    "# HELP bouncer_%s_connections_evicted_total Longest idle "
	    "connections closed to make room (%s_max_conns).\n"
	    "# TYPE bouncer_%s_connections_evicted_total counter\n"
	    "bouncer_%s_connections_evicted_total %lu\n"
	    "# HELP bouncer_%s_connections_timed_out_total Connections "
	    "closed by the idle or the request timeout.\n"
	    "# TYPE bouncer_%s_connections_timed_out_total counter\n"
	    "bouncer_%s_connections_timed_out_total %lu\n"
	    "# HELP bouncer_%s_connections_refused_total Connections not "
	    "accepted for want of a descriptor.\n"
	    "# TYPE bouncer_%s_connections_refused_total counter\n"
	    "bouncer_%s_connections_refused_total %lu\n",
	    name, name, name, accepted, name, name, name, name, evicted, name,
	    name, name, timed_out, name, name, name, refused);
}

/* The followers' own troubles: held, refused and dropped lines. */
static void
render_log_metrics(struct evbuffer *out)
{
	const struct logtail_stats *f = d.tail ? logtail_stats(d.tail) : NULL;
	const struct logtail_stats *s = d.socktail ?
	    logtail_stats(d.socktail) : NULL;
	struct writer_stats ws;
	unsigned long wheld = 0;
	int failing = __atomic_load_n(&d.lines_failing, __ATOMIC_RELAXED);
	char why[8];

	if (f == NULL && s == NULL)
		return;
	/* Lines the writer took and cannot store yet are held too. */
	if (failing && d.writer != NULL) {
		writer_stats(d.writer, &ws);
		wheld = ws.queued;
	}
	evbuffer_add_printf(out,
	    "# HELP bouncer_log_held_lines Log lines waiting for the store.\n"
	    "# TYPE bouncer_log_held_lines gauge\n"
	    "bouncer_log_held_lines %lu\n"
	    "# HELP bouncer_log_nul_lines_total Log lines refused: a NUL "
	    "byte inside.\n# TYPE bouncer_log_nul_lines_total counter\n"
	    "bouncer_log_nul_lines_total %lu\n"
	    "# HELP bouncer_log_dropped_lines_total Syslog lines lost: more "
	    "held than the bound.\n"
	    "# TYPE bouncer_log_dropped_lines_total counter\n"
	    "bouncer_log_dropped_lines_total %lu\n",
	    (f ? f->held || wheld > 0 : 0) + (s ? s->held : 0),
	    (f ? f->nul : 0) + (s ? s->nul : 0), s ? s->dropped : 0);
	if (d.tail != NULL)
		evbuffer_add_printf(out,
		    "# HELP bouncer_log_ok Whether the maillog is followed "
		    "(1) or not (0).\n# TYPE bouncer_log_ok gauge\n"
		    "bouncer_log_ok %d\n",
		    logtail_health(d.tail, why, sizeof(why)) && !failing);
}

static void
render_metrics(struct evbuffer *out, void *arg)
{
	const struct policy_stats *ps = d.policy ? policy_stats(d.policy) :
	    NULL;
	const struct logtail_stats *ls = d.tail ? logtail_stats(d.tail) :
	    NULL;
	const struct socketmap_stats *ss = d.smap ?
	    socketmap_stats(d.smap) : NULL;
	const struct alert_stats *as = alerter_stats(d.alerter);
	struct milter_stats ms;
	char dec[64];
	size_t i;

	(void)arg;
	milter_get_stats(&ms);
	evbuffer_add_printf(out,
	    "# HELP bouncer_events_total Events recorded, by source, "
	    "reason, provider and decision.\n"
	    "# TYPE bouncer_events_total counter\n");
	pthread_mutex_lock(&d.lock);
	for (i = 0; i < d.ntallies; i++) {
		const struct tally *t = &d.tallies[i];

		evbuffer_add_printf(out, "bouncer_events_total{source=\"%s\","
		    "reason=\"%s\",provider=\"%s\",decision=\"%s\"} %lu\n",
		    event_source_name(t->src), reason_name(t->reason),
		    t->provider, decision_format(t->decision, dec,
		    sizeof(dec)), t->n);
	}
	pthread_mutex_unlock(&d.lock);
	if (ps != NULL)
		evbuffer_add_printf(out,
		    "# HELP bouncer_policy_answers_total Policy answers, by "
		    "action.\n# TYPE bouncer_policy_answers_total counter\n"
		    "bouncer_policy_answers_total{action=\"DUNNO\"} %lu\n"
		    "bouncer_policy_answers_total{action=\"REJECT\"} %lu\n"
		    "bouncer_policy_answers_total{action=\"DEFER\"} %lu\n"
		    "bouncer_policy_answers_total{action=\"other\"} %lu\n"
		    "# HELP bouncer_policy_errors_total Policy lookups that "
		    "failed (the store): answered DUNNO.\n"
		    "# TYPE bouncer_policy_errors_total counter\n"
		    "bouncer_policy_errors_total %lu\n"
		    "# HELP bouncer_policy_bad_requests_total Policy requests "
		    "malformed or too long: connection closed.\n"
		    "# TYPE bouncer_policy_bad_requests_total counter\n"
		    "bouncer_policy_bad_requests_total %lu\n"
		    "# HELP bouncer_policy_connections Policy connections "
		    "open now.\n"
		    "# TYPE bouncer_policy_connections gauge\n"
		    "bouncer_policy_connections %lu\n",
		    ps->dunno, ps->reject, ps->defer, ps->other, ps->errors,
		    ps->bad, ps->open);
	if (ps != NULL) {
		metrics_histogram(out, "bouncer_policy_latency_seconds",
		    "Time spent deciding each policy answer.", &ps->latency);
		render_conns(out, "policy", ps->connections, ps->evicted,
		    ps->timed_out, ps->refused);
	}
	if (ss != NULL) {
		evbuffer_add_printf(out,
		    "# HELP bouncer_socketmap_lookups_total Socketmap lookups, "
		    "by result.\n"
		    "# TYPE bouncer_socketmap_lookups_total counter\n"
		    "bouncer_socketmap_lookups_total{result=\"found\"} %lu\n"
		    "bouncer_socketmap_lookups_total{result=\"notfound\"} %lu\n"
		    "bouncer_socketmap_lookups_total{result=\"temp\"} %lu\n"
		    "bouncer_socketmap_lookups_total{result=\"bad\"} %lu\n"
		    "# HELP bouncer_socketmap_connections Socketmap "
		    "connections open now.\n"
		    "# TYPE bouncer_socketmap_connections gauge\n"
		    "bouncer_socketmap_connections %lu\n", ss->found,
		    ss->notfound, ss->temp, ss->bad, ss->open);
		metrics_histogram(out, "bouncer_socketmap_latency_seconds",
		    "Time spent answering each socketmap lookup.",
		    &ss->latency);
		render_conns(out, "socketmap", ss->connections, ss->evicted,
		    ss->timed_out, ss->refused);
	}
	if (d.writer != NULL) {
		struct writer_stats ws;

		writer_stats(d.writer, &ws);
		evbuffer_add_printf(out,
		    "# HELP bouncer_writer_queued Log lines and bounces "
		    "waiting for the writer thread.\n"
		    "# TYPE bouncer_writer_queued gauge\n"
		    "bouncer_writer_queued %lu\n"
		    "# HELP bouncer_writer_refused_total Hand-overs refused: "
		    "the queue was full (writer_queue_size).\n"
		    "# TYPE bouncer_writer_refused_total counter\n"
		    "bouncer_writer_refused_total %lu\n"
		    "# HELP bouncer_writer_queue_size The writer queue's "
		    "capacity (writer_queue_size).\n"
		    "# TYPE bouncer_writer_queue_size gauge\n"
		    "bouncer_writer_queue_size %lu\n",
		    ws.queued, ws.refused, ws.max);
	}
	evbuffer_add_printf(out,
	    "# HELP bouncer_store_errors_total Store operations that failed; "
	    "the daemon failed open.\n"
	    "# TYPE bouncer_store_errors_total counter\n"
	    "bouncer_store_errors_total %lu\n"
	    "# HELP bouncer_alerts_total Alerts raised by this daemon (hooks "
	    "run or queued).\n"
	    "# TYPE bouncer_alerts_total counter\n"
	    "bouncer_alerts_total %lu\n"
	    "# HELP bouncer_alert_hooks_failed_total Alert hooks that failed "
	    "or timed out.\n"
	    "# TYPE bouncer_alert_hooks_failed_total counter\n"
	    "bouncer_alert_hooks_failed_total %lu\n"
	    "# HELP bouncer_alert_hooks_dropped_total Alerts whose hook "
	    "was not run: the hooks' queue was full.\n"
	    "# TYPE bouncer_alert_hooks_dropped_total counter\n"
	    "bouncer_alert_hooks_dropped_total %lu\n"
	    "# HELP bouncer_alert_hooks_queued Alerts waiting for a hook "
	    "to end.\n"
	    "# TYPE bouncer_alert_hooks_queued gauge\n"
	    "bouncer_alert_hooks_queued %lu\n"
	    "# HELP bouncer_milter_messages_total Null-sender messages the "
	    "milter read.\n"
	    "# TYPE bouncer_milter_messages_total counter\n"
	    "bouncer_milter_messages_total %lu\n"
	    "# HELP bouncer_milter_rejected_total Recipients the milter "
	    "refused or deferred at RCPT TO.\n"
	    "# TYPE bouncer_milter_rejected_total counter\n"
	    "bouncer_milter_rejected_total %lu\n"
	    "# HELP bouncer_milter_tempfailed_total Bounces refused for "
	    "now (451) because the store failed.\n"
	    "# TYPE bouncer_milter_tempfailed_total counter\n"
	    "bouncer_milter_tempfailed_total %lu\n"
	    "# HELP bouncer_milter_buffered_bytes Bytes of bounces the milter "
	    "holds now, against milter_max_memory.\n"
	    "# TYPE bouncer_milter_buffered_bytes gauge\n"
	    "bouncer_milter_buffered_bytes %zu\n"
	    "# HELP bouncer_milter_over_memory_total Bounces cut short: "
	    "milter_max_memory was reached.\n"
	    "# TYPE bouncer_milter_over_memory_total counter\n"
	    "bouncer_milter_over_memory_total %lu\n"
	    "# HELP bouncer_bounces_unverified_total Bounce recipients not "
	    "recorded: the bounce was not verified (bouncerd(8), TRUST).\n"
	    "# TYPE bouncer_bounces_unverified_total counter\n"
	    "bouncer_bounces_unverified_total %lu\n"
	    "# HELP bouncer_bounces_duplicate_total Bounce recipients seen "
	    "before, not counted again.\n"
	    "# TYPE bouncer_bounces_duplicate_total counter\n"
	    "bouncer_bounces_duplicate_total %lu\n"
	    "# HELP bouncer_not_evidence_total Failures no remote server "
	    "said (bouncer's own answers, error and retry transports, "
	    "suspended deliveries), not counted.\n"
	    "# TYPE bouncer_not_evidence_total counter\n"
	    "bouncer_not_evidence_total %lu\n"
	    "# HELP bouncer_log_bad_time_total Delivery lines without a "
	    "usable time stamp, ignored.\n"
	    "# TYPE bouncer_log_bad_time_total counter\n"
	    "bouncer_log_bad_time_total %lu\n"
	    "# HELP bouncer_reloads_total Reloads (SIGHUP) applied.\n"
	    "# TYPE bouncer_reloads_total counter\n"
	    "bouncer_reloads_total %lu\n"
	    "# HELP bouncer_reload_failures_total Reloads (SIGHUP) refused: "
	    "the running set stays.\n"
	    "# TYPE bouncer_reload_failures_total counter\n"
	    "bouncer_reload_failures_total %lu\n",
	    __atomic_load_n(&d.store_errors, __ATOMIC_RELAXED),
	    as->raised, as->hooks_failed, as->hooks_dropped,
	    as->hooks_queued, ms.messages, ms.rejected,
	    ms.tempfailed,
	    ms.buffered, ms.over_memory,
	    __atomic_load_n(&d.unverified, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.dup_dsn, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.not_evidence, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.bad_time, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.reloads, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.reload_failures, __ATOMIC_RELAXED));
	metrics_histogram(out, "bouncer_milter_rcpt_latency_seconds",
	    "Time spent checking each recipient at RCPT TO.",
	    milter_rcpt_latency());
	health_metrics(d.health, out);
	if (ls != NULL)
		evbuffer_add_printf(out,
		    "# HELP bouncer_log_lag_bytes Bytes of the maillog not "
		    "read yet.\n# TYPE bouncer_log_lag_bytes gauge\n"
		    "bouncer_log_lag_bytes %llu\n"
		    "# HELP bouncer_log_lines_total Maillog lines read.\n"
		    "# TYPE bouncer_log_lines_total counter\n"
		    "bouncer_log_lines_total %lu\n"
		    "# HELP bouncer_log_rotations_total Maillog rotations "
		    "followed.\n"
		    "# TYPE bouncer_log_rotations_total counter\n"
		    "bouncer_log_rotations_total %lu\n",
		    (unsigned long long)ls->lag, ls->lines, ls->rotations);
	render_log_metrics(out);
	if (d.dnsbl != NULL)
		dnsbl_metrics(d.dnsbl, out);
}

static void
status_change(const char *name, const char *running, const char *file,
    int start, void *arg)
{
	evbuffer_add_printf(arg, "changed.%s=%s %s -> %s\n", name, start ?
	    "restart" : "sighup", *running ? running : "\"\"",
	    *file ? file : "\"\"");
}

/*
 * The configuration file as it is now, read as a SIGHUP would read it,
 * against what runs: "config_file=ok" and the number of parameters
 * that differ, then one "changed.NAME=sighup|restart OLD -> NEW" line
 * each; or "config_file=error" and the first error, which a SIGHUP
 * would refuse. The file is read here, on the loop: a few kilobytes,
 * on an operator's request (the rules, which take long, are not).
 */
static void
status_changes(struct evbuffer *out, const struct snapshot *s)
{
	struct conf *file;
	char *err = NULL;
	size_t n;
	int changed;

	if ((file = conf_read(&err)) == NULL) {
		n = err != NULL ? strcspn(err, "\n") : 0;
		evbuffer_add_printf(out, "config_file=error %.*s\n", (int)n,
		    err != NULL ? err : "");
		free(err);
		return;
	}
	changed = conf_changes(d.start_conf, s->conf, file, NULL, NULL);
	evbuffer_add_printf(out, "config_file=ok\nconfig_changes=%d\n",
	    changed);
	conf_changes(d.start_conf, s->conf, file, status_change, out);
	conf_unref(file);
}

static void
render_status(struct evbuffer *out, void *arg)
{
	const struct policy_stats *ps = d.policy ? policy_stats(d.policy) :
	    NULL;
	const struct logtail_stats *ls = d.tail ? logtail_stats(d.tail) :
	    NULL;
	struct snapshot *s = snapshot_get();
	const struct conf *sc = d.start_conf;
	char on[64], *uri;
	size_t nrules;

	(void)arg;
	ruleset_rules(s->rs, &nrules);
	uri = store_uri_redact(conf_str(s->conf, CONF_STORE));
	evbuffer_add_printf(out, "version=%s\npid=%ld\nstarted=%lld\n"
	    "uptime=%lld\nconfig=%s\nstore=%s\nrules_dir=%s\nrules=%zu\n"
	    "reloads=%lu\nreload_failures=%lu\nstore_errors=%lu\n",
	    PACKAGE_VERSION, (long)getpid(), d.started,
	    clock_now() - d.started, d.conf_path,
	    uri, conf_str(s->conf, CONF_RULES_DIR), nrules, __atomic_load_n(&d.reloads, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.reload_failures, __ATOMIC_RELAXED),
	    __atomic_load_n(&d.store_errors, __ATOMIC_RELAXED));
	free(uri);
	/*
	 * What listens is what the start configuration opened: a reload
	 * changes none of it.
	 */
	snprintf(on, sizeof(on), "%s%s%s%s%s%s", d.policy ? " policy" : "",
	    *conf_str(sc, CONF_MILTER_LISTEN) ? " milter" : "",
	    d.smap ? " socketmap" : "", d.metrics ? " metrics" : "",
	    d.socktail ? " syslog" : "", d.tail ? " maillog" : "");
	evbuffer_add_printf(out, "listeners=%s\n"
	    "policy_listen=%s\nmilter_listen=%s\nsocketmap_listen=%s\n"
	    "metrics_listen=%s\nsyslog_socket=%s\nmaillog_file=%s\n",
	    on[0] ? on + 1 : "", conf_str(sc, CONF_POLICY_LISTEN),
	    conf_str(sc, CONF_MILTER_LISTEN),
	    conf_str(sc, CONF_SOCKETMAP_LISTEN),
	    conf_str(sc, CONF_METRICS_LISTEN),
	    conf_str(sc, CONF_SYSLOG_SOCKET), conf_str(sc, CONF_MAILLOG_FILE));
	if (ps != NULL)
		evbuffer_add_printf(out, "policy_requests=%lu\n"
		    "policy_connections=%lu\n", ps->requests, ps->open);
	if (ls != NULL)
		evbuffer_add_printf(out, "log_lines=%lu\nlog_lag_bytes=%llu\n",
		    ls->lines, (unsigned long long)ls->lag);
	status_changes(out, s);
	snapshot_unref(s);
}

static int
health(struct evbuffer *out, void *arg)
{
	(void)arg;
	health_write(d.health, out);
	return health_ok(d.health);
}

/*
 * Every HEALTH_INTERVAL seconds: can the store be written, are rules
 * loaded? A failing store is otherwise seen only by the next event,
 * which may come hours later; the probe writes one note ("h:probe"),
 * the smallest write there is.
 */
#define HEALTH_INTERVAL	2

static void
check_health(void)
{
	struct snapshot *s;
	long long now = clock_now();
	char why[HEALTH_WHY_MAX];
	size_t nrules;

	struct writer_stats ws;
	int ok, queue;

	s = snapshot_get();
	/*
	 * The writer probes; this reports the last probe's outcome, and a
	 * writer whose queue is full (or that has not finished the last
	 * probe) as failing.
	 */
	writer_stats(d.writer, &ws);
	pthread_mutex_lock(&d.lock);
	ok = d.probe_ok;
	snprintf(why, sizeof(why), "%s", d.probe_why);
	queue = d.probe_running;
	if (!queue)
		d.probe_running = 1;
	pthread_mutex_unlock(&d.lock);
	if (!queue && writer_submit(d.writer, probe_run, NULL, NULL, 0) < 0) {
		pthread_mutex_lock(&d.lock);
		d.probe_running = 0;
		pthread_mutex_unlock(&d.lock);
	}
	if (ws.queued >= ws.max) {
		snprintf(why, sizeof(why), "the writer's queue is full (%lu)",
		    ws.max);
		health_set(d.health, "store", 0, why, now);
	} else if (ws.retrying)
		health_set(d.health, "store", 0, "writes fail; the writer "
		    "tries again (see the log)", now);
	else
		health_set(d.health, "store", ok, ok ? NULL : why, now);
	ruleset_rules(s->rs, &nrules);
	snprintf(why, sizeof(why), "no rules in %s",
	    conf_str(s->conf, CONF_RULES_DIR));
	health_set(d.health, "rules", nrules > 0, why, now);
	snapshot_unref(s);
	if (d.tail != NULL && __atomic_load_n(&d.lines_failing,
	    __ATOMIC_RELAXED))
		health_set(d.health, "log", 0, "lines held: the store fails",
		    now);
	else if (d.tail != NULL)
		health_set(d.health, "log", logtail_health(d.tail, why,
		    sizeof(why)), why, now);
	if (d.socktail != NULL)
		health_set(d.health, "syslog", logtail_health(d.socktail, why,
		    sizeof(why)), why, now);
}

static void
on_health(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	check_health();
}

/* --- signals and timers ------------------------------------------------ */

/*
 * Reloading. Reading the configuration and compiling the rules (PCRE2
 * JIT, the prefilter) takes long with a large rule set, and the loop
 * answers the policy server meanwhile: so a thread of its own builds
 * the new snapshot, and the loop only swaps it in. One reload runs at
 * a time; a SIGHUP during one asks for one more after it, so that the
 * files as they are after the last signal are what is loaded.
 *
 * All of reload.* but result and err belongs to the loop thread; the
 * builder writes those two and then wakes the loop, which reads them
 * after pthread_join().
 */
static struct {
	pthread_t		 thread;
	int			 running;
	int			 again;
	struct event		*done_ev;
	struct snapshot		*result;	/* NULL: refused, see err */
	char			*err;
} reload;

static void *
reload_build(void *arg)
{
	(void)arg;
	reload.err = NULL;
	reload.result = snapshot_load(&reload.err);
	event_active(reload.done_ev, EV_READ, 0);
	return NULL;
}

static void
reload_start(void)
{
	sigset_t all, old;
	int rc;

	reload.again = 0;
	/* Signals are the loop's: the builder starts with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&reload.thread, NULL, reload_build, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		__atomic_add_fetch(&d.reload_failures, 1, __ATOMIC_RELAXED);
		log_error("reload: cannot start a thread: %s", strerror(rc));
		return;
	}
	reload.running = 1;
}

/* Waits for a reload still building (at exit) and forgets its result. */
static void
reload_cancel(void)
{
	if (!reload.running)
		return;
	pthread_join(reload.thread, NULL);
	reload.running = 0;
	snapshot_unref(reload.result);
	free(reload.err);
	reload.result = NULL;
	reload.err = NULL;
}

/* On the loop: the builder is done; swap its snapshot in. */
static void
on_reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct snapshot *s, *old;
	char *changed = NULL;

	(void)fd;
	(void)what;
	(void)arg;
	if (!reload.running)
		return;
	pthread_join(reload.thread, NULL);
	reload.running = 0;
	s = reload.result;
	reload.result = NULL;
	if (s == NULL) {
		__atomic_add_fetch(&d.reload_failures, 1, __ATOMIC_RELAXED);
		log_error("reload refused, keeping the running configuration "
		    "and rules:\n%s", reload.err ? reload.err : "");
	} else {
		pthread_mutex_lock(&d.lock);
		old = d.snap;
		s->gen = d.gen + 1;
		d.snap = s;
		__atomic_store_n(&d.gen, s->gen, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&d.lock);
		/* Listeners, the user, ...: say so rather than seem to apply. */
		if ((changed = conf_start_changes(old->conf, s->conf)) != NULL)
			log_warn("reload: changed but read at start only, so "
			    "in force after a restart: %s", changed);
		free(changed);
		snapshot_unref(old);
		__atomic_add_fetch(&d.reloads, 1, __ATOMIC_RELAXED);
		log_info("reloaded configuration and rules");
	}
	free(reload.err);
	reload.err = NULL;
	if (reload.again)
		reload_start();
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (reload.running) {
		reload.again = 1;
		return;
	}
	reload_start();
}

static void
on_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d: draining and stopping", (int)sig);
	event_base_loopexit(d.base, NULL);
}

static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	/* A full queue: the next interval's turn. */
	writer_submit(d.writer, expire_run, NULL, NULL, 0);
}

/* --- start-up ------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr, "usage: bouncerd [-fnv] [-c config] "
	    "[-o name=value ...]\n");
	exit(1);
}

/*
 * Who the sockets belong to: the user to become (user), when started
 * as root, and socket_group. Fatal if that user does not exist.
 */
static void
socket_perm(const struct conf *c, struct listener_perm *perm)
{
	const char *user = conf_str(c, CONF_USER);
	struct passwd *pw;

	memset(perm, 0, sizeof(*perm));
	perm->uid = (uid_t)-1;
	perm->gid = (gid_t)-1;
	perm->group = conf_str(c, CONF_SOCKET_GROUP);
	if (geteuid() != 0 || *user == '\0')
		return;
	if ((pw = getpwnam(user)) == NULL)
		log_fatal(2, "user %s does not exist: create it (useradd "
		    "--system %s) or set user in bouncer.conf", user, user);
	perm->user = user;
	perm->uid = pw->pw_uid;
	perm->gid = pw->pw_gid;
}

/*
 * Becomes the user socket_perm() found, if any, with the groups that
 * user is in (initgroups): group adm is what reads Debian's
 * /var/log/mail.log.
 */
static void
drop_privileges(const struct listener_perm *perm)
{
	if (perm->user == NULL)
		return;
	if (initgroups(perm->user, perm->gid) < 0 || setgid(perm->gid) < 0 ||
	    setuid(perm->uid) < 0)
		log_fatal(2, "cannot become user %s: %s", perm->user,
		    strerror(errno));
}

/*
 * A file of state_dir that root left (a store made by an earlier
 * version, bouncerctl run as root) goes to the user, mode 0640, so
 * that the daemon can write it once it is that user. Regular files
 * only, never through a symbolic link; other users' files are left.
 */
static void
state_file_give(int dirfd, const char *name, const char *dir,
    const struct listener_perm *perm)
{
	struct stat st;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_uid == 0 || st.st_uid == perm->uid) &&
	    (st.st_uid != perm->uid || st.st_gid != perm->gid ||
	    (st.st_mode & 07777) != 0640)) {
		if (fchown(fd, perm->uid, perm->gid) < 0 ||
		    fchmod(fd, 0640) < 0)
			log_warn("state_dir: %s/%s: %s", dir, name,
			    strerror(errno));
		else
			log_info("state_dir: %s/%s given to %s, mode 0640",
			    dir, name, perm->user);
	}
	close(fd);
}

/*
 * Started as root: state_dir is made if missing and given to the user
 * (and the user's login group), mode 0750, with the files in it. The
 * installation cannot do this, not knowing whether the user exists.
 * Fatal if state_dir cannot be made.
 */
static void
state_dir_prepare(const struct conf *c, const struct listener_perm *perm)
{
	const char *dir = conf_str(c, CONF_STATE_DIR);
	struct dirent *de;
	struct stat st;
	DIR *dp;
	int fd;

	if (geteuid() != 0 || *dir == '\0')
		return;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		log_fatal(2, "state_dir %s: %s", dir, strerror(errno));
	if (perm->user == NULL)
		return;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		log_fatal(2, "state_dir %s: %s", dir, strerror(errno));
	if ((st.st_uid != perm->uid || st.st_gid != perm->gid ||
	    (st.st_mode & 07777) != 0750) &&
	    (fchown(fd, perm->uid, perm->gid) < 0 || fchmod(fd, 0750) < 0))
		log_fatal(2, "state_dir %s: cannot give it to %s: %s", dir,
		    perm->user, strerror(errno));
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			state_file_give(dirfd(dp), de->d_name, dir, perm);
	closedir(dp);
}

/*
 * The pid file: pid_file, or else state_dir/bouncerd.pid when
 * detaching; in the foreground, only pid_file. NULL for none; the
 * caller frees.
 */
static char *
pid_file_path(const struct conf *c, int foreground)
{
	if (*conf_str(c, CONF_PID_FILE) != '\0')
		return xstrdup(conf_str(c, CONF_PID_FILE));
	if (foreground)
		return NULL;
	return xasprintf("%s/bouncerd.pid", conf_str(c, CONF_STATE_DIR));
}

int
main(int argc, char **argv)
{
	struct policy_limits lim;
	struct socketmap_limits slim;
	struct listener_perm perm;
	struct milter_conf mc;
	struct event *ev_hup, *ev_term, *ev_int, *ev_expire, *ev_health;
	struct logtail *tail;
	struct timeval tv;
	const struct conf *c;
	const char *spec;
	char *uri;
	char *err = NULL, *statefile, *pidfile;
	int ch, foreground = 0, print = 0, verbose = 0, fd, pidfd = -1;

	xalloc_init();
	d.conf_path = CONF_FILE;
	d.conf_missing_ok = 1;
	while ((ch = getopt(argc, argv, "c:fno:vV")) != -1) {
		switch (ch) {
		case 'c':
			d.conf_path = optarg;
			d.conf_missing_ok = 0;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			print = 1;
			break;
		case 'o':
			d.overrides = xreallocarray(d.overrides,
			    (size_t)d.noverrides + 1, sizeof(*d.overrides));
			d.overrides[d.noverrides++] = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("bouncerd %s\nstores: %s\n",
			    PACKAGE_VERSION, store_types());
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("bouncerd", !foreground, verbose);

	if ((d.snap = snapshot_load(&err)) == NULL) {
		fprintf(stderr, "%s", err ? err : "");
		log_fatal(2, "configuration or rules not loaded; not starting");
	}
	c = d.snap->conf;
	d.start_conf = conf_ref(d.snap->conf);
	if (print) {
		conf_print(c, stdout, 0, NULL, 0);
		return 0;
	}
	/* State files are the user's and its group's to read: 0640. */
	umask(027);
	/* Before any thread: the parent waits until start-up is done. */
	if (!foreground && daemonize_begin(&err) < 0)
		log_fatal(2, "cannot detach: %s", err);
	socket_perm(c, &perm);
	state_dir_prepare(c, &perm);
	if ((pidfile = pid_file_path(c, foreground)) != NULL) {
		if ((pidfd = daemonize_pidfile(pidfile, &err)) < 0)
			log_fatal(2, "pid_file %s", err);
		if (perm.user != NULL &&
		    fchown(pidfd, perm.uid, perm.gid) < 0)
			log_warn("pid_file %s: %s", pidfile, strerror(errno));
	}
	signal(SIGPIPE, SIG_IGN);
	/* Every smtpd process keeps a policy connection: allow many. */
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	evthread_use_pthreads();
	pthread_key_create(&worker_key, worker_destroy);
	d.base = event_base_new();
	d.health = health_new();
	d.started = clock_now();
	if (getenv("BOUNCER_NOW") != NULL && *getenv("BOUNCER_NOW") != '\0')
		log_warn("BOUNCER_NOW=%s: the clock is moved (for tests)",
		    getenv("BOUNCER_NOW"));

	/* Sockets first, as root; then the unprivileged user. */
	if (*(spec = conf_str(c, CONF_POLICY_LISTEN)) != '\0') {
		lim.max_request = 16384;
		lim.max_conns = (unsigned)conf_int(c, CONF_POLICY_MAX_CONNS);
		lim.idle_timeout = (int)conf_time(c, CONF_POLICY_IDLE_TIMEOUT);
		lim.request_timeout = (int)conf_time(c,
		    CONF_POLICY_REQUEST_TIMEOUT);
		if ((fd = listener_open(spec, 1024, &perm, &err)) < 0 ||
		    (d.policy = policy_new(d.base, fd, &lim, policy_answer,
		    NULL, &err)) == NULL)
			log_fatal(2, "policy_listen: %s", err);
	}
	if (*(spec = conf_str(c, CONF_SOCKETMAP_LISTEN)) != '\0') {
		slim.max_conns = (unsigned)conf_int(c,
		    CONF_SOCKETMAP_MAX_CONNS);
		slim.idle_timeout = (int)conf_time(c,
		    CONF_SOCKETMAP_IDLE_TIMEOUT);
		slim.request_timeout = (int)conf_time(c,
		    CONF_SOCKETMAP_REQUEST_TIMEOUT);
		if ((fd = listener_open(spec, 256, &perm, &err)) < 0 ||
		    (d.smap = socketmap_new(d.base, fd, &slim,
		    transport_lookup, NULL, &err)) == NULL)
			log_fatal(2, "socketmap_listen: %s", err);
	}
	if (*(spec = conf_str(c, CONF_METRICS_LISTEN)) != '\0' &&
	    (d.metrics = metrics_new(d.base, spec, render_metrics,
	    render_status, health, NULL, &err)) == NULL)
		log_fatal(2, "metrics_listen: %s", err);
	if (*(spec = conf_str(c, CONF_SYSLOG_SOCKET)) != '\0' &&
	    (d.socktail = logtail_socket(d.base, spec, &perm, on_log_line,
	    NULL, &err)) == NULL)
		log_fatal(2, "%s", err);
	if ((d.alerter = alerter_new(d.base, conf_str(c, CONF_ALERT_COMMAND),
	    (int)conf_time(c, CONF_ALERT_TIMEOUT), &err)) == NULL)
		log_fatal(2, "%s", err);
	d.alert_ev = event_new(d.base, -1, 0, on_alerts, NULL);
	{
		struct dnsbl_params bp = {
			.watch_ips = conf_str(c, CONF_BLOCKLIST_WATCH_IPS),
			.watch_domains = conf_str(c,
			    CONF_BLOCKLIST_WATCH_DOMAINS),
			.discover = conf_bool(c, CONF_BLOCKLIST_DISCOVER),
			.zones = conf_str(c, CONF_BLOCKLIST_ZONES),
			.dqs_key = conf_str(c, CONF_BLOCKLIST_DQS_KEY),
			.resolver = conf_str(c, CONF_BLOCKLIST_RESOLVER),
			.interval = conf_time(c, CONF_BLOCKLIST_INTERVAL),
			.timeout = conf_time(c, CONF_BLOCKLIST_TIMEOUT),
		};

		/* Before the writer: on_report() reads d.dnsbl there. */
		if (dnsbl_wanted(&bp) && (d.dnsbl = dnsbl_new(d.base, &bp,
		    on_dnsbl, NULL, &err)) == NULL)
			log_fatal(2, "%s", err);
	}
	catchup.ev = event_new(d.base, -1, 0, on_catchup, NULL);
	reload.done_ev = event_new(d.base, -1, 0, on_reload_done, NULL);
	if (*(spec = conf_str(c, CONF_MILTER_LISTEN)) != '\0') {
		memset(&mc, 0, sizeof(mc));
		mc.listen = spec;
		mc.perm = &perm;
		mc.max_size = (size_t)conf_int(c, CONF_MILTER_MAX_SIZE);
		mc.max_memory = (size_t)conf_int(c, CONF_MILTER_MAX_MEMORY);
		mc.timeout = 60;
		mc.check_rcpt = conf_bool(c, CONF_MILTER_CHECK_RCPT);
		mc.rcpt_fn = milter_rcpt;
		mc.msg_fn = milter_message;
		if (milter_open(&mc, &err) < 0)
			log_fatal(2, "%s", err);
	}
	drop_privileges(&perm);
	/* Opened as the user, so that a store it creates is the user's. */
	d.loop.view_only = 1;
	if (worker_ready(&d.loop) < 0)
		log_fatal(2, "store %s: cannot open", conf_str(c, CONF_STORE));
	{
		struct writer_hooks wh = {
			.begin = writer_begin, .end = writer_end,
			.after = writer_after, .idle = writer_after,
			.idle_ms = WRITER_IDLE_MS,
			.retry_ms = WRITER_RETRY_MS,
			.batch_max = WRITER_BATCH,
		};
		int *loaded = xcalloc(1, sizeof(*loaded));

		if ((d.writer = writer_new((size_t)conf_int(c,
		    CONF_WRITER_QUEUE_SIZE), &wh, &err)) == NULL)
			log_fatal(2, "%s", err);
		/* The view is loaded before the first answer. */
		if (writer_call(d.writer, refresh_run, loaded, free,
		    600000) == 0) {
			if (!*loaded)
				log_warn("store %s: the in-memory view did not "
				    "load; lookups fail open until it does",
				    conf_str(c, CONF_STORE));
			free(loaded);
		}
		/* And the health report starts from a probe. */
		d.probe_running = 1;
		writer_call(d.writer, probe_run, NULL, NULL, 600000);
	}
	/* libmilter's threads never run as root. */
	if (*conf_str(c, CONF_MILTER_LISTEN) != '\0' && milter_run(&err) < 0)
		log_fatal(2, "%s", err);
	if (*(spec = conf_str(c, CONF_MAILLOG_FILE)) != '\0') {
		statefile = xasprintf("%s/maillog.pos",
		    conf_str(c, CONF_STATE_DIR));
		tail = logtail_file(d.base, spec, statefile,
		    (int)conf_int(c, CONF_MAILLOG_POLL_MS), on_log_line, NULL,
		    &err);
		free(statefile);
		if (tail == NULL)
			log_fatal(2, "%s", err);
		logtail_set_sync(tail, log_synced, NULL);
		__atomic_store_n(&d.tail, tail, __ATOMIC_RELEASE);
	}

	ev_hup = evsignal_new(d.base, SIGHUP, on_hup, NULL);
	ev_term = evsignal_new(d.base, SIGTERM, on_term, NULL);
	ev_int = evsignal_new(d.base, SIGINT, on_term, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	ev_expire = event_new(d.base, -1, EV_PERSIST, on_expire, NULL);
	tv.tv_sec = conf_time(c, CONF_EXPIRE_INTERVAL);
	tv.tv_usec = 0;
	event_add(ev_expire, &tv);
	ev_health = event_new(d.base, -1, EV_PERSIST, on_health, NULL);
	tv.tv_sec = HEALTH_INTERVAL;
	event_add(ev_health, &tv);
	check_health();

	uri = store_uri_redact(conf_str(c, CONF_STORE));
	log_info("started: store=%s policy=%s milter=%s maillog=%s "
	    "metrics=%s", uri,
	    conf_str(c, CONF_POLICY_LISTEN),
	    conf_str(c, CONF_MILTER_LISTEN), conf_str(c, CONF_MAILLOG_FILE),
	    conf_str(c, CONF_METRICS_LISTEN));
	free(uri);
	daemonize_ready();
	event_base_dispatch(d.base);

	/* Drain: stop taking work, finish what is read, save positions. */
	reload_cancel();
	milter_stop();
	if (d.tail != NULL)
		logtail_poll(d.tail);
	/*
	 * What the follower handed over is written before its position
	 * is saved; if the store fails that long, the position stays
	 * before those lines and they are read again at the next start.
	 */
	if (writer_call(d.writer, drain_run, NULL, NULL,
	    WRITER_DRAIN_MS) < 0)
		log_warn("store: lines still not written at exit; they are "
		    "read again at the next start");
	on_alerts(-1, 0, NULL);
	logtail_free(d.tail);
	logtail_free(d.socktail);
	writer_free(d.writer, 0);
	d.writer = NULL;
	on_alerts(-1, 0, NULL);
	dnsbl_free(d.dnsbl);
	d.dnsbl = NULL;
	worker_clear(&d.wr);
	policy_free(d.policy);
	socketmap_free(d.smap);
	metrics_free(d.metrics);
	alerter_free(d.alerter);
	event_free(d.alert_ev);
	event_free(catchup.ev);
	event_free(reload.done_ev);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_expire);
	event_free(ev_health);
	worker_clear(&d.loop);
	snapshot_unref(d.snap);
	conf_unref(d.start_conf);
	snapshots_wait();
	free(d.tallies);
	free(d.overrides);
	health_free(d.health);
	event_base_free(d.base);
	daemonize_pidfile_remove(pidfile, pidfd);
	free(pidfile);
	log_info("stopped");
	return 0;
}
