/*
 * alert.c -- tell the operator: a hook program, and syslog
 *
 * Children are reaped from a libevent SIGCHLD event; each has a timer
 * that kills it at its timeout. At most MAX_HOOKS run at once; an alert
 * beyond that is still logged, and counted as dropped for the hook.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert.h"
#include "log.h"
#include "xalloc.h"

#define MAX_HOOKS	8
#define MAX_ARGS	16

struct hook {
	pid_t		 pid;
	struct event	*timer;
	struct alerter	*al;
};

struct alerter {
	struct event_base	*base;
	struct event		*sigchld;
	char			*argv[MAX_ARGS + 1];
	char			*cmdbuf;
	int			 timeout;
	struct hook		 hooks[MAX_HOOKS];
	struct alert_stats	 stats;
};

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;

	(void)fd;
	(void)what;
	if (h->pid > 0) {
		log_warn("alert: hook %s (pid %ld) ran over %d s; killed",
		    h->al->argv[0], (long)h->pid, h->al->timeout);
		kill(h->pid, SIGKILL);
	}
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct alerter *al = arg;
	pid_t pid;
	int status, i;

	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < MAX_HOOKS; i++) {
			struct hook *h = &al->hooks[i];

			if (h->pid != pid)
				continue;
			h->pid = 0;
			event_del(h->timer);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				al->stats.hooks_failed++;
				log_warn("alert: hook %s %s %d", al->argv[0],
				    WIFEXITED(status) ? "exited with status" :
				    "killed by signal", WIFEXITED(status) ?
				    WEXITSTATUS(status) : WTERMSIG(status));
			}
		}
	}
}

struct alerter *
alerter_new(struct event_base *base, const char *command, int timeout,
    char **errp)
{
	struct alerter *al;
	char *p, *save = NULL;
	int n = 0, i;

	al = xcalloc(1, sizeof(*al));
	al->base = base;
	al->timeout = timeout > 0 ? timeout : 10;
	if (command != NULL && *command != '\0') {
		al->cmdbuf = xstrdup(command);
		for (p = strtok_r(al->cmdbuf, " \t", &save); p != NULL;
		    p = strtok_r(NULL, " \t", &save)) {
			if (n == MAX_ARGS) {
				*errp = xasprintf("alert_command: more than "
				    "%d words", MAX_ARGS);
				alerter_free(al);
				return NULL;
			}
			al->argv[n++] = p;
		}
		if (n > 0 && al->argv[0][0] != '/') {
			*errp = xasprintf("alert_command: \"%s\" is not an "
			    "absolute path", al->argv[0]);
			alerter_free(al);
			return NULL;
		}
	}
	for (i = 0; i < MAX_HOOKS; i++) {
		al->hooks[i].al = al;
		al->hooks[i].timer = evtimer_new(base, on_timeout,
		    &al->hooks[i]);
	}
	al->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, al);
	event_add(al->sigchld, NULL);
	return al;
}

/* Appends NAME=value to env[*n] when value is set. */
static void
env_add(char **env, int *n, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	env[(*n)++] = xasprintf("%s=%s", name, value);
}

void
alerter_raise(struct alerter *al, const struct alert *a)
{
	char *env[16], first[32], count[32], *argv[MAX_ARGS + 2];
	struct timeval tv = { al->timeout, 0 };
	struct hook *h = NULL;
	int n = 0, i, devnull;
	pid_t pid;

	al->stats.raised++;
	log_info("alert kind=%s blocklist=%s ip=%s provider=%s domain=%s "
	    "reason=%s rule=%s url=%s count=%lu", a->kind,
	    a->blocklist ? a->blocklist : "-", a->ip ? a->ip : "-",
	    a->provider ? a->provider : "-", a->domain ? a->domain : "-",
	    a->reason ? a->reason : "-", a->rule ? a->rule : "-",
	    a->url ? a->url : "-", a->count);
	if (al->argv[0] == NULL)
		return;
	for (i = 0; i < MAX_HOOKS && h == NULL; i++)
		if (al->hooks[i].pid == 0)
			h = &al->hooks[i];
	if (h == NULL) {
		al->stats.hooks_dropped++;
		log_warn("alert: %d hooks still running; not starting "
		    "another", MAX_HOOKS);
		return;
	}
	snprintf(first, sizeof(first), "%lld", (long long)a->first_seen);
	snprintf(count, sizeof(count), "%lu", a->count);
	env[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env_add(env, &n, "BOUNCER_KIND", a->kind);
	env_add(env, &n, "BOUNCER_BLOCKLIST", a->blocklist);
	env_add(env, &n, "BOUNCER_IP", a->ip);
	env_add(env, &n, "BOUNCER_PROVIDER", a->provider);
	env_add(env, &n, "BOUNCER_DELIST_URL", a->url);
	env_add(env, &n, "BOUNCER_DOMAIN", a->domain);
	env_add(env, &n, "BOUNCER_REASON", a->reason);
	env_add(env, &n, "BOUNCER_RULE", a->rule);
	env_add(env, &n, "BOUNCER_REPLY", a->reply);
	env_add(env, &n, "BOUNCER_FIRST_SEEN", first);
	env_add(env, &n, "BOUNCER_COUNT", count);
	env[n] = NULL;
	for (i = 0; al->argv[i] != NULL; i++)
		argv[i] = al->argv[i];
	argv[i++] = (char *)a->kind;
	argv[i] = NULL;

	pid = fork();
	if (pid == 0) {
		/* The child: a clean slate, then the hook. */
		if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		closefrom(3);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, env);
		_exit(127);
	}
	for (i = 0; i < n; i++)
		free(env[i]);
	if (pid < 0) {
		al->stats.hooks_failed++;
		log_warn("alert: fork: %s", strerror(errno));
		return;
	}
	al->stats.hooks_run++;
	h->pid = pid;
	evtimer_add(h->timer, &tv);
}

void
alerter_free(struct alerter *al)
{
	int i;

	if (al == NULL)
		return;
	for (i = 0; i < MAX_HOOKS; i++) {
		if (al->hooks[i].pid > 0) {
			kill(al->hooks[i].pid, SIGKILL);
			waitpid(al->hooks[i].pid, NULL, 0);
		}
		if (al->hooks[i].timer != NULL)
			event_free(al->hooks[i].timer);
	}
	if (al->sigchld != NULL)
		event_free(al->sigchld);
	free(al->cmdbuf);
	free(al);
}

const struct alert_stats *
alerter_stats(const struct alerter *al)
{
	return &al->stats;
}
