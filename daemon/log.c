/*
 * log.c -- messages to stderr or syslog
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static const char	*log_prog = "bouncer";
static int		 log_syslog;
static int		 log_verbose;
static log_hook_fn	*log_hook;
static void		*log_hook_arg;

void
log_init(const char *progname, int use_syslog, int verbose)
{
	log_prog = progname;
	log_syslog = use_syslog;
	log_verbose = verbose;
	if (use_syslog)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_hook(log_hook_fn *fn, void *arg)
{
	log_hook = fn;
	log_hook_arg = arg;
}

static void
vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: " };
	char msg[4096];

	if (lvl == LOG_LVL_DEBUG && !log_verbose)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_hook != NULL)
		log_hook(lvl, msg, log_hook_arg);
	if (log_syslog)
		syslog(prio[lvl], "%s%s", tag[lvl], msg);
	else
		fprintf(stderr, "%s: %s%s\n", log_prog, tag[lvl], msg);
}

#define LOG_FN(name, lvl)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
							\
	va_start(ap, fmt);				\
	vlog(lvl, fmt, ap);				\
	va_end(ap);					\
}

LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERR)

void
log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	abort();
}
