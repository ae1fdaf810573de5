/*
 * conf.h -- bouncer.conf: "name = value" lines, as in Postfix's main.cf
 *
 * One keyword table (conf.c) gives every parameter its type, default
 * and bounds; an unknown name or a bad value is an error that names
 * where it came from: "bouncer.conf:12: store_timeout: bad time
 * \"5x\"", or "-o: audit_max: ..." for a command-line override.
 *
 * A struct conf is an immutable snapshot once loading is done, shared
 * by reference count: the daemon builds a new one on SIGHUP and each
 * session keeps the one it started with. Build with conf_new(), fill
 * with conf_load() and conf_set(), then only read it.
 *
 * Types: string; integer; time ("30", "30s", "10m", "12h", "14d",
 * "2w"; a bare number is seconds; stored as seconds); boolean
 * (yes/no); number (a decimal, e.g. a back-off factor of 1.5).
 */
#ifndef BOUNCER_CONF_H
#define BOUNCER_CONF_H

#include <stdio.h>

struct conf;

struct conf	*conf_new(void);	/* every parameter at its default */
struct conf	*conf_ref(struct conf *);
void		 conf_unref(struct conf *);	/* NULL is fine */

/*
 * Reads path. Every error is reported, one "path:line: name: message"
 * per line in *errp (caller frees), and then -1 is returned; the
 * parameters that were good are kept. A missing file is an error
 * unless missing_ok, in which case 0 is returned and nothing changes.
 */
int		 conf_load(struct conf *, const char *path, int missing_ok,
		    char **errp);
/*
 * Sets one parameter from "name=value" (as -o gives it) or, if value
 * is not NULL, from name and value. `where` names the origin in error
 * messages ("-o"). Returns 0, or -1 with a message in *errp.
 */
int		 conf_set(struct conf *, const char *where, const char *name,
		    const char *value, char **errp);

/*
 * Values by name. Asking for a name the table lacks, or with the
 * wrong type, is a programming error and panics. Strings belong to
 * the conf and last as long as it does.
 */
const char	*conf_str(const struct conf *, const char *name);
long long	 conf_int(const struct conf *, const char *name);
long long	 conf_time(const struct conf *, const char *name);
int		 conf_bool(const struct conf *, const char *name);
double		 conf_num(const struct conf *, const char *name);

/* 1 if the table has this parameter. */
int		 conf_known(const char *name);

/*
 * Prints "name = value" for every parameter (or, with nondefault,
 * only those that differ from their default), in table order, or
 * only the names given in names[0..nnames). Returns -1 if a name is
 * unknown (reported on stderr), else 0.
 */
int		 conf_print(const struct conf *, FILE *, int nondefault,
		    char **names, int nnames);

/* Where the file that was loaded came from, or NULL. */
const char	*conf_path(const struct conf *);

/* Parses a time value ("14d") into seconds. Returns 0 or -1. */
int		 conf_parse_time(const char *s, long long *out);

#endif
