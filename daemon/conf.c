/*
 * conf.c -- bouncer.conf: the keyword table and its parser
 *
 * To add a parameter, add one line to params[] below (name, type,
 * default, bounds), document it in man/bouncer.conf.5.in and in
 * conf/bouncer.conf, and read it with conf_str()/conf_time()/... by
 * name. Defaults go through the same parser as the file, so a bad
 * default is caught by the first test that calls conf_new().
 *
 * Syntax as Postfix's main.cf: "name = value"; "#" starts a comment
 * line; a line that starts with white space continues the previous
 * one; the last setting of a name wins.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "xalloc.h"

#ifndef RULES_DIR
#define RULES_DIR "/etc/bouncer/rules"
#endif
#ifndef STATE_DIR
#define STATE_DIR "/var/lib/bouncer"
#endif
#ifndef STORE_DEFAULT
#define STORE_DEFAULT "sqlite:/var/lib/bouncer/state.db"
#endif

enum ptype { P_STR, P_INT, P_TIME, P_BOOL, P_NUM };

struct param {
	const char	*name;
	enum ptype	 type;
	const char	*def;
	double		 min, max;	/* bounds for P_INT, P_TIME, P_NUM */
};

#define DAY	86400.0
#define YEAR	(3650 * DAY)	/* the largest time anything may take */

/* Per-reason suppression expiry and escalation of soft failures. */
#define REASON_PARAMS(r, expiry, count)					\
	{ #r "_expiry", P_TIME, expiry, 0, YEAR },			\
	{ #r "_escalate_count", P_INT, count, 0, 1000 },		\
	{ #r "_escalate_period", P_TIME, "14d", 0, YEAR }

static const struct param params[] = {
	/* the store */
	{ "store",			P_STR,	STORE_DEFAULT, 0, 0 },
	{ "store_password_file",	P_STR,	"", 0, 0 },
	{ "store_timeout",		P_TIME,	"2s", 1, 300 },
	{ "store_busy_timeout",		P_TIME,	"5s", 0, 3600 },
	/* rules */
	{ "rules_dir",			P_STR,	RULES_DIR, 0, 0 },
	/* the daemon, bouncerd(8) */
	{ "maillog_file",		P_STR,	"", 0, 0 },
	{ "syslog_socket",		P_STR,	"", 0, 0 },
	{ "policy_listen",		P_STR,	"inet:127.0.0.1:10040", 0, 0 },
	{ "milter_listen",		P_STR,	"", 0, 0 },
	{ "socketmap_listen",		P_STR,	"", 0, 0 },
	{ "metrics_listen",		P_STR,	"127.0.0.1:9150", 0, 0 },
	{ "alert_command",		P_STR,	"", 0, 0 },
	{ "alert_timeout",		P_TIME,	"10s", 1, 3600 },
	{ "user",			P_STR,	"bouncer", 0, 0 },
	{ "socket_group",		P_STR,	"postfix", 0, 0 },
	{ "state_dir",			P_STR,	STATE_DIR, 0, 0 },
	{ "pid_file",			P_STR,	"", 0, 0 },
	{ "maillog_poll_ms",		P_INT,	"250", 10, 60000 },
	{ "policy_max_conns",		P_INT,	"4096", 1, 1000000 },
	{ "policy_idle_timeout",	P_TIME,	"10m", 1, 86400 },
	{ "policy_request_timeout",	P_TIME,	"10s", 1, 3600 },
	{ "socketmap_max_conns",	P_INT,	"1024", 1, 1000000 },
	{ "socketmap_idle_timeout",	P_TIME,	"10m", 1, 86400 },
	{ "socketmap_request_timeout",	P_TIME,	"10s", 1, 3600 },
	{ "milter_check_rcpt",		P_BOOL,	"yes", 0, 0 },
	{ "milter_bounce_action",	P_STR,	"pass", 0, 0 },
	{ "milter_max_size",		P_INT,	"10485760", 4096,
	    1073741824 },
	{ "milter_max_memory",		P_INT,	"67108864", 65536,
	    17179869184.0 },
	{ "bounce_verify_window",	P_TIME,	"7d", 0, YEAR },
	{ "expire_interval",		P_TIME,	"10m", 10, 86400 },
	/* the engine */
	{ "audit_max",			P_INT,	"20", 1, 1000 },
	{ "event_retention",		P_TIME,	"30d", 3600, YEAR },
	{ "suppress_expiry",		P_TIME,	"365d", 0, YEAR },
	REASON_PARAMS(userunknown, "365d", "0"),
	REASON_PARAMS(hostunknown, "3d", "0"),
	REASON_PARAMS(mailboxfull, "30d", "5"),
	REASON_PARAMS(feedback, "0", "0"),
	REASON_PARAMS(filtered, "30d", "0"),
	REASON_PARAMS(hasmoved, "365d", "0"),
	REASON_PARAMS(notaccept, "30d", "0"),
	REASON_PARAMS(rejected, "30d", "0"),
	REASON_PARAMS(suspend, "90d", "0"),
	{ "success_unsuppress",		P_BOOL,	"yes", 0, 0 },
	{ "retry_backoff_base",		P_TIME,	"1h", 1, YEAR },
	{ "retry_backoff_factor",	P_NUM,	"2", 1, 100 },
	{ "retry_backoff_max",		P_TIME,	"3d", 1, YEAR },
	{ "throttle_backoff",		P_TIME,	"10m", 1, YEAR },
	{ "throttle_backoff_max",	P_TIME,	"6h", 1, YEAR },
	{ "throttle_provider",		P_BOOL,	"yes", 0, 0 },
	{ "alert_window",		P_TIME,	"1h", 1, YEAR },
};

#define NPARAMS	(sizeof(params) / sizeof(params[0]))

struct cval {
	char		*raw;		/* as written */
	long long	 i;		/* P_INT, P_TIME (seconds), P_BOOL */
	double		 d;		/* P_NUM */
};

struct conf {
	int		 refs;
	char		*path;
	struct cval	 v[NPARAMS];
};

static int
param_index(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < NPARAMS; i++)
		if (strlen(params[i].name) == n &&
		    memcmp(params[i].name, name, n) == 0)
			return (int)i;
	return -1;
}

int
conf_known(const char *name)
{
	return param_index(name, strlen(name)) >= 0;
}

int
conf_parse_time(const char *s, long long *out)
{
	char *end;
	long long v, mul = 1;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		case 'w': mul = 7 * 86400; break;
		default: return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v > (long long)(4e18 / (double)mul))
		return -1;
	*out = v * mul;
	return 0;
}

/* Parses value for params[i] into *cv. Returns NULL or a static reason. */
static const char *
parse_value(size_t i, const char *value, struct cval *cv)
{
	const struct param *p = &params[i];
	char *end;
	double d;
	long long ll;

	switch (p->type) {
	case P_STR:
		break;
	case P_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
			cv->i = 1;
		else if (strcmp(value, "no") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "off") == 0 ||
		    strcmp(value, "0") == 0)
			cv->i = 0;
		else
			return "expected yes or no";
		break;
	case P_INT:
		errno = 0;
		ll = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0')
			return "expected an integer";
		if ((double)ll < p->min || (double)ll > p->max)
			return "out of range";
		cv->i = ll;
		break;
	case P_TIME:
		if (conf_parse_time(value, &ll) < 0)
			return "expected a time such as 30s, 10m, 12h, 14d "
			    "or 2w";
		if ((double)ll < p->min || (double)ll > p->max)
			return "out of range";
		cv->i = ll;
		break;
	case P_NUM:
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end != '\0' || !isfinite(d))
			return "expected a number";
		if (d < p->min || d > p->max)
			return "out of range";
		cv->d = d;
		break;
	}
	free(cv->raw);
	cv->raw = xstrdup(value);
	return NULL;
}

static void
range_text(size_t i, char *buf, size_t bufsz)
{
	const struct param *p = &params[i];

	if (p->type == P_TIME)
		snprintf(buf, bufsz, " (%.0fs to %.0fs)", p->min, p->max);
	else if (p->type == P_INT)
		snprintf(buf, bufsz, " (%.0f to %.0f)", p->min, p->max);
	else if (p->type == P_NUM)
		snprintf(buf, bufsz, " (%g to %g)", p->min, p->max);
	else
		buf[0] = '\0';
}

struct conf *
conf_new(void)
{
	struct conf *c;
	const char *why;
	size_t i;

	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	for (i = 0; i < NPARAMS; i++)
		if ((why = parse_value(i, params[i].def, &c->v[i])) != NULL)
			log_panic("conf: default of %s: %s", params[i].name,
			    why);
	return c;
}

struct conf *
conf_ref(struct conf *c)
{
	c->refs++;
	return c;
}

void
conf_unref(struct conf *c)
{
	size_t i;

	if (c == NULL || --c->refs > 0)
		return;
	for (i = 0; i < NPARAMS; i++)
		free(c->v[i].raw);
	free(c->path);
	free(c);
}

/* Appends one formatted line to the growing string *errp. */
static void
err_add(char **errp, const char *fmt, ...)
{
	va_list ap;
	char *line, *s;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		log_panic("conf: out of memory");
	va_end(ap);
	s = xasprintf("%s%s\n", *errp ? *errp : "", line);
	free(line);
	free(*errp);
	*errp = s;
}

/* Sets name (n bytes) to value; on error appends "where: name: why". */
static int
set_one(struct conf *c, const char *where, const char *name, size_t n,
    const char *value, char **errp)
{
	const char *why;
	char range[80];
	int i;

	if ((i = param_index(name, n)) < 0) {
		err_add(errp, "%s: %.*s: unknown parameter", where, (int)n,
		    name);
		return -1;
	}
	if ((why = parse_value((size_t)i, value, &c->v[i])) != NULL) {
		range_text((size_t)i, range, sizeof(range));
		err_add(errp, "%s: %s: bad value \"%s\": %s%s", where,
		    params[i].name, value, why,
		    strcmp(why, "out of range") == 0 ? range : "");
		return -1;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Handles one logical line (continuations joined). */
static int
conf_line(struct conf *c, const char *path, unsigned long lineno, char *line,
    char **errp)
{
	char where[512], *eq, *name, *value;

	snprintf(where, sizeof(where), "%s:%lu", path, lineno);
	if ((eq = strchr(line, '=')) == NULL) {
		err_add(errp, "%s: expected \"name = value\"", where);
		return -1;
	}
	*eq = '\0';
	name = trim(line);
	value = trim(eq + 1);
	if (*name == '\0') {
		err_add(errp, "%s: missing parameter name", where);
		return -1;
	}
	return set_one(c, where, name, strlen(name), value, errp);
}

int
conf_load(struct conf *c, const char *path, int missing_ok, char **errp)
{
	FILE *fp;
	char *line = NULL, *logical = NULL, *p;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0, start = 0;
	int rc = 0;

	*errp = NULL;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && missing_ok)
			return 0;
		err_add(errp, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '#' || *p == '\0')
			continue;	/* as in main.cf: ends nothing */
		if (p != line && logical != NULL) {
			p = xasprintf("%s %s", logical, p);
			free(logical);
			logical = p;
			continue;
		}
		if (logical != NULL && conf_line(c, path, start, logical,
		    errp) < 0)
			rc = -1;
		free(logical);
		logical = NULL;
		if (p != line) {
			err_add(errp, "%s:%lu: continuation line with nothing "
			    "to continue", path, lineno);
			rc = -1;
			continue;
		}
		logical = xstrdup(line);
		start = lineno;
	}
	if (ferror(fp)) {
		err_add(errp, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (logical != NULL && conf_line(c, path, start, logical, errp) < 0)
		rc = -1;
	free(logical);
	free(line);
	fclose(fp);
	free(c->path);
	c->path = xstrdup(path);
	return rc;
}

int
conf_set(struct conf *c, const char *where, const char *name,
    const char *value, char **errp)
{
	const char *eq;
	char *v;
	size_t n;
	int rc;

	*errp = NULL;
	if (value != NULL)
		return set_one(c, where, name, strlen(name), value, errp);
	if ((eq = strchr(name, '=')) == NULL) {
		err_add(errp, "%s: %s: expected name=value", where, name);
		return -1;
	}
	/* "name = value", with blanks around the '=', works too. */
	n = (size_t)(eq - name);
	while (n > 0 && isspace((unsigned char)name[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*name)) {
		name++;
		n--;
	}
	v = xstrdup(eq + 1);
	rc = set_one(c, where, name, n, trim(v), errp);
	free(v);
	return rc;
}

static const struct cval *
get(const struct conf *c, const char *name, enum ptype type)
{
	int i;

	if ((i = param_index(name, strlen(name))) < 0)
		log_panic("conf: no parameter %s", name);
	if (params[i].type != type)
		log_panic("conf: parameter %s read with the wrong type", name);
	return &c->v[i];
}

const char *
conf_str(const struct conf *c, const char *name)
{
	return get(c, name, P_STR)->raw;
}

long long
conf_int(const struct conf *c, const char *name)
{
	return get(c, name, P_INT)->i;
}

long long
conf_time(const struct conf *c, const char *name)
{
	return get(c, name, P_TIME)->i;
}

int
conf_bool(const struct conf *c, const char *name)
{
	return (int)get(c, name, P_BOOL)->i;
}

double
conf_num(const struct conf *c, const char *name)
{
	return get(c, name, P_NUM)->d;
}

const char *
conf_path(const struct conf *c)
{
	return c->path;
}

static int
is_default(const struct conf *c, size_t i)
{
	struct cval d = { NULL, 0, 0 };
	int same;

	if (parse_value(i, params[i].def, &d) != NULL)
		return 0;
	switch (params[i].type) {
	case P_STR:
		same = strcmp(d.raw, c->v[i].raw) == 0;
		break;
	case P_NUM:
		same = d.d == c->v[i].d;
		break;
	default:
		same = d.i == c->v[i].i;
		break;
	}
	free(d.raw);
	return same;
}

int
conf_print(const struct conf *c, FILE *fp, int nondefault, char **names,
    int nnames)
{
	size_t i;
	int j, k, rc = 0;

	if (nnames > 0) {
		for (j = 0; j < nnames; j++) {
			if ((k = param_index(names[j], strlen(names[j]))) < 0) {
				fprintf(stderr, "bouncerctl: %s: unknown "
				    "parameter\n", names[j]);
				rc = -1;
				continue;
			}
			if (!nondefault || !is_default(c, (size_t)k))
				fprintf(fp, "%s = %s\n", params[k].name,
				    c->v[k].raw);
		}
		return rc;
	}
	for (i = 0; i < NPARAMS; i++)
		if (!nondefault || !is_default(c, i))
			fprintf(fp, "%s = %s\n", params[i].name, c->v[i].raw);
	return 0;
}
