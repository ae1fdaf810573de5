/*
 * bouncerctl.c -- the command-line tool: classify replies, test rules
 *
 *   bouncerctl classify [-r DIR] [--json] [--recipients N]	recipient<TAB>reply lines
 *   bouncerctl classify [-r DIR] [--json] --maillog [--summary] [FILE...]
 *   bouncerctl classify-mail [-r DIR] [--json] [-h|-H] FILE...	bounce e-mails
 *   bouncerctl rules test [-r DIR]
 *   bouncerctl rules list [-r DIR] [--maillog FILE...]
 *   bouncerctl blocklist check|list	(blocklistcmd.c)
 *
 * Each command that loads rules also takes -l DIR, the local rules read
 * first (by default RULES_LOCAL_DIR, unless -r is given), and -x
 * FILE.rules|PROVIDER:RULE (repeatable) to leave those rules out.
 *
 * Exit status as postmap(1): 0 ok, 1 usage (or failed test vectors), 2
 * configuration or rules error. See bouncerctl(8).
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklistcmd.h"
#include "classify.h"
#include "clock.h"
#include "dsn.h"
#include "lineio.h"
#include "log.h"
#include "logline.h"
#include "mime.h"
#include "rules.h"
#include "store.h"
#include "storecmd.h"
#include "xalloc.h"

#ifndef RULES_DIR
#define RULES_DIR "/etc/bouncer/rules"
#endif
#ifndef RULES_LOCAL_DIR
#define RULES_LOCAL_DIR "/etc/bouncer/rules.d"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define EX_OK_		0
#define EX_USAGE_	1
#define EX_CONFIG_	2

#define LINE_MAX_IN	(64 * 1024)
#define MAILLOG_LINE_MAX (256 * 1024)

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: bouncerctl classify [-r rulesdir] [-l localdir] [-x rule] [--json] [--recipients n] < recipient-TAB-reply lines\n"
	    "       bouncerctl classify [-r rulesdir] [-l localdir] [-x rule] [--json] --maillog [--summary] [file ...]\n"
	    "       bouncerctl classify-mail [-r rulesdir] [-l localdir] [-x rule] [--json] [-h|-H] [--max-size n] file ...\n"
	    "       bouncerctl rules test [-r rulesdir] [-l localdir] [-x rule]\n"
	    "       bouncerctl rules list [-r rulesdir] [-l localdir] [-x rule] [--maillog file ...]\n"
	    "       (-l: local rules read first, replacing stock files of the same name;\n"
	    "        -x file.rules or -x provider:rule, repeatable: leave it out)\n"
	    "       bouncerctl --version\n");
	storecmd_usage(fp);
	blocklistcmd_usage(fp);
}

/*
 * The rules the -x options leave out. The names point into argv; the
 * array is the command's, freed with without_free().
 */
struct without {
	const char	**names;
	size_t		  n;
};

static void
without_add(struct without *wo, const char *name)
{
	wo->names = xreallocarray(wo->names, wo->n + 1, sizeof(*wo->names));
	wo->names[wo->n++] = name;
}

static void
without_free(struct without *wo)
{
	free(wo->names);
	wo->names = NULL;
	wo->n = 0;
}

/*
 * Loads the rules of local (-l) and dir (-r) less those of wo, then
 * frees wo; exits if not. Without -l, the default local directory goes
 * with the default dir only, and may not exist; a local directory
 * named with -l must be there.
 */
static struct ruleset *
load_rules(const char *local, const char *dir, struct without *wo)
{
	struct ruleset *rs;
	struct stat sb;
	char *err = NULL;

	if (local == NULL)
		local = dir == NULL ? RULES_LOCAL_DIR : "";
	else if (*local != '\0' && stat(local, &sb) < 0) {
		fprintf(stderr, "bouncerctl: -l %s: %s\n", local,
		    strerror(errno));
		without_free(wo);
		exit(EX_CONFIG_);
	}
	if (dir == NULL)
		dir = RULES_DIR;
	rs = ruleset_load_local(local, dir, wo->names, wo->n, &err);
	without_free(wo);
	if (rs == NULL) {
		fputs(err, stderr);
		if (*local != '\0')
			fprintf(stderr, "bouncerctl: rules in %s and %s not "
			    "loaded\n", local, dir);
		else
			fprintf(stderr, "bouncerctl: rules in %s not loaded\n",
			    dir);
		free(err);
		exit(EX_CONFIG_);
	}
	return rs;
}

/*
 * A usage error in a command that reads rules: says fmt (printf style)
 * after "bouncerctl: ", or with fmt NULL prints the usage, and frees
 * wo. Returns EX_USAGE_, the command's exit status.
 */
static int
usage_error(struct without *wo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(struct without *wo, const char *fmt, ...)
{
	va_list ap;

	without_free(wo);
	if (fmt == NULL) {
		usage(stderr);
		return EX_USAGE_;
	}
	fputs("bouncerctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EX_USAGE_;
}

/* --- output ---------------------------------------------------------- */

static void
json_str(FILE *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	putc('"', out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else
			putc(c, out);
	}
	putc('"', out);
}

/* ,"details":{...} from "k=v k=v flag" (a flag is true). */
static void
json_details(FILE *out, const char *details)
{
	const char *p, *w, *eq;
	int first;

	fputs(",\"details\":{", out);
	for (p = details, first = 1; *p; first = 0) {
		while (*p == ' ')
			p++;
		for (w = p; *p && *p != ' '; p++)
			;
		if (p == w)
			break;
		if (!first)
			putc(',', out);
		if ((eq = memchr(w, '=', (size_t)(p - w))) != NULL) {
			json_str(out, w, (size_t)(eq - w));
			putc(':', out);
			json_str(out, eq + 1, (size_t)(p - eq - 1));
		} else {
			json_str(out, w, (size_t)(p - w));
			fputs(":true", out);
		}
	}
	putc('}', out);
}

/* A field for the TSV form: tabs and newlines would break the line. */
static void
tsv_str(FILE *out, const char *s, size_t n)
{
	size_t i;

	if (n == 0) {
		putc('-', out);
		return;
	}
	for (i = 0; i < n; i++)
		putc(s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ? ' ' : s[i],
		    out);
}

struct result {
	const char		*rcpt;
	size_t			 rcptlen;
	enum reason		 reason;
	unsigned		 decision;
	const char		*status;
	int			 code;
	const char		*provider;
	const char		*rule;
	const char		*details;
};

static void
print_result(FILE *out, const struct result *r, int json)
{
	char dec[64];
	const char *p, *w;
	int first;

	decision_format(r->decision, dec, sizeof(dec));
	if (!json) {
		tsv_str(out, r->rcpt, r->rcptlen);
		fprintf(out, "\t%s\t%s\t%s\t", reason_name(r->reason), dec,
		    *r->status ? r->status : "-");
		if (r->code)
			fprintf(out, "%d", r->code);
		else
			putc('-', out);
		fprintf(out, "\t%s\t%s\t", r->provider, r->rule);
		tsv_str(out, r->details, strlen(r->details));
		putc('\n', out);
		return;
	}
	fputs("{\"recipient\":", out);
	json_str(out, r->rcpt, r->rcptlen);
	fprintf(out, ",\"reason\":\"%s\",\"decision\":[", reason_name(r->reason));
	for (p = dec, first = 1; r->decision && *p; first = 0) {
		for (w = p; *p && *p != ','; p++)
			;
		fprintf(out, "%s\"%.*s\"", first ? "" : ",", (int)(p - w), w);
		if (*p)
			p++;
	}
	fputs("],\"status\":", out);
	if (*r->status)
		json_str(out, r->status, strlen(r->status));
	else
		fputs("null", out);
	if (r->code)
		fprintf(out, ",\"code\":%d", r->code);
	else
		fputs(",\"code\":null", out);
	fputs(",\"provider\":", out);
	if (strcmp(r->provider, "-") != 0)
		json_str(out, r->provider, strlen(r->provider));
	else
		fputs("null", out);
	fputs(",\"rule\":", out);
	if (strcmp(r->rule, "-") != 0)
		json_str(out, r->rule, strlen(r->rule));
	else
		fputs("null", out);
	json_details(out, r->details);
	fputs("}\n", out);
}

static void
print_classification(FILE *out, const char *rcpt, size_t rcptlen,
    const struct classification *cl, int json)
{
	struct result r;
	char rule[300];

	r.rcpt = rcpt;
	r.rcptlen = rcptlen;
	r.reason = cl->reason;
	r.decision = cl->decision;
	r.status = cl->status;
	r.code = cl->code;
	r.provider = provider_name(cl->provider);
	r.rule = classification_rule(cl, rule, sizeof(rule));
	r.details = cl->details;
	print_result(out, &r, json);
}

static void
print_error(FILE *out, const char *rcpt, size_t rcptlen, const char *error,
    int json)
{
	struct result r;
	char details[64];

	snprintf(details, sizeof(details), "error=%s", error);
	memset(&r, 0, sizeof(r));
	r.rcpt = rcpt;
	r.rcptlen = rcptlen;
	r.reason = R_UNDEFINED;
	r.status = "";
	r.provider = "-";
	r.rule = "-";
	r.details = details;
	print_result(out, &r, json);
}

/* --- classify --------------------------------------------------------- */

static int
classify_stdin(const struct ruleset *rs, int json, size_t nrcpt)
{
	struct classification cl;
	struct classifier *c;
	struct lineio *in;
	const char *line, *tab;
	unsigned long lineno = 0;
	size_t len;
	int overlong;

	if ((c = classifier_new(rs)) == NULL) {
		fprintf(stderr, "bouncerctl: out of memory\n");
		return EX_CONFIG_;
	}
	classifier_transaction(c, nrcpt, STAGE_UNKNOWN);
	in = lineio_open(stdin, LINE_MAX_IN);
	while ((line = lineio_read(in, &len, &overlong)) != NULL) {
		lineno++;
		tab = memchr(line, '\t', len);
		if (overlong) {
			fprintf(stderr, "bouncerctl: stdin:%lu: line longer "
			    "than %d bytes\n", lineno, LINE_MAX_IN);
			print_error(stdout, line, tab ? (size_t)(tab - line) :
			    0, "too-long", json);
		} else if (!utf8_valid(line, len)) {
			fprintf(stderr, "bouncerctl: stdin:%lu: invalid "
			    "UTF-8\n", lineno);
			print_error(stdout, "", 0, "invalid-utf8", json);
		} else if (tab == NULL) {
			fprintf(stderr, "bouncerctl: stdin:%lu: no tab between "
			    "recipient and reply\n", lineno);
			print_error(stdout, "", 0, "no-tab", json);
		} else {
			char rcpt[1024];
			size_t rn = (size_t)(tab - line);

			snprintf(rcpt, sizeof(rcpt), "%.*s", (int)rn, line);
			classify(c, rs, rcpt, tab + 1, len - rn - 1, NULL, NULL,
			    &cl);
			/*
			 * No recipient given, but the application that
			 * reported the reply names one: it is the reply's.
			 */
			if (rn == 0 && cl.reply->mailboxlen > 0 &&
			    cl.reply->mailboxlen < sizeof(rcpt)) {
				rn = cl.reply->mailboxlen;
				memcpy(rcpt, cl.reply->mailbox, rn);
				rcpt[rn] = '\0';
				classify(c, rs, rcpt, tab + 1, len - 1, NULL,
				    NULL, &cl);
			}
			print_classification(stdout, rcpt, rn, &cl, json);
		}
	}
	if (ferror(stdin)) {
		fprintf(stderr, "bouncerctl: stdin: %s\n", strerror(errno));
		lineio_close(in);
		classifier_free(c);
		return EX_CONFIG_;
	}
	lineio_close(in);
	classifier_free(c);
	fflush(stdout);
	return EX_OK_;
}

/* Counts of (provider, reason, decision) for --summary. */
struct tally {
	const char	*provider;
	enum reason	 reason;
	unsigned	 decision;
	unsigned long	 count;
};

struct maillog_job {
	const struct ruleset	*rs;
	struct classifier	*c;
	int			 json;
	int			 summary;
	struct tally		*tallies;
	size_t			 ntallies;
	unsigned long		*hits;		/* per rule index, or NULL */
	unsigned long		 nohit;
};

static void
tally(struct maillog_job *job, const struct classification *cl)
{
	const char *prov = provider_name(cl->provider);
	size_t i;

	for (i = 0; i < job->ntallies; i++) {
		struct tally *t = &job->tallies[i];

		if (t->provider == prov && t->reason == cl->reason &&
		    t->decision == cl->decision) {
			t->count++;
			return;
		}
	}
	job->tallies = xreallocarray(job->tallies, job->ntallies + 1,
	    sizeof(*job->tallies));
	job->tallies[job->ntallies++] = (struct tally){ prov, cl->reason,
	    cl->decision, 1 };
}

static int
tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	int c;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if ((c = strcmp(x->provider, y->provider)) != 0)
		return c;
	return strcmp(reason_name(x->reason), reason_name(y->reason));
}

/*
 * Classifies what bouncerd would take as evidence: failures a remote
 * server answered (logline.h), whatever their time stamp.
 */
static int
maillog_fp(struct maillog_job *job, FILE *fp, const char *name)
{
	struct logline ll;
	struct maillog_entry e;
	struct classification cl;
	struct lineio *in;
	const char *line;
	char rcpt[1024], dsn[16], relay[256];
	size_t len, pos;
	long long now = clock_now();
	int overlong;

	in = lineio_open(fp, MAILLOG_LINE_MAX);
	while ((line = lineio_read(in, &len, &overlong)) != NULL) {
		if (logline_read(line, len, now, &ll) != LL_FAILED &&
		    !(ll.kind == LL_BADTIME && ll.why == NULL &&
		    ll.e.status != ML_SENT))
			continue;
		e = ll.e;
		snprintf(dsn, sizeof(dsn), "%.*s", (int)e.dsn.n, e.dsn.p);
		snprintf(relay, sizeof(relay), "%.*s", (int)e.relay.n,
		    e.relay.p);
		for (pos = 0; maillog_next_rcpt(&e, &pos, rcpt, sizeof(rcpt));) {
			classify(job->c, job->rs, rcpt, e.text.p, e.text.n,
			    dsn[0] ? dsn : NULL, relay, &cl);
			logline_shape(&e, &cl);
			if (job->hits != NULL) {
				if (cl.rule != NULL)
					job->hits[cl.rule->index]++;
				else
					job->nohit++;
			} else if (job->summary)
				tally(job, &cl);
			else
				print_classification(stdout, rcpt,
				    strlen(rcpt), &cl, job->json);
		}
	}
	lineio_close(in);
	if (ferror(fp)) {
		fprintf(stderr, "bouncerctl: %s: %s\n", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
maillog_files(struct maillog_job *job, char **files, int nfiles)
{
	int i, rc = 0;
	FILE *fp;

	if ((job->c = classifier_new(job->rs)) == NULL)
		return -1;
	if (nfiles == 0)
		rc = maillog_fp(job, stdin, "stdin");
	for (i = 0; i < nfiles; i++) {
		if (strcmp(files[i], "-") == 0) {
			rc |= maillog_fp(job, stdin, "stdin");
			continue;
		}
		if ((fp = fopen(files[i], "r")) == NULL) {
			fprintf(stderr, "bouncerctl: %s: %s\n", files[i],
			    strerror(errno));
			rc = -1;
			continue;
		}
		rc |= maillog_fp(job, fp, files[i]);
		fclose(fp);
	}
	classifier_free(job->c);
	job->c = NULL;
	return rc;
}

static int
cmd_classify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "maillog", no_argument, NULL, 'm' },
		{ "summary", no_argument, NULL, 'S' },
		{ "rules", required_argument, NULL, 'r' },
		{ "recipients", required_argument, NULL, 'n' },
		{ "without", required_argument, NULL, 'x' },
		{ "local", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct maillog_job job;
	struct without wo = { NULL, 0 };
	const char *dir = NULL, *local = NULL;
	struct ruleset *rs;
	int ch, maillog = 0, json = 0, summary = 0, rc;
	size_t i, nrcpt = 0;
	char *end;

	while ((ch = getopt_long(argc, argv, "r:l:x:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': dir = optarg; break;
		case 'l': local = optarg; break;
		case 'x': without_add(&wo, optarg); break;
		case 'j': json = 1; break;
		case 'm': maillog = 1; break;
		case 'S': summary = 1; break;
		case 'n':
			errno = 0;
			nrcpt = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' ||
			    *optarg == '-' || nrcpt == 0) {
				return usage_error(&wo, "--recipients: want "
				    "a count of 1 or more, not \"%s\"", optarg);
			}
			break;
		default:
			return usage_error(&wo, NULL);
		}
	}
	if ((summary && !maillog) || (!maillog && optind < argc) ||
	    (maillog && nrcpt))
		return usage_error(&wo, NULL);
	rs = load_rules(local, dir, &wo);
	if (!maillog) {
		rc = classify_stdin(rs, json, nrcpt);
		ruleset_unref(rs);
		return rc;
	}
	memset(&job, 0, sizeof(job));
	job.rs = rs;
	job.json = json;
	job.summary = summary;
	rc = maillog_files(&job, argv + optind, argc - optind);
	if (summary) {
		char dec[64];

		qsort(job.tallies, job.ntallies, sizeof(*job.tallies),
		    tally_cmp);
		for (i = 0; i < job.ntallies; i++)
			printf("%lu\t%s\t%s\t%s\n", job.tallies[i].count,
			    job.tallies[i].provider,
			    reason_name(job.tallies[i].reason),
			    decision_format(job.tallies[i].decision, dec,
			    sizeof(dec)));
		free(job.tallies);
	}
	ruleset_unref(rs);
	return rc < 0 ? EX_CONFIG_ : EX_OK_;
}

/* --- classify-mail ---------------------------------------------------- */

#define MAIL_MAX_DEFAULT	(10 * 1024 * 1024)

/*
 * Reads at most max bytes of fp into *bufp (grown as needed). Sets
 * *truncated when more was there. Returns the length, or -1 on a read
 * error.
 */
static long
read_bounded(FILE *fp, char **bufp, size_t *bufszp, size_t max,
    int *truncated)
{
	size_t len = 0, n;

	*truncated = 0;
	for (;;) {
		if (len == *bufszp) {
			if (*bufszp >= max + 1)
				break;
			*bufszp = *bufszp ? *bufszp * 2 : 64 * 1024;
			if (*bufszp > max + 1)
				*bufszp = max + 1;
			*bufp = xrealloc(*bufp, *bufszp);
		}
		n = fread(*bufp + len, 1, *bufszp - len, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp))
		return -1;
	if (len > max) {
		*truncated = 1;
		len = max;
	}
	return (long)len;
}

/* Parses a size: "10485760", "512k", "10M", "1G". */
static int
parse_size(const char *s, size_t *out)
{
	char *e;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno || e == s)
		return -1;
	switch (*e) {
	case 'k': case 'K': v <<= 10; e++; break;
	case 'm': case 'M': v <<= 20; e++; break;
	case 'g': case 'G': v <<= 30; e++; break;
	}
	if (*e != '\0' || v == 0 || v > (1ULL << 32))
		return -1;
	*out = (size_t)v;
	return 0;
}

static void
print_mail_result(FILE *out, const char *prefix, const struct dsn_rcpt *r,
    const struct dsn_report *rep, const struct dsn_result *res, int json)
{
	const struct classification *cl = &res->cl;
	char dec[64], rule[300];
	const char *p, *w;
	int first;

	decision_format(cl->decision, dec, sizeof(dec));
	classification_rule(cl, rule, sizeof(rule));
	if (!json) {
		if (prefix != NULL)
			fprintf(out, "%s\t", prefix);
		tsv_str(out, r->rcpt, strlen(r->rcpt));
		fprintf(out, "\t%s\t%s\t", *cl->status ? cl->status : "-",
		    reason_name(cl->reason));
		if (cl->code)
			fprintf(out, "%d", cl->code);
		else
			putc('-', out);
		fprintf(out, "\t%d\t%s\t%s\n", res->hardbounce, dec, rule);
		return;
	}
	putc('{', out);
	if (prefix != NULL) {
		fputs("\"file\":", out);
		json_str(out, prefix, strlen(prefix));
		putc(',', out);
	}
	fputs("\"recipient\":", out);
	json_str(out, r->rcpt, strlen(r->rcpt));
	fputs(",\"status\":", out);
	if (*cl->status)
		json_str(out, cl->status, strlen(cl->status));
	else
		fputs("null", out);
	fprintf(out, ",\"reason\":\"%s\"", reason_name(cl->reason));
	if (cl->code)
		fprintf(out, ",\"replycode\":%d", cl->code);
	else
		fputs(",\"replycode\":null", out);
	fprintf(out, ",\"hardbounce\":%s,\"decision\":[",
	    res->hardbounce ? "true" : "false");
	for (p = dec, first = 1; cl->decision && *p; first = 0) {
		for (w = p; *p && *p != ','; p++)
			;
		fprintf(out, "%s\"%.*s\"", first ? "" : ",", (int)(p - w), w);
		if (*p)
			p++;
	}
	fputs("],\"rule\":", out);
	if (strcmp(rule, "-") != 0)
		json_str(out, rule, strlen(rule));
	else
		fputs("null", out);
	fprintf(out, ",\"kind\":\"%s\"", dsn_kind_name(rep->kind));
	fputs(",\"action\":", out);
	if (r->action != NULL)
		json_str(out, r->action, strlen(r->action));
	else
		fputs("null", out);
#define JSON_OPT(key, v) do {						\
	fputs(",\"" key "\":", out);					\
	if ((v) != NULL)						\
		json_str(out, (v), strlen(v));				\
	else								\
		fputs("null", out);					\
} while (0)
	JSON_OPT("remote_mta", r->remote_mta);
	JSON_OPT("reporting_mta", rep->reporting_mta);
	JSON_OPT("queue_id", rep->queue_id);
	JSON_OPT("arrival_date", rep->arrival_date);
	JSON_OPT("message_id", rep->message_id);
#undef JSON_OPT
	fputs(",\"diagnostic\":", out);
	json_str(out, r->diag, r->diaglen > 1024 ? 1024 : r->diaglen);
	json_details(out, cl->details);
	fputs("}\n", out);
}

/*
 * bouncerctl classify-mail [-r DIR] [--json] [-h|-H] [--max-size N]
 * FILE...: one line per bounced recipient of each bounce e-mail.
 */
static int
cmd_classify_mail(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rules", required_argument, NULL, 'r' },
		{ "max-size", required_argument, NULL, 'M' },
		{ "no-filename", no_argument, NULL, 'h' },
		{ "with-filename", no_argument, NULL, 'H' },
		{ "without", required_argument, NULL, 'x' },
		{ "local", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct without wo = { NULL, 0 };
	const char *dir = NULL, *local = NULL, *name;
	struct dsn_parser *dp;
	struct dsn_report rep;
	struct dsn_result res;
	struct classifier *c;
	struct ruleset *rs;
	size_t max = MAIL_MAX_DEFAULT, bufsz = 0, i;
	char *buf = NULL;
	int ch, json = 0, prefix = -1, nfiles, f, rc = EX_OK_, truncated;
	long len;
	FILE *fp;

	while ((ch = getopt_long(argc, argv, "r:l:x:hHM:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'r': dir = optarg; break;
		case 'l': local = optarg; break;
		case 'x': without_add(&wo, optarg); break;
		case 'j': json = 1; break;
		case 'h': prefix = 0; break;
		case 'H': prefix = 1; break;
		case 'M':
			if (parse_size(optarg, &max) < 0) {
				return usage_error(&wo, "bad size \"%s\"",
				    optarg);
			}
			break;
		default:
			return usage_error(&wo, NULL);
		}
	}
	nfiles = argc - optind;
	if (nfiles == 0)
		return usage_error(&wo, NULL);
	if (prefix == -1)
		prefix = nfiles > 1;
	rs = load_rules(local, dir, &wo);
	if ((c = classifier_new(rs)) == NULL) {
		fprintf(stderr, "bouncerctl: out of memory\n");
		ruleset_unref(rs);
		return EX_CONFIG_;
	}
	dp = dsn_parser_new();
	for (f = optind; f < argc; f++) {
		int is_stdin = strcmp(argv[f], "-") == 0;

		name = is_stdin ? "(standard input)" : argv[f];
		if (is_stdin)
			fp = stdin;
		else if ((fp = fopen(argv[f], "r")) == NULL) {
			fprintf(stderr, "bouncerctl: %s: %s\n", argv[f],
			    strerror(errno));
			rc = EX_USAGE_;
			continue;
		}
		len = read_bounded(fp, &buf, &bufsz, max, &truncated);
		if (len < 0) {
			fprintf(stderr, "bouncerctl: %s: %s\n", name,
			    strerror(errno));
			rc = EX_USAGE_;
			if (!is_stdin)
				fclose(fp);
			continue;
		}
		if (!is_stdin)
			fclose(fp);
		if (truncated)
			fprintf(stderr, "bouncerctl: %s: larger than %zu "
			    "bytes; parsing the first %zu\n", name, max, max);
		dsn_parse(dp, buf, (size_t)len, &rep);
		if (len == 0)
			fprintf(stderr, "bouncerctl: %s: empty message\n",
			    name);
		else if (rep.nheaders == 0 && !rep.bare)
			fprintf(stderr, "bouncerctl: %s: malformed message: "
			    "no header fields\n", name);
		else if (rep.mimeflags & MIME_F_NOBOUNDARY)
			fprintf(stderr, "bouncerctl: %s: multipart without "
			    "its boundary; read as one text part\n", name);
		for (i = 0; i < rep.nrcpts; i++) {
			dsn_classify(c, rs, &rep, i, &res);
			print_mail_result(stdout, prefix ? name : NULL,
			    &rep.rcpts[i], &rep, &res, json);
		}
	}
	free(buf);
	dsn_parser_free(dp);
	classifier_free(c);
	ruleset_unref(rs);
	fflush(stdout);
	return rc;
}

/* --- rules ------------------------------------------------------------ */

static int
cmd_rules(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "maillog", no_argument, NULL, 'm' },
		{ "rules", required_argument, NULL, 'r' },
		{ "without", required_argument, NULL, 'x' },
		{ "local", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	const struct rule *const *rules;
	struct maillog_job job;
	struct without wo = { NULL, 0 };
	const struct rule_test *tests;
	const char *dir = NULL, *local = NULL, *sub;
	struct ruleset *rs;
	size_t n, i, failed, ntests, ndiffer, nover;
	int ch, maillog = 0, rc = EX_OK_;
	char dec[64];

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE_;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "r:l:x:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r': dir = optarg; break;
		case 'l': local = optarg; break;
		case 'x': without_add(&wo, optarg); break;
		case 'm': maillog = 1; break;
		default:
			return usage_error(&wo, NULL);
		}
	}
	if (strcmp(sub, "test") == 0) {
		if (maillog || optind < argc)
			return usage_error(&wo, NULL);
		rs = load_rules(local, dir, &wo);
		failed = classify_run_tests(rs, stdout, &ntests, &ndiffer);
		tests = ruleset_tests(rs, &n);
		for (i = 0, nover = 0; i < n; i++)
			nover += tests[i].overridden != NULL;
		fprintf(failed ? stdout : stderr, "bouncerctl: %zu of %zu "
		    "test vectors failed\n", failed, ntests - nover);
		if (nover)
			fprintf(stderr, "bouncerctl: %zu test vectors of "
			    "overridden stock files, %zu answered otherwise "
			    "by the local rules (not failures)\n", nover,
			    ndiffer);
		ruleset_unref(rs);
		return failed ? EX_USAGE_ : EX_OK_;
	}
	if (strcmp(sub, "list") != 0 || (!maillog && optind < argc))
		return usage_error(&wo, NULL);
	rs = load_rules(local, dir, &wo);
	rules = ruleset_rules(rs, &n);
	memset(&job, 0, sizeof(job));
	if (maillog) {
		job.rs = rs;
		job.hits = xcalloc(n ? n : 1, sizeof(*job.hits));
		if (maillog_files(&job, argv + optind, argc - optind) < 0)
			rc = EX_CONFIG_;
	}
	for (i = 0; i < n; i++) {
		const struct rule *r = rules[i];

		printf("%s:%d\t%s\t%s\t%s\t%s", r->file, r->line,
		    provider_name(r->provider), r->name, reason_name(r->reason),
		    decision_format(r->decision, dec, sizeof(dec)));
		if (maillog)
			printf("\t%lu", job.hits[r->index]);
		putchar('\n');
	}
	if (maillog)
		printf("-\t-\t(no rule)\tundefined\t-\t%lu\n", job.nohit);
	free(job.hits);
	ruleset_unref(rs);
	return rc;
}

int
main(int argc, char **argv)
{
	struct storecmd_globals g;
	int cmd, rc;

	xalloc_init();
	log_init("bouncerctl", 0, 0);
	/* Global options (-c, -o, -s) come before the command. */
	if ((cmd = storecmd_globals(argc, argv, &g)) < 0)
		return EX_USAGE_;
	if (cmd < argc && storecmd_known(argv[cmd])) {
		rc = storecmd_run(argc - cmd, argv + cmd, &g);
		free(g.overrides);
		return rc;
	}
	if (cmd < argc && strcmp(argv[cmd], "blocklist") == 0) {
		rc = blocklistcmd_run(argc - cmd, argv + cmd, &g);
		free(g.overrides);
		return rc;
	}
	free(g.overrides);
	argc -= cmd - 1;
	argv += cmd - 1;
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("bouncerctl %s\nstores: %s\n", PACKAGE_VERSION,
		    store_types());
		return EX_OK_;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return EX_OK_;
	}
	if (strcmp(argv[1], "classify") == 0)
		return cmd_classify(argc - 1, argv + 1);
	if (strcmp(argv[1], "classify-mail") == 0)
		return cmd_classify_mail(argc - 1, argv + 1);
	if (strcmp(argv[1], "rules") == 0)
		return cmd_rules(argc - 1, argv + 1);
	fprintf(stderr, "bouncerctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return EX_USAGE_;
}
