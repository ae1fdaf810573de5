/*
 * storecmd.c -- bouncerctl's commands on the configuration and the store
 *
 * Exit status in the manner of postmap(1) and postqueue(1): 0 success;
 * 1 bad usage or bad input (a bad address, a bad CSV row: reported
 * with its line number, the rest still done); 2 a configuration error
 * or a store that cannot be opened or fails.
 *
 * The time is clock_now()'s: BOUNCER_NOW moves it for tests (clock.h).
 *
 * See also: storecmd.h, bouncerctl(8), bouncer.conf(5).
 */
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "clock.h"
#include "conf.h"
#include "engine.h"
#include "lineio.h"
#include "listener.h"
#include "log.h"
#include "pipeline.h"
#include "policy.h"
#include "reply.h"
#include "rules.h"
#include "store.h"
#include "storecmd.h"
#include "xalloc.h"

#ifndef CONF_FILE
#define CONF_FILE "/etc/bouncer/bouncer.conf"
#endif

#define EX_OK_		0
#define EX_USAGE_	1
#define EX_CONFIG_	2

#define BATCH_EVENTS	1000	/* events per transaction when ingesting */
#define BATCH_ROWS	10000	/* rows per transaction when importing */
#define LINE_MAX_IN	(256 * 1024)

static const char *const commands[] = {
	"config", "query", "ingest", "explain", "suppress", "unsuppress",
	"list", "throttle", "export", "import", "stats", "expire", "status",
	"backup", "restore", "migrate", "dump",
};

void
storecmd_usage(FILE *fp)
{
	fprintf(fp,
	    "       bouncerctl [-c file] [-o name=value] [-s store] command ...\n"
	    "       bouncerctl config [-n] [name ...]\n"
	    "       bouncerctl query address ...\n"
	    "       bouncerctl ingest [-r rulesdir] [-l localdir] [--maillog] [file ...]\n"
	    "       bouncerctl explain address\n"
	    "       bouncerctl suppress add [--reason r] [--until time] [-f file|-] [address ...]\n"
	    "       bouncerctl suppress remove address ...  (or: unsuppress address ...)\n"
	    "       bouncerctl list [--state s] [--reason r] [--domain d] [--json]\n"
	    "       bouncerctl throttle list [--all] [--json]\n"
	    "       bouncerctl throttle remove destination ...\n"
	    "       bouncerctl export > file.csv;  bouncerctl import [file.csv]\n"
	    "       bouncerctl stats;  bouncerctl expire;  bouncerctl status\n"
	    "       bouncerctl backup file;  bouncerctl restore file\n"
	    "       bouncerctl migrate from-uri to-uri;  bouncerctl dump\n");
}

int
storecmd_known(const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i], cmd) == 0)
			return 1;
	return 0;
}

int
storecmd_globals(int argc, char **argv, struct storecmd_globals *g)
{
	int i;

	memset(g, 0, sizeof(*g));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-c") != 0 && strcmp(a, "-o") != 0 &&
		    strcmp(a, "-s") != 0)
			break;
		if (i + 1 >= argc) {
			fprintf(stderr, "bouncerctl: %s needs a value\n", a);
			return -1;
		}
		if (a[1] == 'c')
			g->conf_file = argv[++i];
		else if (a[1] == 's')
			g->store_uri = argv[++i];
		else {
			g->overrides = xreallocarray(g->overrides,
			    (size_t)g->noverrides + 1, sizeof(char *));
			g->overrides[g->noverrides++] = argv[++i];
		}
	}
	return i;
}

/* --- helpers --------------------------------------------------------- */

struct conf *
storecmd_conf(const struct storecmd_globals *g)
{
	struct conf *c = conf_new();
	char *err = NULL;
	int i, rc;

	rc = conf_load(c, g->conf_file ? g->conf_file : CONF_FILE,
	    g->conf_file == NULL, &err);
	for (i = 0; i < g->noverrides; i++) {
		char *e2 = NULL;

		if (conf_set(c, "-o", g->overrides[i], NULL, &e2) < 0) {
			fputs(e2, stderr);
			rc = -1;
		}
		free(e2);
	}
	if (rc < 0) {
		if (err != NULL)
			fputs(err, stderr);
		fprintf(stderr, "bouncerctl: configuration not loaded\n");
		free(err);
		conf_unref(c);
		return NULL;
	}
	free(err);
	return c;
}

static struct conf *
load_conf(const struct storecmd_globals *g)
{
	struct conf *c;

	if ((c = storecmd_conf(g)) == NULL)
		exit(EX_CONFIG_);
	return c;
}

static struct store *
open_store(const struct storecmd_globals *g, const struct conf *c)
{
	const char *uri = g->store_uri ? g->store_uri : conf_str(c, CONF_STORE);
	struct store *st;
	char *err = NULL;

	if ((st = store_open(uri, c, &err)) == NULL) {
		fprintf(stderr, "bouncerctl: store: %s\n", err);
		free(err);
		exit(EX_CONFIG_);
	}
	return st;
}

static char *
fmt_time(long long t, char *buf, size_t bufsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0) {
		snprintf(buf, bufsz, "-");
		return buf;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/*
 * Parses a time for --until: "never", a duration from now ("30d"),
 * seconds since the epoch (10 digits or more), "YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC). Returns 0 or -1.
 */
static int
parse_when(const char *s, long long now, long long *out)
{
	struct tm tm;
	const char *e;
	long long d;

	if (strcmp(s, "never") == 0) {
		*out = -1;
		return 0;
	}
	if (strlen(s) >= 10 && strspn(s, "0123456789") == strlen(s)) {
		*out = atoll(s);
		return 0;
	}
	if (conf_parse_time(s, &d) == 0) {
		*out = now + d;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		if (*e == 'Z')
			e++;
	} else if ((e = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*e != '\0')
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

/* No blanks, controls, angle brackets or commas. */
static int
word_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' ||
		    c == ',')
			return 0;
	}
	return 1;
}

/* A domain has a dot, or is localhost. */
static int
domain_ok(const char *d)
{
	return strchr(d, '.') != NULL || strcmp(d, "localhost") == 0;
}

/* A plausible address: local@domain, no blanks or controls. */
static int
addr_ok(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at == s || at[1] == '\0' ||
	    strlen(s) >= STORE_ADDR_MAX)
		return 0;
	return word_ok(s) && domain_ok(at + 1);
}

/* A destination as the store keys it: a domain, or "provider:NAME". */
static int
dest_ok(const char *s)
{
	if (*s == '\0' || strlen(s) >= STORE_DEST_MAX || strchr(s, '@') ||
	    !word_ok(s))
		return 0;
	if (strncmp(s, "provider:", 9) == 0)
		return s[9] != '\0';
	return domain_ok(s);
}

static void
json_str(FILE *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	putc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
		} else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		else
			putc(c, out);
	}
	putc('"', out);
}

/* Writes ,"name":"value" (value JSON-escaped). */
static void
json_field(FILE *out, const char *name, const char *value)
{
	fprintf(out, ",\"%s\":", name);
	json_str(out, value);
}

static int
bad_usage(const char *cmd)
{
	fprintf(stderr, "bouncerctl: %s: bad usage\n", cmd);
	storecmd_usage(stderr);
	return EX_USAGE_;
}

/* --- config ---------------------------------------------------------- */

static int
cmd_config(int argc, char **argv, const struct storecmd_globals *g)
{
	struct conf *c;
	int ch, nondefault = 0, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "n")) != -1) {
		switch (ch) {
		case 'n': nondefault = 1; break;
		default: return bad_usage("config");
		}
	}
	c = load_conf(g);
	rc = conf_print(c, stdout, nondefault, argv + optind, argc - optind);
	conf_unref(c);
	return rc < 0 ? EX_USAGE_ : EX_OK_;
}

/* --- query and explain ------------------------------------------------ */

static void
print_why(const struct store_answer *a, const struct store_rcpt *r,
    int have_r, const struct store_dest *d, int have_d)
{
	char t1[32], t2[32];

	if (a->kind == ANS_THROTTLED && have_d) {
		printf("destination=%s reason=%s since=%s until=%s count=%d "
		    "rule=%s", d->dest, reason_name(d->reason),
		    fmt_time(d->since, t1, sizeof(t1)),
		    fmt_time(d->until, t2, sizeof(t2)), d->count,
		    *d->rule ? d->rule : "-");
		return;
	}
	if ((a->kind == ANS_SUPPRESSED || a->kind == ANS_DEFERRED) &&
	    have_r) {
		printf("state=%s reason=%s since=%s until=%s",
		    rcpt_state_name(r->state), reason_name(r->reason),
		    fmt_time(r->since, t1, sizeof(t1)),
		    r->until ? fmt_time(r->until, t2, sizeof(t2)) : "never");
		if (r->soft_count)
			printf(" soft_failures=%d", r->soft_count);
		printf(" rule=%s src=%s", *r->rule ? r->rule : "-",
		    *r->source ? r->source : "-");
		if (*r->queue_id)
			printf(" queue=%s", r->queue_id);
		return;
	}
	printf("no state in force");
}

/* Finds the destination record that throttles rcpt's domain. */
static int
throttle_rec(struct store *st, const char *rcpt, long long now,
    struct store_dest *d)
{
	const char *at = strrchr(rcpt, '@');
	char prov[STORE_DEST_MAX];
	int rc;

	if (at == NULL)
		return 0;
	if ((rc = store_get_dest(st, at + 1, d)) <= 0)
		return rc;
	if (d->until > now || d->provider[0] == '\0')
		return 1;
	snprintf(prov, sizeof(prov), "provider:%s", d->provider);
	return store_get_dest(st, prov, d);
}

static int
cmd_query(int argc, char **argv, const struct storecmd_globals *g)
{
	struct store_answer a;
	struct store_rcpt r;
	struct store_dest d;
	struct store *st;
	struct conf *c;
	char action[512], key[STORE_ADDR_MAX];
	struct answer ans;
	long long now = clock_now();
	int i, rc = EX_OK_, have_r, have_d;

	if (argc < 2)
		return bad_usage("query");
	c = load_conf(g);
	st = open_store(g, c);
	for (i = 1; i < argc; i++) {
		store_normalise(argv[i], key, sizeof(key));
		if (!addr_ok(key)) {
			fprintf(stderr, "bouncerctl: query: argument %d: bad "
			    "address \"%s\"\n", i, argv[i]);
			printf("%s\tDUNNO\tnot an address\n", argv[i]);
			continue;
		}
		if (store_lookup(st, key, now, &a) < 0) {
			printf("%s\tDUNNO\tstore failed: failing open\n", key);
			rc = EX_CONFIG_;
			continue;
		}
		have_r = store_get_rcpt(st, key, &r) == 1;
		have_d = a.kind == ANS_THROTTLED &&
		    throttle_rec(st, key, now, &d) == 1;
		engine_answer(&a, have_r && a.kind != ANS_THROTTLED ? &r :
		    NULL, now, &ans);
		policy_action(&ans, action, sizeof(action));
		printf("%s\t%s\t", key, action);
		print_why(&a, &r, have_r, &d, have_d);
		putchar('\n');
	}
	store_close(st);
	conf_unref(c);
	return rc;
}

static int
print_audit(const struct store_audit *a, void *arg)
{
	char t[32];

	(void)arg;
	printf("  %s  %s -> %s  rule=%s  event=%s\n", fmt_time(a->time, t,
	    sizeof(t)), a->old, a->new, a->rule, a->event);
	if (*a->reply)
		printf("      reply: %s\n", a->reply);
	return 0;
}

static int
cmd_explain(int argc, char **argv, const struct storecmd_globals *g)
{
	struct store_answer a;
	struct store_rcpt r;
	struct store_dest d;
	struct store *st;
	struct conf *c;
	char key[STORE_ADDR_MAX], action[512], t[32];
	struct answer ans;
	long long now = clock_now();
	int have, rc = EX_OK_;

	if (argc != 2)
		return bad_usage("explain");
	store_normalise(argv[1], key, sizeof(key));
	if (!addr_ok(key)) {
		fprintf(stderr, "bouncerctl: explain: bad address \"%s\"\n",
		    argv[1]);
		return EX_USAGE_;
	}
	c = load_conf(g);
	st = open_store(g, c);
	if (store_lookup(st, key, now, &a) < 0 ||
	    (have = store_get_rcpt(st, key, &r)) < 0) {
		store_close(st);
		conf_unref(c);
		return EX_CONFIG_;
	}
	engine_answer(&a, have && a.kind != ANS_THROTTLED ? &r : NULL, now,
	    &ans);
	policy_action(&ans, action, sizeof(action));
	printf("recipient: %s\nanswer:    %s\n", key, action);
	if (have) {
		printf("state:     %s", rcpt_state_name(r.state));
		if (r.state != RS_NONE)
			printf(" (%s) since %s until %s", reason_name(r.reason),
			    fmt_time(r.since, t, sizeof(t)), r.until ?
			    fmt_time(r.until, action, sizeof(action)) :
			    "never");
		putchar('\n');
		printf("soft failures: %d", r.soft_count);
		if (r.soft_count)
			printf(" since %s", fmt_time(r.soft_first, t,
			    sizeof(t)));
		printf("\nrule:      %s\nsource:    %s\nstatus:    %s",
		    *r.rule ? r.rule : "-", *r.source ? r.source : "-",
		    *r.status ? r.status : "-");
		if (r.code)
			printf(" (%d)", r.code);
		printf("\nprovider:  %s\nqueue id:  %s\nlast event: %s\n",
		    *r.provider ? r.provider : "-",
		    *r.queue_id ? r.queue_id : "-",
		    fmt_time(r.last_event, t, sizeof(t)));
		printf("reply:     %s\n", *r.reply ? r.reply : "-");
	} else
		printf("state:     unknown (no record)\n");
	if (throttle_rec(st, key, now, &d) == 1)
		printf("destination: %s %s until %s (%s, %d throttles, "
		    "rule %s)\n", d.dest, d.until > now ? "throttled" :
		    "was throttled", fmt_time(d.until, t, sizeof(t)),
		    reason_name(d.reason), d.count, *d.rule ? d.rule : "-");
	printf("history (oldest first):\n");
	if (store_audit_list(st, key, print_audit, NULL) < 0)
		rc = EX_CONFIG_;
	store_close(st);
	conf_unref(c);
	return rc;
}

/* --- ingest ------------------------------------------------------------ */

struct ingest {
	struct engine	*eng;
	struct store	*st;
	struct pipeline	*pipe;
	unsigned long	 events, changed, dups, scoped, bad, failed;
	unsigned long	 not_evidence;
	unsigned long	 inbatch;
	const char	*name;		/* where the line being read is */
	unsigned long	 lineno;
};

static void ingest_flush(struct ingest *);

/*
 * Batches of BATCH_EVENTS lines or events (SQLite: one transaction, one
 * fsync; Redis: the commits pipelined, engine_batch_begin()). Before a
 * line or event: opens one if none is open; after: ends it when full.
 */
static void
ingest_batch(struct ingest *in)
{
	if (in->inbatch > 0)
		return;
	if ((in->pipe != NULL ? pipeline_batch_begin(in->pipe) :
	    engine_batch_begin(in->eng)) < 0)
		in->failed++;
	in->inbatch = 1;
}

static void
ingest_batched(struct ingest *in)
{
	if (++in->inbatch > BATCH_EVENTS)
		ingest_flush(in);
}

/* Counts what became of an engine event. */
static void
ingest_count(struct ingest *in, int rc, const struct engine_result *res)
{
	in->events++;
	if (rc < 0)
		in->failed++;
	else if (res->duplicate)
		in->dups++;
	else if (rc == 1)
		in->changed++;
	if (rc >= 0 && res->scoped_out)
		in->scoped++;
}

/* A provisional event's final outcome, at the end of its batch. */
static void
ingest_settle(unsigned long n, int rc, const struct engine_result *res,
    void *arg)
{
	(void)n;
	ingest_count(arg, rc, res);
}

static void
ingest_one(struct ingest *in, const struct engine_event *ev)
{
	struct engine_result res;
	int rc;

	ingest_batch(in);
	rc = engine_record(in->eng, ev, &res);
	if (rc < 0 || res.pending == 0)
		ingest_count(in, rc, &res);
	ingest_batched(in);
}

static void
ingest_flush(struct ingest *in)
{
	if (in->inbatch > 0 && (in->pipe != NULL ?
	    pipeline_batch_end(in->pipe) : engine_batch_end(in->eng,
	    ingest_settle, in)) < 0)
		in->failed++;
	in->inbatch = 0;
}

/* The pipeline's word on each recipient of a maillog line. */
static void
ingest_report(const struct pipeline_report *r, void *arg)
{
	struct ingest *in = arg;

	switch (r->outcome) {
	case PO_RECORDED:
		ingest_count(in, r->res != NULL && (r->res->changed ||
		    r->res->throttled || r->res->alert) ? 1 : 0, r->res);
		break;
	case PO_FAILED:
		ingest_count(in, -1, NULL);
		break;
	case PO_NOT_EVIDENCE:
		in->not_evidence++;
		break;
	case PO_BADTIME:
		fprintf(stderr, "bouncerctl: %s:%lu: bad time stamp\n",
		    in->name, in->lineno);
		in->bad++;
		break;
	default:
		break;
	}
}

static void
ingest_maillog(struct ingest *in, FILE *fp, const char *name)
{
	struct lineio *lio;
	const char *line;
	size_t len;
	long long now = clock_now();
	int overlong;

	in->name = name;
	in->lineno = 0;
	lio = lineio_open(fp, LINE_MAX_IN);
	while ((line = lineio_read(lio, &len, &overlong)) != NULL) {
		in->lineno++;
		ingest_batch(in);
		pipeline_log_line(in->pipe, line, len, now);
		ingest_batched(in);
	}
	if (ferror(fp))
		fprintf(stderr, "bouncerctl: %s: %s\n", name, strerror(errno));
	lineio_close(lio);
}

/* Splits line at tabs into at most max fields; returns the count. */
static int
split_tabs(char *line, char **f, int max)
{
	int n = 0;

	f[n++] = line;
	while (n < max && (line = strchr(line, '\t')) != NULL) {
		*line++ = '\0';
		f[n++] = line;
	}
	return n;
}

/*
 * One line of `bouncerctl classify` output: recipient, reason,
 * decision, status, code, provider, rule, details; optionally then
 * the time (epoch or ISO), queue id and stage.
 */
static void
ingest_tsv(struct ingest *in, FILE *fp, const char *name)
{
	struct engine_event ev;
	struct reply_facts facts;
	struct lineio *lio;
	const char *line;
	char *copy, *f[11], bad[64], rcpt[STORE_ADDR_MAX];
	size_t len;
	unsigned long lineno = 0;
	long long now = clock_now(), t;
	int n, r, overlong, stage;
	unsigned dec;

	lio = lineio_open(fp, LINE_MAX_IN);
	while ((line = lineio_read(lio, &len, &overlong)) != NULL) {
		lineno++;
		if (len == 0 || line[0] == '#')
			continue;
		copy = xstrdup(line);
		n = split_tabs(copy, f, 11);
		store_normalise(f[0], rcpt, sizeof(rcpt));
		if (n < 8 || overlong) {
			fprintf(stderr, "bouncerctl: %s:%lu: expected the 8 "
			    "columns of bouncerctl classify\n", name, lineno);
			goto bad;
		}
		if (!addr_ok(rcpt)) {
			fprintf(stderr, "bouncerctl: %s:%lu: bad address "
			    "\"%s\"\n", name, lineno, f[0]);
			goto bad;
		}
		if ((r = reason_parse(f[1], strlen(f[1]))) < 0) {
			fprintf(stderr, "bouncerctl: %s:%lu: unknown reason "
			    "\"%s\"\n", name, lineno, f[1]);
			goto bad;
		}
		if (decision_parse(f[2], strlen(f[2]), &dec, bad,
		    sizeof(bad)) < 0) {
			fprintf(stderr, "bouncerctl: %s:%lu: unknown decision "
			    "\"%s\"\n", name, lineno, bad);
			goto bad;
		}
		t = now;
		if (n > 8 && *f[8] && parse_when(f[8], now, &t) < 0) {
			fprintf(stderr, "bouncerctl: %s:%lu: bad time \"%s\"\n",
			    name, lineno, f[8]);
			goto bad;
		}
		stage = STAGE_UNKNOWN;
		if (n > 10 && *f[10] && strcmp(f[10], "-") != 0 &&
		    (stage = stage_parse(f[10], strlen(f[10]))) < 0) {
			fprintf(stderr, "bouncerctl: %s:%lu: unknown stage "
			    "\"%s\"\n", name, lineno, f[10]);
			goto bad;
		}
		memset(&ev, 0, sizeof(ev));
		ev.rcpt = rcpt;
		ev.reason = r;
		ev.decision = dec;
		ev.sent = r == R_DELIVERED;
		ev.status = strcmp(f[3], "-") ? f[3] : NULL;
		ev.code = atoi(f[4]);
		ev.provider = strcmp(f[5], "-") ? f[5] : NULL;
		ev.rule = f[6];
		facts_parse(&facts, strcmp(f[7], "-") ? f[7] : NULL);
		ev.facts = &facts;
		ev.time = t;
		ev.queue_id = n > 9 && strcmp(f[9], "-") ? f[9] : NULL;
		ev.stage = stage;
		ev.source = SRC_LOG;
		ingest_one(in, &ev);
		free(copy);
		continue;
bad:
		in->bad++;
		free(copy);
	}
	lineio_close(lio);
}

static int
cmd_ingest(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct option longopts[] = {
		{ "maillog", no_argument, NULL, 'm' },
		{ "rules", required_argument, NULL, 'r' },
		{ "local", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct ingest in;
	struct ruleset *rs = NULL;
	struct conf *c;
	const char *dir = NULL, *local = NULL;
	char *err = NULL;
	int ch, maillog = 0, i, rc = EX_OK_;
	FILE *fp;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': maillog = 1; break;
		case 'r': dir = optarg; break;
		case 'l': local = optarg; break;
		default: return bad_usage("ingest");
		}
	}
	if (local != NULL && *local != '\0' && access(local, F_OK) < 0) {
		fprintf(stderr, "bouncerctl: -l %s: %s\n", local,
		    strerror(errno));
		return EX_CONFIG_;
	}
	c = load_conf(g);
	if (maillog) {
		/* As bouncerd reads them, unless -r or -l says otherwise. */
		if (local == NULL)
			local = dir == NULL ? conf_str(c,
			    CONF_RULES_LOCAL_DIR) : "";
		if (dir == NULL)
			dir = conf_str(c, CONF_RULES_DIR);
		if ((rs = ruleset_load_local(local, dir, NULL, 0, &err)) ==
		    NULL) {
			fputs(err, stderr);
			fprintf(stderr, "bouncerctl: rules in %s%s%s not "
			    "loaded\n", local, *local ? " and " : "", dir);
			free(err);
			conf_unref(c);
			return EX_CONFIG_;
		}
	}
	memset(&in, 0, sizeof(in));
	in.st = open_store(g, c);
	in.eng = engine_new(c, in.st);
	if (maillog)
		in.pipe = pipeline_new(c, rs, in.st, ingest_report, &in);
	for (i = optind; i < argc || i == optind; i++) {
		const char *name = i < argc ? argv[i] : "-";

		if (strcmp(name, "-") == 0) {
			fp = stdin;
			name = "stdin";
		} else if ((fp = fopen(name, "r")) == NULL) {
			fprintf(stderr, "bouncerctl: %s: %s\n", name,
			    strerror(errno));
			rc = EX_USAGE_;
			continue;
		}
		if (maillog)
			ingest_maillog(&in, fp, name);
		else
			ingest_tsv(&in, fp, name);
		if (fp != stdin)
			fclose(fp);
		if (i >= argc)
			break;
	}
	ingest_flush(&in);
	fprintf(stderr, "bouncerctl: ingest: %lu events, %lu changed the "
	    "state, %lu seen before, %lu limited by the scope guard, %lu bad "
	    "lines, %lu failed; %lu failures no remote server said\n",
	    in.events, in.changed, in.dups, in.scoped, in.bad, in.failed,
	    in.not_evidence);
	pipeline_free(in.pipe);
	engine_free(in.eng);
	store_close(in.st);
	ruleset_unref(rs);
	conf_unref(c);
	if (in.failed)
		return EX_CONFIG_;
	return in.bad ? EX_USAGE_ : rc;
}

/* --- suppress ---------------------------------------------------------- */

/* What suppress add made of its addresses. */
struct suppress_counts {
	unsigned long	 added, already, bad, failed;
	unsigned long	 inbatch;
};

/*
 * Suppresses key as ev (a template) says and counts it; st is batched
 * BATCH_EVENTS at a time, as ingest does. Returns -1 if the store
 * failed.
 */
static int
suppress_one(struct engine *eng, struct store *st, struct engine_event *ev,
    const char *key, struct suppress_counts *n)
{
	struct engine_result res;
	int r;

	if (n->inbatch++ == 0)
		store_batch_begin(st);
	ev->rcpt = key;
	memset(&res, 0, sizeof(res));
	if ((r = engine_record(eng, ev, &res)) < 0)
		n->failed++;
	else if (res.changed && res.old_state != RS_SUPPRESSED)
		n->added++;
	else
		n->already++;
	if (n->inbatch >= BATCH_EVENTS) {
		n->inbatch = 0;
		if (store_batch_end(st) < 0) {
			n->failed++;
			return -1;
		}
	}
	return r < 0 ? -1 : 0;
}

/*
 * Reads a list of addresses, one a line, from fp (named name in
 * messages): blank lines and lines whose first word begins with "#"
 * are skipped, as is a "#" comment after the address; a CR before the
 * newline is dropped. A line that is not one address is reported with
 * its number and counted bad; the others are still suppressed.
 */
static void
suppress_list(struct engine *eng, struct store *st, struct engine_event *ev,
    FILE *fp, const char *name, struct suppress_counts *n)
{
	struct lineio *lio;
	const char *line, *p, *e, *w;
	char key[STORE_ADDR_MAX], *word;
	unsigned long lineno = 0;
	size_t len;
	int overlong;

	lio = lineio_open(fp, LINE_MAX_IN);
	while ((line = lineio_read(lio, &len, &overlong)) != NULL) {
		lineno++;
		if (overlong) {
			fprintf(stderr, "bouncerctl: %s:%lu: line longer than "
			    "%d bytes\n", name, lineno, LINE_MAX_IN);
			n->bad++;
			continue;
		}
		for (p = line, e = line + len; p < e && (*p == ' ' ||
		    *p == '\t'); p++)
			;
		for (w = p; w < e && *w != ' ' && *w != '\t'; w++)
			;
		if (p == e || *p == '#')
			continue;
		word = xstrndup(p, (size_t)(w - p));
		while (w < e && (*w == ' ' || *w == '\t'))
			w++;
		store_normalise(word, key, sizeof(key));
		if (memchr(line, '\0', len) != NULL || !utf8_valid(line, len))
			fprintf(stderr, "bouncerctl: %s:%lu: not UTF-8 "
			    "text\n", name, lineno);
		else if (w < e && *w != '#')
			fprintf(stderr, "bouncerctl: %s:%lu: one address a "
			    "line, not \"%.*s\"\n", name, lineno,
			    (int)(e - p > 200 ? 200 : e - p), p);
		else if (!addr_ok(key))
			fprintf(stderr, "bouncerctl: %s:%lu: bad address "
			    "\"%s\"\n", name, lineno, word);
		else {
			free(word);
			suppress_one(eng, st, ev, key, n);
			continue;
		}
		free(word);
		n->bad++;
	}
	if (ferror(fp)) {
		fprintf(stderr, "bouncerctl: %s: %s\n", name, strerror(errno));
		n->bad++;
	}
	lineio_close(lio);
}

static int
cmd_suppress_add(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct option longopts[] = {
		{ "reason", required_argument, NULL, 'R' },
		{ "until", required_argument, NULL, 'U' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct suppress_counts n;
	struct engine_event ev;
	struct engine *eng;
	struct store *st;
	struct conf *c;
	const char *until = NULL, **files = NULL;
	char key[STORE_ADDR_MAX];
	long long now = clock_now(), u = 0;
	int ch, i, reason = R_UNDEFINED, rc = EX_OK_, nfiles = 0, nstdin = 0;
	FILE *fp;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			files = xreallocarray(files, (size_t)nfiles + 1,
			    sizeof(*files));
			files[nfiles++] = optarg;
			nstdin += strcmp(optarg, "-") == 0;
			break;
		case 'R':
			if ((reason = reason_parse(optarg, strlen(optarg))) <
			    0) {
				fprintf(stderr, "bouncerctl: unknown reason "
				    "\"%s\"\n", optarg);
				return EX_USAGE_;
			}
			break;
		case 'U': until = optarg; break;
		default:
			free(files);
			return bad_usage("suppress add");
		}
	}
	if ((optind >= argc && nfiles == 0) || nstdin > 1) {
		free(files);
		return bad_usage("suppress add");
	}
	if (until != NULL && parse_when(until, now, &u) < 0) {
		fprintf(stderr, "bouncerctl: bad time \"%s\" (never, 30d, "
		    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)\n", until);
		free(files);
		return EX_USAGE_;
	}
	c = load_conf(g);
	st = open_store(g, c);
	eng = engine_new(c, st);
	memset(&ev, 0, sizeof(ev));
	ev.reason = reason;
	ev.decision = D_SUPPRESS;
	ev.source = SRC_MANUAL;
	ev.rule = "manual";
	ev.reply = "suppressed by hand";
	ev.time = now;
	ev.until = u;
	ev.stage = STAGE_UNKNOWN;
	memset(&n, 0, sizeof(n));
	for (i = optind; i < argc; i++) {
		store_normalise(argv[i], key, sizeof(key));
		if (!addr_ok(key)) {
			fprintf(stderr, "bouncerctl: suppress add: argument "
			    "%d: bad address \"%s\"\n", i - optind + 1,
			    argv[i]);
			n.bad++;
			continue;
		}
		suppress_one(eng, st, &ev, key, &n);
	}
	for (i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0)
			suppress_list(eng, st, &ev, stdin, "stdin", &n);
		else if ((fp = fopen(files[i], "r")) == NULL) {
			fprintf(stderr, "bouncerctl: %s: %s\n", files[i],
			    strerror(errno));
			n.bad++;
		} else {
			suppress_list(eng, st, &ev, fp, files[i], &n);
			fclose(fp);
		}
	}
	if (n.inbatch > 0 && store_batch_end(st) < 0)
		n.failed++;
	if (nfiles > 0)
		fprintf(stderr, "bouncerctl: suppress add: %lu suppressed, "
		    "%lu already suppressed, %lu bad, %lu failed\n", n.added,
		    n.already, n.bad, n.failed);
	if (n.failed)
		rc = EX_CONFIG_;
	else if (n.bad)
		rc = EX_USAGE_;
	free(files);
	engine_free(eng);
	store_close(st);
	conf_unref(c);
	return rc;
}

/*
 * A command that lifts what its arguments name (argv[1..]). Each is
 * normalised and checked by ok, else reported with its position (exit
 * status 1); then del lifts it: 1 done, 0 there was nothing (reported
 * as absent; the status stays 0), -1 failed (status 2).
 */
struct remover {
	const char	*cmd;		/* "unsuppress" */
	const char	*what;		/* "address" */
	const char	*hint;		/* after a bad one, or "" */
	const char	*absent;	/* "not suppressed" */
	int		 (*ok)(const char *);
	int		 (*del)(void *arg, const char *key);
};

static int
remove_each(const struct remover *rm, int argc, char **argv, void *arg)
{
	char key[STORE_ADDR_MAX];
	int i, rc = EX_OK_, r;

	for (i = 1; i < argc; i++) {
		store_normalise(argv[i], key, sizeof(key));
		if (!rm->ok(key)) {
			fprintf(stderr, "bouncerctl: %s: argument %d: bad %s "
			    "\"%s\"%s\n", rm->cmd, i, rm->what, argv[i],
			    rm->hint);
			rc = EX_USAGE_;
			continue;
		}
		if ((r = rm->del(arg, key)) < 0)
			rc = EX_CONFIG_;
		else if (r == 0)
			fprintf(stderr, "bouncerctl: %s: %s\n", key,
			    rm->absent);
	}
	return rc;
}

static int
unsuppress_one(void *eng, const char *key)
{
	return engine_unsuppress(eng, key, clock_now());
}

static int
cmd_unsuppress(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct remover rm = { "unsuppress", "address", "",
	    "not suppressed", addr_ok, unsuppress_one };
	struct engine *eng;
	struct store *st;
	struct conf *c;
	int rc;

	if (argc < 2)
		return bad_usage("unsuppress");
	c = load_conf(g);
	st = open_store(g, c);
	eng = engine_new(c, st);
	rc = remove_each(&rm, argc, argv, eng);
	engine_free(eng);
	store_close(st);
	conf_unref(c);
	return rc;
}

static int
cmd_suppress(int argc, char **argv, const struct storecmd_globals *g)
{
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return cmd_suppress_add(argc - 1, argv + 1, g);
	if (argc >= 2 && strcmp(argv[1], "remove") == 0)
		return cmd_unsuppress(argc - 1, argv + 1, g);
	return bad_usage("suppress");
}

/* --- list -------------------------------------------------------------- */

struct list_job {
	int		 state;		/* -1 any; -2 any but none */
	int		 reason;	/* -1 any */
	const char	*domain;
	int		 json;
	unsigned long	 n;
};

static int
list_one(const void *rec, void *arg)
{
	const struct store_rcpt *r = rec;
	struct list_job *j = arg;
	const char *at = strrchr(r->rcpt, '@');
	char t1[32], t2[32];

	if ((j->state == -2 && r->state == RS_NONE) ||
	    (j->state >= 0 && (int)r->state != j->state))
		return 0;
	if (j->reason >= 0 && (int)r->reason != j->reason)
		return 0;
	if (j->domain != NULL && (at == NULL || strcmp(at + 1,
	    j->domain) != 0))
		return 0;
	j->n++;
	fmt_time(r->since, t1, sizeof(t1));
	if (r->until)
		fmt_time(r->until, t2, sizeof(t2));
	else
		snprintf(t2, sizeof(t2), "%s", r->state == RS_NONE ? "-" :
		    "never");
	if (!j->json) {
		printf("%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r->rcpt,
		    rcpt_state_name(r->state), reason_name(r->reason), t1, t2,
		    r->soft_count, *r->rule ? r->rule : "-",
		    *r->provider ? r->provider : "-");
		return 0;
	}
	fputs("{\"recipient\":", stdout);
	json_str(stdout, r->rcpt);
	printf(",\"state\":\"%s\",\"reason\":\"%s\",\"since\":%lld,"
	    "\"until\":%lld,\"soft_failures\":%d,\"rule\":",
	    rcpt_state_name(r->state), reason_name(r->reason), r->since,
	    r->until, r->soft_count);
	json_str(stdout, r->rule);
	json_field(stdout, "provider", r->provider);
	json_field(stdout, "status", r->status);
	json_field(stdout, "source", r->source);
	fputs("}\n", stdout);
	return 0;
}

static int
cmd_list(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct option longopts[] = {
		{ "state", required_argument, NULL, 'S' },
		{ "reason", required_argument, NULL, 'R' },
		{ "domain", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_job j = { -2, -1, NULL, 0, 0 };
	char dom[STORE_DEST_MAX];
	struct store *st;
	struct conf *c;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			if (strcmp(optarg, "all") == 0)
				j.state = -1;
			else if ((j.state = rcpt_state_parse(optarg)) < 0) {
				fprintf(stderr, "bouncerctl: unknown state "
				    "\"%s\" (suppressed, deferred, none, "
				    "all)\n", optarg);
				return EX_USAGE_;
			}
			break;
		case 'R':
			if ((j.reason = reason_parse(optarg,
			    strlen(optarg))) < 0) {
				fprintf(stderr, "bouncerctl: unknown reason "
				    "\"%s\"\n", optarg);
				return EX_USAGE_;
			}
			break;
		case 'D':
			j.domain = store_normalise(optarg, dom, sizeof(dom));
			break;
		case 'j': j.json = 1; break;
		default: return bad_usage("list");
		}
	}
	if (optind < argc)
		return bad_usage("list");
	c = load_conf(g);
	st = open_store(g, c);
	rc = store_iterate(st, SK_RCPT, list_one, &j);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/* --- throttle ---------------------------------------------------------- */

#define REPLY_SHORT	60	/* bytes of a reply in a list line */

/*
 * The reply raw, short, for a list line: code, status and text without
 * the MTA's wrapping (rp parses it; white space is folded to single
 * spaces), cut after REPLY_SHORT bytes, not inside a UTF-8 character,
 * with "..." added. Returns buf (REPLY_SHORT + 4 bytes), or "-" when
 * there is no reply.
 */
static const char *
short_reply(struct reply *rp, const char *raw, char *buf)
{
	char code[16] = "", full[STORE_REPLY_MAX + 32];
	size_t n;

	reply_parse(rp, raw, strlen(raw));
	if (rp->code)
		snprintf(code, sizeof(code), "%d ", rp->code);
	snprintf(full, sizeof(full), "%s%s%s%s", code, rp->status,
	    *rp->status ? " " : "", rp->text);
	if ((n = strlen(full)) > REPLY_SHORT) {
		n = REPLY_SHORT;
		while (n > 0 && ((unsigned char)full[n] & 0xc0) == 0x80)
			n--;
	}
	snprintf(buf, REPLY_SHORT + 4, "%.*s%s", (int)n, full,
	    full[n] != '\0' ? "..." : "");
	return *buf != '\0' ? buf : "-";
}

struct throttle_job {
	long long	 now;
	int		 all;		/* also those that have ended */
	struct store_dest *v;
	size_t		 n, cap;
};

static int
throttle_keep(const void *rec, void *arg)
{
	const struct store_dest *d = rec;
	struct throttle_job *j = arg;

	if (!j->all && d->until <= j->now)
		return 0;
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 16;
		j->v = xreallocarray(j->v, j->cap, sizeof(*j->v));
	}
	j->v[j->n++] = *d;
	return 0;
}

static int
dest_cmp(const void *a, const void *b)
{
	const struct store_dest *x = a, *y = b;

	return strcmp(x->dest, y->dest);
}

static void
throttle_print(const struct store_dest *d, int json, struct reply *rp)
{
	char t[32], reply[REPLY_SHORT + 4];

	if (!json) {
		printf("%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d->dest,
		    reason_name(d->reason), fmt_time(d->until, t, sizeof(t)),
		    d->count, *d->provider ? d->provider : "-",
		    *d->rule ? d->rule : "-", short_reply(rp, d->reply,
		    reply));
		return;
	}
	fputs("{\"destination\":", stdout);
	json_str(stdout, d->dest);
	printf(",\"reason\":\"%s\",\"since\":%lld,\"until\":%lld,"
	    "\"last\":%lld,\"count\":%d", reason_name(d->reason), d->since,
	    d->until, d->last, d->count);
	json_field(stdout, "provider", d->provider);
	json_field(stdout, "rule", d->rule);
	json_field(stdout, "reply", d->reply);
	fputs("}\n", stdout);
}

static int
cmd_throttle_list(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct throttle_job j;
	struct reply rp;
	struct store *st;
	struct conf *c;
	size_t i;
	int ch, json = 0, rc;

	memset(&j, 0, sizeof(j));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': j.all = 1; break;
		case 'j': json = 1; break;
		default: return bad_usage("throttle list");
		}
	}
	if (optind < argc)
		return bad_usage("throttle list");
	j.now = clock_now();
	c = load_conf(g);
	st = open_store(g, c);
	rc = store_iterate(st, SK_DEST, throttle_keep, &j);
	if (j.n > 1)
		qsort(j.v, j.n, sizeof(*j.v), dest_cmp);
	reply_init(&rp);
	for (i = 0; rc == 0 && i < j.n; i++)
		throttle_print(&j.v[i], json, &rp);
	reply_free(&rp);
	free(j.v);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

static int
throttle_del(void *st, const char *key)
{
	return store_del(st, SK_DEST, key);
}

static int
cmd_throttle_remove(int argc, char **argv, const struct storecmd_globals *g)
{
	static const struct remover rm = { "throttle remove", "destination",
	    " (a domain, or provider:NAME)", "not throttled", dest_ok,
	    throttle_del };
	struct store *st;
	struct conf *c;
	int rc;

	if (argc < 2)
		return bad_usage("throttle remove");
	c = load_conf(g);
	st = open_store(g, c);
	rc = remove_each(&rm, argc, argv, st);
	store_close(st);
	conf_unref(c);
	return rc;
}

static int
cmd_throttle(int argc, char **argv, const struct storecmd_globals *g)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return cmd_throttle_list(argc - 1, argv + 1, g);
	if (argc >= 2 && strcmp(argv[1], "remove") == 0)
		return cmd_throttle_remove(argc - 1, argv + 1, g);
	return bad_usage("throttle");
}

/* --- export and import ------------------------------------------------- */

static void
csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	putc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', out);
		putc(*s, out);
	}
	putc('"', out);
}

static int
export_one(const void *rec, void *arg)
{
	char buf[32];
	size_t i;

	(void)arg;
	for (i = 0; store_field_name(SK_RCPT, i) != NULL; i++) {
		if (i)
			putchar(',');
		csv_field(stdout, store_field_get(SK_RCPT, i, rec, buf,
		    sizeof(buf)));
	}
	putchar('\n');
	return 0;
}

static int
cmd_export(int argc, char **argv, const struct storecmd_globals *g)
{
	const char *col;
	struct store *st;
	struct conf *c;
	size_t i;
	int rc;

	if (argc != 1)
		return bad_usage("export");
	c = load_conf(g);
	st = open_store(g, c);
	for (i = 0; (col = store_field_name(SK_RCPT, i)) != NULL; i++)
		printf("%s%s", i ? "," : "", col);
	putchar('\n');
	rc = store_iterate(st, SK_RCPT, export_one, NULL);
	store_close(st);
	conf_unref(c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bouncerctl: export: %s\n", strerror(errno));
		return EX_CONFIG_;
	}
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/*
 * Reads one CSV record (RFC 4180: quoted fields may hold commas,
 * doubled quotes and line breaks) into fields[], pointing into *buf.
 * Returns the number of fields, 0 at end of input, -1 for a quote
 * left open at the end. *lineno advances by the lines consumed.
 */
static int
csv_read(FILE *fp, char **buf, size_t *cap, char **fields, int max,
    unsigned long *lineno)
{
	char *line = NULL, *o;
	size_t lcap = 0, len = 0;
	ssize_t n;
	int nf = 0, inq = 0, c;
	const char *p;

	for (;;) {
		if ((n = getline(&line, &lcap, fp)) < 0) {
			free(line);
			if (len == 0 && !inq)
				return 0;
			if (inq)
				return -1;
			break;
		}
		(*lineno)++;
		if (len + (size_t)n + 2 > *cap) {
			*cap = (len + (size_t)n + 2) * 2;
			*buf = xrealloc(*buf, *cap);
		}
		memcpy(*buf + len, line, (size_t)n);
		len += (size_t)n;
		(*buf)[len] = '\0';
		/* Count quotes to see whether the record continues. */
		for (p = line; *p; p++)
			if (*p == '"')
				inq = !inq;
		if (!inq)
			break;
	}
	free(line);
	while (len > 0 && ((*buf)[len - 1] == '\n' || (*buf)[len - 1] == '\r'))
		(*buf)[--len] = '\0';
	/* Unquote in place. */
	o = *buf;
	p = *buf;
	fields[nf++] = o;
	inq = 0;
	while ((c = *p++) != '\0') {
		if (inq) {
			if (c == '"' && *p == '"') {
				*o++ = '"';
				p++;
			} else if (c == '"')
				inq = 0;
			else
				*o++ = (char)c;
		} else if (c == '"')
			inq = 1;
		else if (c == ',') {
			*o++ = '\0';
			if (nf == max)
				return max + 1;
			fields[nf++] = o;
		} else
			*o++ = (char)c;
	}
	*o = '\0';
	return nf;
}

#define CSV_MAX	32

static int
cmd_import(int argc, char **argv, const struct storecmd_globals *g)
{
	size_t cols[CSV_MAX];	/* field numbers */
	const char *col;
	struct store_rcpt r;
	struct store *st;
	struct conf *c;
	FILE *fp = stdin;
	const char *name = "stdin";
	char *buf = NULL, *f[CSV_MAX + 1];
	size_t cap = 0, i;
	unsigned long lineno = 0, start, good = 0, bad = 0, inbatch = 0;
	long long now = clock_now(), expiry;
	int n, ncols, j, have_state = 0, have_until = 0, rc = EX_OK_;
	int failed = 0;

	if (argc > 2)
		return bad_usage("import");
	if (argc == 2 && strcmp(argv[1], "-") != 0) {
		name = argv[1];
		if ((fp = fopen(name, "r")) == NULL) {
			fprintf(stderr, "bouncerctl: %s: %s\n", name,
			    strerror(errno));
			return EX_USAGE_;
		}
	}
	ncols = csv_read(fp, &buf, &cap, f, CSV_MAX, &lineno);
	if (ncols <= 0 || ncols > CSV_MAX) {
		fprintf(stderr, "bouncerctl: %s:1: expected a header line "
		    "naming the columns (rcpt,state,reason,...)\n", name);
		free(buf);
		if (fp != stdin)
			fclose(fp);
		return EX_USAGE_;
	}
	for (j = 0; j < ncols; j++) {
		for (i = 0; (col = store_field_name(SK_RCPT, i)) != NULL; i++)
			if (strcmp(col, f[j]) == 0)
				break;
		if (col == NULL) {
			fprintf(stderr, "bouncerctl: %s:1: unknown column "
			    "\"%s\"\n", name, f[j]);
			free(buf);
			if (fp != stdin)
				fclose(fp);
			return EX_USAGE_;
		}
		cols[j] = i;
		have_state |= i == 1;
		have_until |= strcmp(f[j], "until") == 0;
	}
	if (cols[0] != 0) {
		fprintf(stderr, "bouncerctl: %s:1: the first column must be "
		    "rcpt\n", name);
		free(buf);
		if (fp != stdin)
			fclose(fp);
		return EX_USAGE_;
	}
	c = load_conf(g);
	expiry = conf_time(c, CONF_SUPPRESS_EXPIRY);
	st = open_store(g, c);
	for (;;) {
		start = lineno + 1;
		if ((n = csv_read(fp, &buf, &cap, f, CSV_MAX, &lineno)) == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "bouncerctl: %s:%lu: quote not "
			    "closed\n", name, start);
			bad++;
			break;
		}
		if (n == 1 && f[0][0] == '\0')
			continue;	/* blank line */
		if (n != ncols) {
			fprintf(stderr, "bouncerctl: %s:%lu: %d fields, the "
			    "header has %d\n", name, start, n, ncols);
			bad++;
			continue;
		}
		memset(&r, 0, sizeof(r));
		r.state = RS_SUPPRESSED;
		r.since = now;
		snprintf(r.source, sizeof(r.source), "import");
		for (j = 0; j < ncols; j++)
			if (store_field_set(SK_RCPT, cols[j], &r, f[j],
			    strlen(f[j])) < 0)
				break;
		if (j < ncols) {
			fprintf(stderr, "bouncerctl: %s:%lu: bad %s \"%s\"\n",
			    name, start, store_field_name(SK_RCPT, cols[j]),
			    f[j]);
			bad++;
			continue;
		}
		store_normalise(r.rcpt, r.rcpt, sizeof(r.rcpt));
		if (!addr_ok(r.rcpt)) {
			fprintf(stderr, "bouncerctl: %s:%lu: bad address "
			    "\"%s\"\n", name, start, f[0]);
			bad++;
			continue;
		}
		if (!have_state)
			r.state = RS_SUPPRESSED;
		if (!have_until && r.state == RS_SUPPRESSED && expiry)
			r.until = now + expiry;
		if (inbatch == 0 && store_batch_begin(st) < 0) {
			failed = 1;
			break;
		}
		if (store_put_rcpt(st, &r) < 0) {
			failed = 1;
			break;
		}
		good++;
		if (++inbatch >= BATCH_ROWS) {
			inbatch = 0;
			if (store_batch_end(st) < 0) {
				failed = 1;
				break;
			}
		}
	}
	if (inbatch > 0 && store_batch_end(st) < 0)
		failed = 1;
	fprintf(stderr, "bouncerctl: import: %lu rows imported, %lu "
	    "rejected\n", failed ? 0 : good, bad);
	free(buf);
	if (fp != stdin)
		fclose(fp);
	store_close(st);
	conf_unref(c);
	if (failed)
		return EX_CONFIG_;
	return bad ? EX_USAGE_ : rc;
}

/* --- stats and expire -------------------------------------------------- */

struct count {
	char		 name[STORE_RULE_MAX];
	unsigned long	 n;
};

struct counts {
	struct count	*v;
	size_t		 n, cap;
};

static void
count_add(struct counts *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].name, name) == 0) {
			c->v[i].n++;
			return;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	snprintf(c->v[c->n].name, sizeof(c->v[c->n].name), "%s", name);
	c->v[c->n++].n = 1;
}

static int
count_cmp(const void *a, const void *b)
{
	const struct count *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

struct stats_job {
	struct counts	 state, reason, provider, rule, dest, alert;
	long long	 now;
};

static int
stats_rcpt(const void *rec, void *arg)
{
	const struct store_rcpt *r = rec;
	struct stats_job *j = arg;
	int live = r->state != RS_NONE && (r->until == 0 || r->until > j->now);

	count_add(&j->state, live ? rcpt_state_name(r->state) :
	    r->state == RS_NONE ? "none" : "expired");
	if (!live)
		return 0;
	count_add(&j->reason, reason_name(r->reason));
	count_add(&j->provider, *r->provider ? r->provider : "-");
	count_add(&j->rule, *r->rule ? r->rule : "-");
	return 0;
}

static int
stats_dest(const void *rec, void *arg)
{
	const struct store_dest *d = rec;
	struct stats_job *j = arg;

	count_add(&j->dest, d->until > j->now ? "throttled" : "expired");
	return 0;
}

static int
stats_alert(const void *rec, void *arg)
{
	const struct store_alert *a = rec;
	struct stats_job *j = arg;

	count_add(&j->alert, a->kind);
	return 0;
}

static void
print_counts(const char *kind, struct counts *c)
{
	size_t i;

	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), count_cmp);
	for (i = 0; i < c->n; i++)
		printf("%s\t%s\t%lu\n", kind, c->v[i].name, c->v[i].n);
	free(c->v);
}

static int
cmd_stats(int argc, char **argv, const struct storecmd_globals *g)
{
	struct stats_job j;
	struct store *st;
	struct conf *c;
	int rc = 0;

	if (argc != 1)
		return bad_usage("stats");
	memset(&j, 0, sizeof(j));
	j.now = clock_now();
	c = load_conf(g);
	st = open_store(g, c);
	rc |= store_iterate(st, SK_RCPT, stats_rcpt, &j);
	rc |= store_iterate(st, SK_DEST, stats_dest, &j);
	rc |= store_iterate(st, SK_ALERT, stats_alert, &j);
	print_counts("state", &j.state);
	print_counts("reason", &j.reason);
	print_counts("provider", &j.provider);
	print_counts("rule", &j.rule);
	print_counts("destination", &j.dest);
	print_counts("alert", &j.alert);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

static int
cmd_expire(int argc, char **argv, const struct storecmd_globals *g)
{
	struct store_expired n;
	struct store *st;
	struct conf *c;
	int rc;

	if (argc != 1)
		return bad_usage("expire");
	c = load_conf(g);
	st = open_store(g, c);
	rc = store_expire(st, clock_now(), conf_time(c, CONF_ALERT_WINDOW), &n);
	printf("expired: %lu recipients, %lu destinations, %lu alerts, %lu "
	    "events, %lu notes\n", n.rcpts, n.dests, n.alerts, n.events,
	    n.notes);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/*
 * bouncerctl status: asks the running bouncerd, at its metrics_listen
 * address, for /status ("name=value" lines: the listeners on, and the
 * parameters its configuration file now sets otherwise, each with
 * sighup or restart) and prints them. Exit 0 when it answered, 2 when
 * it could not be reached.
 */
static int
cmd_status(int argc, char **argv, const struct storecmd_globals *g)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct conf *c;
	struct timeval tv = { 5, 0 };
	const char *spec, *body;
	char *full, *err = NULL, buf[65536];
	size_t n = 0;
	ssize_t r;
	int fd, rc = EX_CONFIG_;

	(void)argv;
	if (argc != 1)
		return bad_usage("status");
	/*
	 * A file with errors is reported, and what it holds that is good
	 * (metrics_listen most of all) is used: bouncerd's answer says
	 * whether a SIGHUP would take the file.
	 */
	c = conf_new();
	if (conf_load(c, g->conf_file ? g->conf_file : CONF_FILE,
	    g->conf_file == NULL, &err) < 0) {
		fprintf(stderr, "%sbouncerctl: status: the configuration has "
		    "errors; asking bouncerd all the same\n", err ? err : "");
	}
	free(err);
	err = NULL;
	for (n = 0; n < (size_t)g->noverrides; n++)
		if (conf_set(c, "-o", g->overrides[n], NULL, &err) < 0) {
			fputs(err, stderr);
			free(err);
			conf_unref(c);
			return EX_CONFIG_;
		}
	n = 0;
	spec = conf_str(c, CONF_METRICS_LISTEN);
	if (*spec == '\0') {
		fprintf(stderr, "bouncerctl: status: metrics_listen is empty: "
		    "bouncerd has no status endpoint\n");
		conf_unref(c);
		return EX_CONFIG_;
	}
	full = strncmp(spec, "inet:", 5) == 0 ? xstrdup(spec) :
	    xasprintf("inet:%s", spec);
	if (listener_parse(full, &ss, &sslen, &err) < 0 ||
	    (fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		fprintf(stderr, "bouncerctl: status: %s\n", err ? err :
		    strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) {
		fprintf(stderr, "bouncerctl: status: bouncerd is not answering "
		    "at %s: %s\n", spec, strerror(errno));
		close(fd);
		goto out;
	}
	dprintf(fd, "GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n");
	while (n < sizeof(buf) - 1 &&
	    (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 9, "200", 3) != 0 ||
	    (body = strstr(buf, "\r\n\r\n")) == NULL) {
		fprintf(stderr, "bouncerctl: status: no status from %s\n",
		    spec);
		goto out;
	}
	fputs(body + 4, stdout);
	rc = EX_OK_;
out:
	free(full);
	free(err);
	conf_unref(c);
	return rc;
}

/* --- backup and restore ------------------------------------------------ */

/*
 * bouncerctl backup FILE: a consistent copy of the store while the
 * daemon runs (store_backup()). bouncerctl restore FILE: the store
 * replaced by such a copy, bouncerd stopped (store_restore()), then
 * opened once so that an older copy is migrated to the schema of this
 * bouncer.
 */
static int
cmd_backup(int argc, char **argv, const struct storecmd_globals *g)
{
	struct store *st;
	struct conf *c;
	char *err = NULL;
	int rc;

	if (argc != 2 || argv[1][0] == '\0')
		return bad_usage("backup");
	c = load_conf(g);
	st = open_store(g, c);
	if ((rc = store_backup(st, argv[1], &err)) < 0)
		fprintf(stderr, "bouncerctl: backup: %s\n", err);
	free(err);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

static int
count_one(const void *rec, void *arg)
{
	(void)rec;
	(*(unsigned long *)arg)++;
	return 0;
}

static int
cmd_restore(int argc, char **argv, const struct storecmd_globals *g)
{
	const char *uri;
	struct store *st;
	struct conf *c;
	char *err = NULL;
	unsigned long n[3] = { 0, 0, 0 };
	int kind, rc = 0;

	if (argc != 2 || argv[1][0] == '\0')
		return bad_usage("restore");
	c = load_conf(g);
	uri = g->store_uri ? g->store_uri : conf_str(c, CONF_STORE);
	if (store_restore(uri, c, argv[1], &err) < 0) {
		fprintf(stderr, "bouncerctl: restore: %s\n", err);
		free(err);
		conf_unref(c);
		return EX_CONFIG_;
	}
	st = open_store(g, c);
	for (kind = SK_RCPT; kind <= SK_ALERT; kind++)
		rc |= store_iterate(st, kind, count_one, &n[kind]);
	if (rc == 0)
		printf("restored %s from %s: %lu recipients, %lu destinations, "
		    "%lu alerts\n", uri, argv[1], n[SK_RCPT], n[SK_DEST],
		    n[SK_ALERT]);
	store_close(st);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/* --- migrate and dump ---------------------------------------------------- */

/*
 * The time that decides which of two records of one key is newer:
 * a recipient's latest event, a destination's latest throttle, an
 * alert's latest sighting.
 */
static long long
rec_last(enum store_kind kind, const void *rec)
{
	switch (kind) {
	case SK_RCPT:
		return ((const struct store_rcpt *)rec)->last_event;
	case SK_DEST:
		return ((const struct store_dest *)rec)->last;
	case SK_ALERT:
		return ((const struct store_alert *)rec)->last;
	}
	return 0;
}

struct keyed {
	char		*key;
	long long	 last;
};

struct keyset {
	enum store_kind	 kind;
	struct keyed	*v;
	size_t		 n, cap;
};

static int
keyset_add(const void *rec, void *arg)
{
	struct keyset *ks = arg;

	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 256;
		ks->v = xreallocarray(ks->v, ks->cap, sizeof(*ks->v));
	}
	ks->v[ks->n].key = xstrdup(store_field_get(ks->kind, 0, rec, NULL,
	    0));
	ks->v[ks->n++].last = rec_last(ks->kind, rec);
	return 0;
}

static int
keyed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct keyed *)a)->key,
	    ((const struct keyed *)b)->key);
}

static void
keyset_free(struct keyset *ks)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		free(ks->v[i].key);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

struct audit_list {
	struct store_audit	*v;
	size_t			 n, cap;
};

static int
audit_keep(const struct store_audit *a, void *arg)
{
	struct audit_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *a;
	return 0;
}

struct migration {
	struct store	*from, *to;
	long long	 oldest;	/* events and notes before: gone */
	unsigned long	 inbatch;	/* writes in the open batch */
	int		 open;		/* a batch is open */
	int		 failed;
	unsigned long	 copied[3], kept[3], audit, events, notes, stale;
};

/* Opens and closes the destination's batches, BATCH_ROWS writes each. */
static void
mig_wrote(struct migration *m, int rc)
{
	if (rc < 0)
		m->failed = 1;
	if (++m->inbatch >= BATCH_ROWS) {
		if (store_batch_end(m->to) < 0)
			m->failed = 1;
		m->inbatch = 0;
		m->open = 0;
	}
}

static void
mig_batch(struct migration *m)
{
	if (m->open)
		return;
	if (store_batch_begin(m->to) < 0)
		m->failed = 1;
	m->open = 1;
}

struct mig_job {
	struct migration	*m;
	enum store_kind		 kind;
	struct keyset		 have;	/* the destination's, sorted */
	struct keyset		 trails; /* the recipients copied */
};

/* One record of the source, as the walk gives it: copied, or kept. */
static int
mig_rec(const void *rec, void *arg)
{
	struct mig_job *j = arg;
	struct migration *m = j->m;
	struct keyed key, *k = NULL;

	key.key = (char *)store_field_get(j->kind, 0, rec, NULL, 0);
	key.last = rec_last(j->kind, rec);
	if (j->have.n > 0)
		k = bsearch(&key, j->have.v, j->have.n, sizeof(*j->have.v),
		    keyed_cmp);
	if (k != NULL && k->last > key.last) {
		m->kept[j->kind]++;
		return 0;
	}
	mig_batch(m);
	switch (j->kind) {
	case SK_RCPT:
		/* Its trail goes too, and replaces the destination's. */
		if (k != NULL) {
			mig_wrote(m, store_del(m->to, SK_RCPT, key.key));
			mig_batch(m);
		}
		mig_wrote(m, store_put_rcpt(m->to, rec));
		keyset_add(rec, &j->trails);
		break;
	case SK_DEST:
		mig_wrote(m, store_put_dest(m->to, rec));
		break;
	case SK_ALERT:
		mig_wrote(m, store_put_alert(m->to, rec));
		break;
	}
	m->copied[j->kind]++;
	return m->failed;
}

/*
 * Copies the records of one kind whose key the destination lacks or
 * holds an older record of (by rec_last(): the newer one wins, so that
 * several MTAs' stores merge into one, and a second run changes
 * nothing), writing them as the walk of the source gives them; then
 * the audit trails of the recipients copied, which the walk's
 * callback may not read (the source's handle is busy walking).
 */
static int
mig_kind(struct migration *m, enum store_kind kind)
{
	struct mig_job j;
	struct audit_list al;
	size_t i, n;

	memset(&j, 0, sizeof(j));
	j.m = m;
	j.kind = j.have.kind = j.trails.kind = kind;
	if (store_iterate(m->to, kind, keyset_add, &j.have) < 0)
		m->failed = 1;
	else {
		if (j.have.n > 1)
			qsort(j.have.v, j.have.n, sizeof(*j.have.v),
			    keyed_cmp);
		if (store_iterate(m->from, kind, mig_rec, &j) < 0)
			m->failed = 1;
	}
	memset(&al, 0, sizeof(al));
	for (i = 0; i < j.trails.n && !m->failed; i++) {
		al.n = 0;
		if (store_audit_list(m->from, j.trails.v[i].key, audit_keep,
		    &al) < 0) {
			m->failed = 1;
			break;
		}
		for (n = 0; n < al.n; n++) {
			mig_batch(m);
			mig_wrote(m, store_audit_add(m->to, j.trails.v[i].key,
			    &al.v[n]));
			m->audit++;
		}
	}
	free(al.v);
	keyset_free(&j.have);
	keyset_free(&j.trails);
	return m->failed ? -1 : 0;
}

/* Event identities and notes, unless older than event_retention. */
static int
mig_id(const char *id, long long time, const char *value, void *arg)
{
	struct migration *m = arg;

	if (time < m->oldest) {
		m->stale++;
		return 0;
	}
	mig_batch(m);
	if (value == NULL) {
		mig_wrote(m, store_event_mark(m->to, id, time));
		m->events++;
	} else {
		mig_wrote(m, store_note_put(m->to, id, value, time));
		m->notes++;
	}
	return m->failed;
}

/*
 * bouncerctl migrate FROM TO: copies every kind of state from one
 * store to another (recipients with their audit trails, destinations,
 * alerts, event identities, notes), e.g. from SQLite to Redis.
 */
static int
cmd_migrate(int argc, char **argv, const struct storecmd_globals *g)
{
	struct migration m;
	struct conf *c;
	char *err = NULL;
	int rc = 0;

	if (argc != 3)
		return bad_usage("migrate");
	if (strcmp(argv[1], argv[2]) == 0) {
		fprintf(stderr, "bouncerctl: migrate: %s: the same store "
		    "twice\n", argv[1]);
		return EX_USAGE_;
	}
	/*
	 * Opening a SQLite store creates it: a misspelt source would not
	 * be an error, only an empty store.
	 */
	if (strncmp(argv[1], "sqlite:", 7) == 0) {
		const char *path = argv[1] + 7;

		if (strncmp(path, "//", 2) == 0)
			path += 2;
		if (access(path, F_OK) < 0) {
			fprintf(stderr, "bouncerctl: migrate: %s: %s\n", path,
			    strerror(errno));
			return EX_CONFIG_;
		}
	}
	memset(&m, 0, sizeof(m));
	c = load_conf(g);
	m.oldest = clock_now() - conf_time(c, CONF_EVENT_RETENTION);
	if ((m.from = store_open(argv[1], c, &err)) == NULL ||
	    (m.to = store_open(argv[2], c, &err)) == NULL) {
		fprintf(stderr, "bouncerctl: migrate: %s\n", err);
		free(err);
		store_close(m.from);
		conf_unref(c);
		return EX_CONFIG_;
	}
	if (mig_kind(&m, SK_DEST) < 0 || mig_kind(&m, SK_ALERT) < 0 ||
	    mig_kind(&m, SK_RCPT) < 0 ||
	    store_iterate_ids(m.from, SI_EVENT, mig_id, &m) < 0 ||
	    store_iterate_ids(m.from, SI_NOTE, mig_id, &m) < 0 || m.failed)
		rc = -1;
	if (m.open && store_batch_end(m.to) < 0)
		rc = -1;
	printf("migrated %s to %s: %lu recipients (%lu audit entries), "
	    "%lu destinations, %lu alerts, %lu events, %lu notes; kept as "
	    "newer at the destination: %lu recipients, %lu destinations, "
	    "%lu alerts; past event_retention: %lu\n", argv[1], argv[2],
	    m.copied[SK_RCPT], m.audit, m.copied[SK_DEST], m.copied[SK_ALERT],
	    m.events, m.notes, m.kept[SK_RCPT], m.kept[SK_DEST],
	    m.kept[SK_ALERT], m.stale);
	if (rc < 0)
		fprintf(stderr, "bouncerctl: migrate: failed; what was copied "
		    "stays, and running it again completes it\n");
	store_close(m.to);
	store_close(m.from);
	conf_unref(c);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/* One CSV line: the kind's name, then each field of rec. */
static int
dump_rec(const void *rec, void *arg)
{
	enum store_kind kind = *(enum store_kind *)arg;
	char buf[32];
	size_t i;

	fputs(kind == SK_RCPT ? "rcpt" : kind == SK_DEST ? "dest" : "alert",
	    stdout);
	for (i = 0; store_field_name(kind, i) != NULL; i++) {
		putchar(',');
		csv_field(stdout, store_field_get(kind, i, rec, buf,
		    sizeof(buf)));
	}
	putchar('\n');
	return 0;
}

static int
dump_audit_one(const struct store_audit *a, void *arg)
{
	const char *rcpt = arg;

	fputs("audit,", stdout);
	csv_field(stdout, rcpt);
	printf(",%lld,", a->time);
	csv_field(stdout, a->old);
	putchar(',');
	csv_field(stdout, a->new);
	putchar(',');
	csv_field(stdout, a->event);
	putchar(',');
	csv_field(stdout, a->rule);
	putchar(',');
	csv_field(stdout, a->reply);
	putchar('\n');
	return 0;
}

static int
dump_id(const char *id, long long time, const char *value, void *arg)
{
	(void)arg;
	fputs(value == NULL ? "event," : "note,", stdout);
	csv_field(stdout, id);
	printf(",%lld", time);
	if (value != NULL) {
		putchar(',');
		csv_field(stdout, value);
	}
	putchar('\n');
	return 0;
}

/*
 * bouncerctl dump: everything in the store, one CSV line per item,
 * the kind first; for reading and comparing (sort it), not for import.
 */
static int
cmd_dump(int argc, char **argv, const struct storecmd_globals *g)
{
	struct keyset rc_keys = { SK_RCPT, NULL, 0, 0 };
	struct store *st;
	struct conf *c;
	enum store_kind kind;
	size_t i;
	int rc = 0;

	(void)argv;
	if (argc != 1)
		return bad_usage("dump");
	c = load_conf(g);
	st = open_store(g, c);
	for (kind = SK_RCPT; kind <= SK_ALERT; kind++)
		if (store_iterate(st, kind, dump_rec, &kind) < 0)
			rc = -1;
	if (store_iterate(st, SK_RCPT, keyset_add, &rc_keys) < 0)
		rc = -1;
	for (i = 0; i < rc_keys.n; i++)
		if (store_audit_list(st, rc_keys.v[i].key, dump_audit_one,
		    rc_keys.v[i].key) < 0)
			rc = -1;
	keyset_free(&rc_keys);
	if (store_iterate_ids(st, SI_EVENT, dump_id, NULL) < 0 ||
	    store_iterate_ids(st, SI_NOTE, dump_id, NULL) < 0)
		rc = -1;
	store_close(st);
	conf_unref(c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "bouncerctl: dump: %s\n", strerror(errno));
		return EX_CONFIG_;
	}
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

int
storecmd_run(int argc, char **argv, const struct storecmd_globals *g)
{
	const char *cmd = argv[0];

	if (strcmp(cmd, "config") == 0)
		return cmd_config(argc, argv, g);
	if (strcmp(cmd, "query") == 0)
		return cmd_query(argc, argv, g);
	if (strcmp(cmd, "ingest") == 0)
		return cmd_ingest(argc, argv, g);
	if (strcmp(cmd, "explain") == 0)
		return cmd_explain(argc, argv, g);
	if (strcmp(cmd, "suppress") == 0)
		return cmd_suppress(argc, argv, g);
	if (strcmp(cmd, "unsuppress") == 0)
		return cmd_unsuppress(argc, argv, g);
	if (strcmp(cmd, "list") == 0)
		return cmd_list(argc, argv, g);
	if (strcmp(cmd, "throttle") == 0)
		return cmd_throttle(argc, argv, g);
	if (strcmp(cmd, "export") == 0)
		return cmd_export(argc, argv, g);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc, argv, g);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(argc, argv, g);
	if (strcmp(cmd, "expire") == 0)
		return cmd_expire(argc, argv, g);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(argc, argv, g);
	if (strcmp(cmd, "backup") == 0)
		return cmd_backup(argc, argv, g);
	if (strcmp(cmd, "restore") == 0)
		return cmd_restore(argc, argv, g);
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate(argc, argv, g);
	if (strcmp(cmd, "dump") == 0)
		return cmd_dump(argc, argv, g);
	return bad_usage(cmd);
}
