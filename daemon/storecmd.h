/*
 * storecmd.h -- the bouncerctl commands that work on the configuration
 * and the state store
 *
 *   config [-n] [name ...]		query ADDRESS ...
 *   ingest [--maillog] [FILE ...]	explain ADDRESS
 *   suppress add|remove ADDRESS ...	unsuppress ADDRESS ...
 *   list [filters] [--json]		export, import [FILE]
 *   throttle list [--all] [--json]	throttle remove DEST ...
 *   stats				expire
 *   status				dump
 *   backup FILE			restore FILE
 *   migrate FROM-URI TO-URI
 *
 * Programs layer: only wiring of conf, store, engine and classify.
 * bouncerctl.c parses the global options (-c FILE, -o name=value,
 * -s STORE_URI) that come before the command and hands them over.
 * See bouncerctl(8).
 */
#ifndef BOUNCER_STORECMD_H
#define BOUNCER_STORECMD_H

#include <stdio.h>

struct conf;

struct storecmd_globals {
	const char	*conf_file;	/* NULL: the default path */
	char		**overrides;	/* "name=value", from -o */
	int		 noverrides;
	const char	*store_uri;	/* -s, or NULL */
};

/*
 * Parses the global options at argv[1..]: returns the index of the
 * command word, or -1 after printing a usage error. Fills g; the
 * caller frees g->overrides (the strings are argv's).
 */
int		 storecmd_globals(int argc, char **argv,
		    struct storecmd_globals *g);

/* 1 if cmd is one of the commands here. */
int		 storecmd_known(const char *cmd);

/* Runs cmd with argv[0] == cmd; returns the exit status. */
int		 storecmd_run(int argc, char **argv,
		    const struct storecmd_globals *g);

/* The usage lines of these commands. */
void		 storecmd_usage(FILE *fp);

/*
 * The configuration as g names it (-c, -o), for a command; NULL after
 * printing why to stderr. The caller owns it (conf_unref()).
 */
struct conf	*storecmd_conf(const struct storecmd_globals *g);

#endif
