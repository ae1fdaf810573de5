/*
 * alert.c -- tell the operator: a hook program, and syslog
 *
 * Children are reaped from a libevent SIGCHLD event; each has a timer
 * that ends it at its timeout. A hook is the leader of a process group
 * of its own (setpgid in both parent and child, so that neither order
 * of running leaves a window), so the timeout reaches whatever it
 * started too: SIGTERM to the group, then SIGKILL ALERT_KILL_GRACE
 * seconds later if anything of it is left. Its slot stays taken until
 * the group is gone or has been sent SIGKILL.
 *
 * At most ALERT_MAX_HOOKS run at once. An alert raised while all run
 * waits in a FIFO (its environment built already) of ALERT_QUEUE_MAX
 * entries, and starts when a slot frees; beyond that its hook is
 * dropped, counted, and logged at most once a minute.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "alert.h"
#include "clock.h"
#include "log.h"
#include "xalloc.h"

#define MAX_ARGS	16
#define MAX_ENV		24
#define DROP_LOG_SECS	60	/* at most one line about drops per minute */

/* An alert waiting for a free slot: what its hook will be given. */
struct job {
	struct job	*next;
	char		*env[MAX_ENV];	/* NULL-terminated; owned */
	char		*kind;		/* the last argument; owned */
};

/* H_TERM: sent SIGTERM at its timeout; H_KILLED: then SIGKILL. */
enum hook_state { H_FREE, H_RUNNING, H_TERM, H_KILLED };

struct hook {
	enum hook_state	 state;
	pid_t		 pid;		/* the leader, 0 once reaped */
	pid_t		 pgid;		/* its group, 0 when free */
	struct event	*timer;
	struct alerter	*al;
};

struct alerter {
	struct event_base	*base;
	struct event		*sigchld;
	char			*argv[MAX_ARGS + 1];
	char			*cmdbuf;
	int			 timeout;
	struct hook		 hooks[ALERT_MAX_HOOKS];
	struct job		*head, *tail;	/* the queue, oldest first */
	unsigned long		 drops_unlogged;
	time_t			 drop_logged;	/* monotonic, 0: never */
	struct alert_stats	 stats;
};

static void	start_queued(struct alerter *);

static void
job_free(struct job *j)
{
	int i;

	if (j == NULL)
		return;
	for (i = 0; j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j->kind);
	free(j);
}

/* The slot is free again: the next queued alert may take it. */
static void
hook_done(struct hook *h)
{
	event_del(h->timer);
	h->state = H_FREE;
	h->pid = 0;
	h->pgid = 0;
	h->al->stats.hooks_running--;
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct alerter *al = h->al;
	struct timeval grace = { ALERT_KILL_GRACE, 0 };

	(void)fd;
	(void)what;
	switch (h->state) {
	case H_RUNNING:
		log_warn("alert: hook %s (pid %ld) ran over %d s; stopping "
		    "it and what it started", al->argv[0], (long)h->pgid,
		    al->timeout);
		(void)kill(-h->pgid, SIGTERM);
		h->state = H_TERM;
		evtimer_add(h->timer, &grace);
		break;
	case H_TERM:
		/* The group outlived SIGTERM by the grace period. */
		(void)kill(-h->pgid, SIGKILL);
		h->state = H_KILLED;
		if (h->pid == 0) {
			hook_done(h);
			start_queued(al);
		}
		break;
	case H_KILLED:
	case H_FREE:
		break;
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
		for (i = 0; i < ALERT_MAX_HOOKS; i++) {
			struct hook *h = &al->hooks[i];

			if (h->state == H_FREE || h->pid != pid)
				continue;
			h->pid = 0;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				al->stats.hooks_failed++;
				log_warn("alert: hook %s %s %d", al->argv[0],
				    WIFEXITED(status) ? "exited with status" :
				    "killed by signal", WIFEXITED(status) ?
				    WEXITSTATUS(status) : WTERMSIG(status));
			}
			/*
			 * Stopped at its timeout: the slot is kept until
			 * the rest of its group is gone or killed (the
			 * grace timer is still pending).
			 */
			if (h->state == H_TERM && kill(-h->pgid, 0) == 0)
				continue;
			hook_done(h);
		}
	}
	start_queued(al);
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
	for (i = 0; i < ALERT_MAX_HOOKS; i++) {
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

static struct job *
job_new(const struct alert *a)
{
	struct job *j = xcalloc(1, sizeof(*j));
	char first[32], count[32];
	int n = 0;

	snprintf(first, sizeof(first), "%lld", (long long)a->first_seen);
	snprintf(count, sizeof(count), "%lu", a->count);
	j->env[n++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env_add(j->env, &n, "BOUNCER_KIND", a->kind);
	env_add(j->env, &n, "BOUNCER_BLOCKLIST", a->blocklist);
	env_add(j->env, &n, "BOUNCER_IP", a->ip);
	env_add(j->env, &n, "BOUNCER_PROVIDER", a->provider);
	env_add(j->env, &n, "BOUNCER_DELIST_URL", a->url);
	env_add(j->env, &n, "BOUNCER_DOMAIN", a->domain);
	env_add(j->env, &n, "BOUNCER_REASON", a->reason);
	env_add(j->env, &n, "BOUNCER_RULE", a->rule);
	env_add(j->env, &n, "BOUNCER_REPLY", a->reply);
	env_add(j->env, &n, "BOUNCER_SOURCE", a->source);
	env_add(j->env, &n, "BOUNCER_ZONE", a->zone);
	env_add(j->env, &n, "BOUNCER_TARGET", a->target);
	env_add(j->env, &n, "BOUNCER_MEANING", a->meaning);
	env_add(j->env, &n, "BOUNCER_FIRST_SEEN", first);
	env_add(j->env, &n, "BOUNCER_COUNT", count);
	j->env[n] = NULL;
	j->kind = xstrdup(a->kind != NULL ? a->kind : "");
	return j;
}

/* Starts j's hook in the free slot h. Frees j. */
static void
spawn(struct alerter *al, struct hook *h, struct job *j)
{
	struct timeval tv = { al->timeout, 0 };
	char *argv[MAX_ARGS + 2];
	sigset_t none;
	int i, devnull;
	pid_t pid;

	for (i = 0; al->argv[i] != NULL; i++)
		argv[i] = al->argv[i];
	argv[i++] = j->kind;
	argv[i] = NULL;

	pid = fork();
	if (pid == 0) {
		/* The child: a group of its own, a clean slate, the hook. */
		(void)setpgid(0, 0);
		if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		closefrom(3);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], argv, j->env);
		_exit(127);
	}
	job_free(j);
	if (pid < 0) {
		al->stats.hooks_failed++;
		log_warn("alert: fork: %s", strerror(errno));
		return;
	}
	/* Also here: a kill(-pgid) must not find the group missing. */
	(void)setpgid(pid, pid);
	al->stats.hooks_run++;
	al->stats.hooks_running++;
	h->state = H_RUNNING;
	h->pid = pid;
	h->pgid = pid;
	evtimer_add(h->timer, &tv);
}

static struct hook *
free_slot(struct alerter *al)
{
	int i;

	for (i = 0; i < ALERT_MAX_HOOKS; i++)
		if (al->hooks[i].state == H_FREE)
			return &al->hooks[i];
	return NULL;
}

/* Starts queued alerts, oldest first, while slots are free. */
static void
start_queued(struct alerter *al)
{
	struct hook *h;
	struct job *j;

	while (al->head != NULL && (h = free_slot(al)) != NULL) {
		j = al->head;
		if ((al->head = j->next) == NULL)
			al->tail = NULL;
		al->stats.hooks_queued--;
		spawn(al, h, j);
	}
}

static void
drop(struct alerter *al)
{
	time_t now = (time_t)(clock_mono_ms() / 1000);

	al->stats.hooks_dropped++;
	al->drops_unlogged++;
	if (al->drop_logged != 0 && now - al->drop_logged < DROP_LOG_SECS)
		return;
	log_warn("alert: %d hooks running and %d alerts waiting; %lu "
	    "alert(s) not given to the hook (bouncer_alert_hooks_dropped_"
	    "total)", ALERT_MAX_HOOKS, ALERT_QUEUE_MAX, al->drops_unlogged);
	al->drops_unlogged = 0;
	al->drop_logged = now;
}

void
alerter_raise(struct alerter *al, const struct alert *a)
{
	struct hook *h;
	struct job *j;

	al->stats.raised++;
	/* The monitor's alerts (dnsbl.h) name zone and meaning instead. */
	if (a->source != NULL && *a->source != '\0')
		log_info("alert kind=%s source=%s list=%s zone=%s target=%s "
		    "url=%s meaning=\"%s\"", a->kind ? a->kind : "-",
		    a->source, a->blocklist ? a->blocklist : "-",
		    a->zone ? a->zone : "-", a->target ? a->target : "-",
		    a->url && *a->url ? a->url : "-",
		    a->meaning ? a->meaning : "-");
	else
		log_info("alert kind=%s blocklist=%s ip=%s provider=%s "
		    "domain=%s reason=%s rule=%s url=%s count=%lu",
		    a->kind ? a->kind : "-", a->blocklist ? a->blocklist : "-",
		    a->ip ? a->ip : "-", a->provider ? a->provider : "-",
		    a->domain ? a->domain : "-", a->reason ? a->reason : "-",
		    a->rule ? a->rule : "-", a->url ? a->url : "-", a->count);
	if (al->argv[0] == NULL)
		return;
	if (al->head == NULL && (h = free_slot(al)) != NULL) {
		spawn(al, h, job_new(a));
		return;
	}
	if (al->stats.hooks_queued >= ALERT_QUEUE_MAX) {
		drop(al);
		return;
	}
	j = job_new(a);
	if (al->tail != NULL)
		al->tail->next = j;
	else
		al->head = j;
	al->tail = j;
	al->stats.hooks_queued++;
}

void
alerter_free(struct alerter *al)
{
	struct job *j;
	int i;

	if (al == NULL)
		return;
	for (i = 0; i < ALERT_MAX_HOOKS; i++) {
		struct hook *h = &al->hooks[i];

		if (h->state != H_FREE)
			(void)kill(-h->pgid, SIGKILL);
		if (h->state != H_FREE && h->pid > 0)
			waitpid(h->pid, NULL, 0);
		if (h->timer != NULL)
			event_free(h->timer);
	}
	while ((j = al->head) != NULL) {
		al->head = j->next;
		job_free(j);
	}
	if (al->drops_unlogged > 0)
		log_warn("alert: %lu more alert(s) not given to the hook",
		    al->drops_unlogged);
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
