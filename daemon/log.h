/*
 * log.h -- messages to stderr or syslog
 *
 * Programs call log_init() once. Before that, everything goes to stderr
 * with the program name in front. log_fatal() is for start-up only;
 * once mail flows, problems are warnings and bouncer fails open.
 *
 * log_set_hook() lets tests see what was logged (see t/lib/).
 */
#ifndef BOUNCER_LOG_H
#define BOUNCER_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

void	log_init(const char *progname, int use_syslog, int verbose);
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_fatal(int status, const char *, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
void	log_panic(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Called with every message at or above the current level; NULL removes. */
typedef void log_hook_fn(enum log_level, const char *msg, void *arg);
void	log_set_hook(log_hook_fn *, void *arg);

#endif
