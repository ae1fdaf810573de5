/*
 * milter.c -- libmilter glue
 *
 * Per connection, a context (smfi_setpriv) that, for a null-sender
 * message, collects the raw message: each header as "Name: value\r\n"
 * (libmilter gives folds as bare LF; they are kept), an empty line,
 * then the body chunks. Everything else returns SMFIS_ACCEPT as soon
 * as nothing more is needed from it.
 *
 * Memory: one message is kept up to max_size, and all the sessions
 * together hold at most max_memory (a budget shared by the threads;
 * what a buffer has allocated counts). A bounce whose buffer would go
 * past the budget keeps what it has, the rest is read and dropped, and
 * it is classified from that beginning at the end of the message, as
 * an over-long one is; one that has nothing yet is let through unread.
 * The mail goes on either way: this is only about what bouncer learns.
 *
 * Fail open: on any error the answer is SMFIS_CONTINUE, and the MTA's
 * default_action=accept for this milter (conf/postfix-main.cf) covers
 * the daemon being down.
 *
 * A message that did not come over SMTP (Postfix's own DSNs, passed
 * through non_smtpd_milters, but also anything sendmail(1) was given)
 * comes with a MAIL FROM argument of "" rather than SMTP's "<>": that
 * marks it internal. Internal is not trusted: any local user can run
 * sendmail -f '' (pipeline.h checks every bounce against the log).
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "listener.h"
#include "log.h"
#include "milter.h"
#include "verdict.h"
#include "xalloc.h"

struct mctx {
	char		*client;
	int		 bounce;	/* null sender */
	int		 internal;
	int		 nonsmtp;	/* sendmail(1), pickup: no <> */
	char		*buf;
	size_t		 len, cap;	/* cap: taken from the budget */
	int		 truncated;
	int		 over;		/* the budget ran out: keep no more */
};

static struct milter_conf	 mconf;
static char			*mconn;		/* libmilter keeps it */
static pthread_t		 mthread;
static int			 started;
static struct sockaddr_storage	 wake_addr;	/* where to reach ourselves */
static socklen_t		 wake_len;
static pthread_mutex_t		 stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct milter_stats	 stats;
static size_t			 budget_used;	/* atomic */
static struct timespec		 over_logged;	/* under stats_lock */
static struct histo		 rcpt_latency;	/* atomic (histo.h) */
static unsigned long		 over_unlogged;

/* Seconds between two log lines about max_memory. */
#define OVER_LOG_INTERVAL	60

#define COUNT(field) do {				\
	pthread_mutex_lock(&stats_lock);		\
	stats.field++;					\
	pthread_mutex_unlock(&stats_lock);		\
} while (0)

/* Takes n bytes from the budget: 0, or -1 if that would exceed it. */
static int
budget_take(size_t n)
{
	size_t cur = __atomic_load_n(&budget_used, __ATOMIC_RELAXED);

	do {
		if (n > mconf.max_memory || cur > mconf.max_memory - n)
			return -1;
	} while (!__atomic_compare_exchange_n(&budget_used, &cur, cur + n, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return 0;
}

static void
budget_give(size_t n)
{
	__atomic_sub_fetch(&budget_used, n, __ATOMIC_ACQ_REL);
}

/* Counts a message cut by the budget; logs once per interval. */
static void
over_memory(struct mctx *m)
{
	struct timespec now;
	unsigned long more = 0;
	int say = 0;

	m->over = m->truncated = 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&stats_lock);
	stats.over_memory++;
	if (over_logged.tv_sec == 0 ||
	    now.tv_sec - over_logged.tv_sec >= OVER_LOG_INTERVAL) {
		say = 1;
		more = over_unlogged;
		over_unlogged = 0;
		over_logged = now;
	} else
		over_unlogged++;
	pthread_mutex_unlock(&stats_lock);
	if (say)
		log_warn("milter: milter_max_memory (%zu bytes) reached: a "
		    "bounce from %s is classified from its first %zu bytes "
		    "only; %lu more since the last such line (all are "
		    "counted in bouncer_milter_over_memory_total)",
		    mconf.max_memory, *m->client ? m->client : "-", m->len,
		    more);
}

static void
append(struct mctx *m, const char *p, size_t n)
{
	size_t want;

	if (m->over)
		return;
	if (m->len + n > mconf.max_size) {
		m->truncated = 1;
		n = mconf.max_size > m->len ? mconf.max_size - m->len : 0;
	}
	if (n == 0)
		return;
	if (m->len + n > m->cap) {
		want = m->cap ? m->cap : 16384;
		while (want < m->len + n)
			want *= 2;
		if (want > mconf.max_size)
			want = mconf.max_size;
		/* The doubling first; if that is too much, what it needs. */
		if (budget_take(want - m->cap) < 0) {
			want = m->len + n;
			if (budget_take(want - m->cap) < 0) {
				over_memory(m);
				return;
			}
		}
		m->buf = xrealloc(m->buf, want);
		m->cap = want;
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

/* Forgets the message, and gives its buffer back to the budget. */
static void
reset_message(struct mctx *m)
{
	m->bounce = m->internal = m->nonsmtp = m->truncated = m->over = 0;
	m->len = 0;
	free(m->buf);
	m->buf = NULL;
	budget_give(m->cap);
	m->cap = 0;
}

/* A bounce the budget cut before anything of it was kept: let it go. */
static int
nothing_kept(const struct mctx *m)
{
	return m->over && m->len == 0;
}

static sfsistat
m_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct mctx *m = xcalloc(1, sizeof(*m));

	(void)sa;
	m->client = xstrdup(host != NULL ? host : "");
	smfi_setpriv(ctx, m);
	COUNT(connections);
	return SMFIS_CONTINUE;
}

static sfsistat
m_envfrom(SMFICTX *ctx, char **argv)
{
	struct mctx *m = smfi_getpriv(ctx);
	const char *from = argv != NULL && argv[0] != NULL ? argv[0] : "";

	if (m == NULL)
		return SMFIS_CONTINUE;
	reset_message(m);
	m->internal = strcmp(from, "") == 0;
	m->nonsmtp = from[0] != '<';
	m->bounce = m->internal || strcmp(from, "<>") == 0;
	if (!m->bounce && !mconf.check_rcpt)
		return SMFIS_ACCEPT;
	return SMFIS_CONTINUE;
}

static sfsistat
m_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mctx *m = smfi_getpriv(ctx);
	char text[400], rcpt[512];
	struct answer ans;
	size_t off;
	const char *a = argv != NULL && argv[0] != NULL ? argv[0] : "";
	uint64_t t0;
	size_t n;
	int rc;

	/*
	 * Mail that did not come over SMTP (Postfix's own DSNs, sendmail(1)
	 * through pickup: its envelope has no angle brackets) cannot be
	 * refused per recipient: cleanup would hold the whole message in
	 * maildrop. The socketmap transport lookup is for that mail.
	 */
	if (m == NULL || !mconf.check_rcpt || m->nonsmtp ||
	    mconf.rcpt_fn == NULL)
		return SMFIS_CONTINUE;
	if (*a == '<')
		a++;
	n = strcspn(a, ">");
	if (n >= sizeof(rcpt))
		return SMFIS_CONTINUE;
	memcpy(rcpt, a, n);
	rcpt[n] = '\0';
	ans.action = ACT_DUNNO;
	t0 = histo_now();
	rc = mconf.rcpt_fn(rcpt, &ans, mconf.arg);
	histo_since(&rcpt_latency, t0);
	if (rc < 0) {
		COUNT(errors);
		return SMFIS_CONTINUE;
	}
	if (ans.action != ACT_REJECT && ans.action != ACT_DEFER)
		return SMFIS_CONTINUE;
	/* "550 5.1.1 <a@b>: bouncer: recipient suppressed: ..." */
	off = (size_t)snprintf(text, sizeof(text), "<%s>: ", rcpt);
	if (off < sizeof(text))
		answer_text(&ans, text + off, sizeof(text) - off);
	if (smfi_setreply(ctx, ans.action == ACT_REJECT ? "550" : "450",
	    ans.status, text) != MI_SUCCESS)
		log_warn("milter: smfi_setreply failed for <%s>", rcpt);
	COUNT(rejected);
	return ans.action == ACT_DEFER ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

static sfsistat
m_header(SMFICTX *ctx, char *name, char *value)
{
	struct mctx *m = smfi_getpriv(ctx);

	if (m == NULL || !m->bounce)
		return SMFIS_ACCEPT;
	append(m, name, strlen(name));
	append(m, ": ", 2);
	append(m, value, strlen(value));
	append(m, "\r\n", 2);
	if (nothing_kept(m)) {
		reset_message(m);
		return SMFIS_ACCEPT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
m_eoh(SMFICTX *ctx)
{
	struct mctx *m = smfi_getpriv(ctx);

	if (m == NULL || !m->bounce)
		return SMFIS_ACCEPT;
	append(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat
m_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mctx *m = smfi_getpriv(ctx);

	if (m == NULL || !m->bounce)
		return SMFIS_ACCEPT;
	append(m, (const char *)chunk, len);
	if (nothing_kept(m)) {
		reset_message(m);
		return SMFIS_ACCEPT;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
m_eom(SMFICTX *ctx)
{
	struct mctx *m = smfi_getpriv(ctx);
	struct milter_msg msg;
	const char *qid;
	int rc;

	if (m == NULL || !m->bounce || mconf.msg_fn == NULL)
		return SMFIS_CONTINUE;
	qid = smfi_getsymval(ctx, "i");
	msg.raw = m->buf != NULL ? m->buf : "";
	msg.len = m->len;
	msg.truncated = m->truncated;
	msg.internal = m->internal;
	msg.queue_id = qid != NULL ? qid : "";
	msg.client = m->client;
	COUNT(messages);
	rc = mconf.msg_fn(&msg, mconf.arg);
	reset_message(m);
	if (rc == 1) {
		COUNT(discarded);
		return SMFIS_DISCARD;
	}
	if (rc < 0) {
		COUNT(tempfailed);
		if (smfi_setreply(ctx, "451", "4.3.0", ANSWER_TAG
		    "bounce not recorded now, try again later") != MI_SUCCESS)
			log_warn("milter: smfi_setreply failed");
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_CONTINUE;
}

static sfsistat
m_abort(SMFICTX *ctx)
{
	struct mctx *m = smfi_getpriv(ctx);

	if (m != NULL)
		reset_message(m);
	return SMFIS_CONTINUE;
}

static sfsistat
m_close(SMFICTX *ctx)
{
	struct mctx *m = smfi_getpriv(ctx);

	if (m != NULL) {
		reset_message(m);
		free(m->client);
		free(m);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "bouncer",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_NONE,
	.xxfi_connect = m_connect,
	.xxfi_envfrom = m_envfrom,
	.xxfi_envrcpt = m_envrcpt,
	.xxfi_header = m_header,
	.xxfi_eoh = m_eoh,
	.xxfi_body = m_body,
	.xxfi_eom = m_eom,
	.xxfi_abort = m_abort,
	.xxfi_close = m_close,
};

static void *
run(void *arg)
{
	(void)arg;
	if (smfi_main() != MI_SUCCESS)
		log_error("milter: smfi_main failed");
	return NULL;
}

/*
 * Where a connection of our own reaches the listener: its address,
 * with a wildcard one made loopback. 0 if there is none to use.
 */
static void
wake_prepare(const char *listen)
{
	char *err = NULL;

	wake_len = 0;
	if (listener_parse(listen, &wake_addr, &wake_len, &err) < 0) {
		free(err);
		wake_len = 0;
		return;
	}
	if (wake_addr.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&wake_addr;

		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (wake_addr.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&wake_addr;

		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
	}
}

/*
 * libmilter binds a unix socket with the process's umask: under
 * LISTENER_UMASK it is made 0600, for listener_perm_apply() to open it
 * as far as it should go. No thread of ours runs yet to mind the umask.
 */
static int
open_socket(void)
{
	mode_t old;
	int rc;

	old = umask(LISTENER_UMASK);
	rc = smfi_opensocket(1);
	umask(old);
	return rc;
}

int
milter_open(const struct milter_conf *mc, char **errp)
{
	const char *hp, *colon;
	char *err = NULL;

	mconf = *mc;
	if (mconf.max_size == 0)
		mconf.max_size = 10 * 1024 * 1024;
	if (mconf.max_memory == 0)
		mconf.max_memory = 64 * 1024 * 1024;
	/* Our "inet:host:port" is libmilter's "inet:port@host". */
	if (strncmp(mc->listen, "inet:", 5) == 0) {
		hp = mc->listen + 5;
		if ((colon = strrchr(hp, ':')) == NULL) {
			*errp = xasprintf("milter_listen: %s: want "
			    "inet:host:port or unix:/path", mc->listen);
			return -1;
		}
		mconn = xasprintf("inet:%s@%.*s", colon + 1,
		    (int)(colon - hp), hp);
	} else if (strncmp(mc->listen, "unix:", 5) == 0)
		mconn = xstrdup(mc->listen);
	else {
		*errp = xasprintf("milter_listen: %s: want inet:host:port or "
		    "unix:/path", mc->listen);
		return -1;
	}
	if (smfi_register(desc) != MI_SUCCESS ||
	    smfi_setconn(mconn) != MI_SUCCESS ||
	    smfi_settimeout(mconf.timeout > 0 ? mconf.timeout : 60) !=
	    MI_SUCCESS || open_socket() != MI_SUCCESS) {
		*errp = xasprintf("milter_listen: cannot listen on %s",
		    mc->listen);
		return -1;
	}
	if (strncmp(mc->listen, "unix:", 5) == 0 &&
	    listener_perm_apply(mc->listen + 5, mc->perm, &err) < 0) {
		*errp = xasprintf("milter_listen: %s: %s", mc->listen, err);
		free(err);
		unlink(mc->listen + 5);
		return -1;
	}
	wake_prepare(mc->listen);
	return 0;
}

int
milter_run(char **errp)
{
	if (pthread_create(&mthread, NULL, run, NULL) != 0) {
		*errp = xasprintf("milter: pthread_create: %s",
		    strerror(errno));
		return -1;
	}
	started = 1;
	return 0;
}

int
milter_start(const struct milter_conf *mc, char **errp)
{
	if (milter_open(mc, errp) < 0)
		return -1;
	return milter_run(errp);
}

/* Connects to the listener and hangs up at once. */
static void
wake_listener(void)
{
	int fd;

	if (wake_len == 0 ||
	    (fd = socket(wake_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) < 0)
		return;
	(void)connect(fd, (struct sockaddr *)&wake_addr, wake_len);
	close(fd);
}

static int	stop_done;

static void *
stopper(void *arg)
{
	(void)arg;
	smfi_stop();
	__atomic_store_n(&stop_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * smfi_stop() sets libmilter's stop flag and then waits for the
 * listener to leave its poll, which times out only every five seconds.
 * So it runs in a thread of its own while this one connects to the
 * listener until it returns: the connection ends the poll, and the
 * listener sees the flag at once.
 */
void
milter_stop(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	pthread_t st;
	int i;

	if (!started)
		return;
	if (pthread_create(&st, NULL, stopper, NULL) != 0)
		smfi_stop();
	else {
		for (i = 0; i < 300 &&
		    !__atomic_load_n(&stop_done, __ATOMIC_ACQUIRE); i++) {
			wake_listener();
			nanosleep(&ts, NULL);
		}
		pthread_join(st, NULL);
	}
	pthread_join(mthread, NULL);
	started = 0;
	stop_done = 0;
	free(mconn);
	mconn = NULL;
}

void
milter_get_stats(struct milter_stats *out)
{
	pthread_mutex_lock(&stats_lock);
	*out = stats;
	pthread_mutex_unlock(&stats_lock);
	out->buffered = __atomic_load_n(&budget_used, __ATOMIC_RELAXED);
}

const struct histo *
milter_rcpt_latency(void)
{
	return &rcpt_latency;
}
