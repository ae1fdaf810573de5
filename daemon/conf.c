/*
 * conf.c -- bouncer.conf: the keyword table and its parser
 *
 * The parameters are listed once, in conf.h (CONF_PARAMS), which also
 * says how to add one; params[] below is that list as a table, for the
 * parser. Defaults go through the same parser as the file, so a bad
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
#ifndef RULES_LOCAL_DIR
#define RULES_LOCAL_DIR "/etc/bouncer/rules.d"
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
	int		 start;		/* read at start only */
};

#define W_RELOAD	0
#define W_START		1

/* conf.h's list, as one table in its order. */
#define P_S_(id, name, def, when)				\
	{ #name, P_STR, def, 0, 0, W_##when },
#define P_I_(id, name, def, min, max, when)			\
	{ #name, P_INT, def, min, max, W_##when },
#define P_T_(id, name, def, min, max, when)			\
	{ #name, P_TIME, def, min, max, W_##when },
#define P_B_(id, name, def, when)				\
	{ #name, P_BOOL, def, 0, 0, W_##when },
#define P_N_(id, name, def, min, max, when)			\
	{ #name, P_NUM, def, min, max, W_##when },

static const struct param params[] = {
	CONF_PARAMS(P_S_, P_I_, P_T_, P_B_, P_N_)
};

/* Each parameter's place in params[], by its typed enum. */
enum {
#define A_(id, ...)	A_##id,
	CONF_PARAMS(A_, A_, A_, A_, A_)
#undef A_
	A_COUNT
};
#define AT_(id, ...)	A_##id,
static const unsigned short str_at[] = {
	CONF_PARAMS(AT_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_)
};
static const unsigned short int_at[] = {
	CONF_PARAMS(CONF_SKIP_, AT_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_)
};
static const unsigned short time_at[] = {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, AT_, CONF_SKIP_, CONF_SKIP_)
};
static const unsigned short bool_at[] = {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, AT_, CONF_SKIP_)
};
static const unsigned short num_at[] = {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, AT_)
};
#undef AT_

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

int
conf_param(size_t i, struct conf_param *out)
{
	static const char *const types[] = {
		[P_STR] = "string", [P_INT] = "integer", [P_TIME] = "time",
		[P_BOOL] = "boolean", [P_NUM] = "number",
	};

	if (i >= NPARAMS)
		return 0;
	out->name = params[i].name;
	out->type = types[params[i].type];
	out->def = params[i].def;
	out->start = params[i].start == W_START;
	return 1;
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

const char *
conf_str(const struct conf *c, enum conf_str_param id)
{
	return c->v[str_at[id]].raw;
}

long long
conf_int(const struct conf *c, enum conf_int_param id)
{
	return c->v[int_at[id]].i;
}

long long
conf_time(const struct conf *c, enum conf_time_param id)
{
	return c->v[time_at[id]].i;
}

int
conf_bool(const struct conf *c, enum conf_bool_param id)
{
	return (int)c->v[bool_at[id]].i;
}

double
conf_num(const struct conf *c, enum conf_num_param id)
{
	return c->v[num_at[id]].d;
}

char *
conf_start_changes(const struct conf *a, const struct conf *b)
{
	char *list = NULL, *s;
	size_t i;

	for (i = 0; i < NPARAMS; i++) {
		if (!params[i].start ||
		    strcmp(a->v[i].raw, b->v[i].raw) == 0)
			continue;
		s = xasprintf("%s%s%s", list ? list : "", list ? ", " : "",
		    params[i].name);
		free(list);
		list = s;
	}
	return list;
}

/* Do a and b hold the same value of parameter i? */
static int
same_value(const struct conf *a, const struct conf *b, size_t i)
{
	switch (params[i].type) {
	case P_STR:
		return strcmp(a->v[i].raw, b->v[i].raw) == 0;
	case P_NUM:
		return a->v[i].d == b->v[i].d;
	default:
		return a->v[i].i == b->v[i].i;
	}
}

int
conf_changes(const struct conf *started, const struct conf *now,
    const struct conf *file, conf_change_fn *fn, void *arg)
{
	const struct conf *run;
	size_t i;
	int n = 0;

	for (i = 0; i < NPARAMS; i++) {
		run = params[i].start ? started : now;
		if (same_value(run, file, i))
			continue;
		n++;
		if (fn != NULL)
			fn(params[i].name, run->v[i].raw, file->v[i].raw,
			    params[i].start, arg);
	}
	return n;
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
