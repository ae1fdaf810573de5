/*
 * conf.h -- bouncer.conf: "name = value" lines, as in Postfix's main.cf
 *
 * One list (CONF_PARAMS, below) gives every parameter its type,
 * default and bounds; an unknown name or a bad value is an error that names
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
 * The parameters, in the order "bouncerctl config" prints them, one
 * line each by type:
 *
 *   S(ID, name, default, when)			string
 *   I(ID, name, default, min, max, when)	integer
 *   T(ID, name, default, min, max, when)	time; bounds in seconds
 *   B(ID, name, default, when)			boolean
 *   N(ID, name, default, min, max, when)	number
 *
 * when is RELOAD (SIGHUP applies a new value) or START (bouncerd reads
 * it at start only). Defaults are written as in the file and go
 * through the same parser. Each line makes an enumerator CONF_ID in the
 * enum of its type, read with the accessor of that type:
 * conf_time(c, CONF_STORE_TIMEOUT). A misspelt name does not compile,
 * and nor (with -Wextra's -Wenum-conversion) does one read as the
 * wrong type. t/check_conf.c checks that ID is name in capitals and
 * that bouncer.conf(5) and conf/bouncer.conf list every line.
 *
 * To add a parameter: one line here, its entry in
 * man/bouncer.conf.5.in and conf/bouncer.conf, and the reading of it.
 */
/* The blocklists checked unless blocklist_zones says otherwise. */
#define BLOCKLIST_ZONES_DEFAULT	"zen.spamhaus.org dbl.spamhaus.org "	\
	"b.barracudacentral.org bl.spamcop.net dnsbl-1.uceprotect.net "	\
	"bl.mailspike.net psbl.surriel.com all.s5h.net"

#define CONF_DAY	86400.0
#define CONF_YEAR	(3650 * CONF_DAY)	/* the most any time may be */

#define CONF_PARAMS(S, I, T, B, N)					\
	/* the store */							\
	S(STORE, store, STORE_DEFAULT, RELOAD)				\
	S(STORE_PASSWORD_FILE, store_password_file, "", RELOAD)		\
	T(STORE_TIMEOUT, store_timeout, "2s", 1, 300, RELOAD)		\
	T(STORE_BUSY_TIMEOUT, store_busy_timeout, "5s", 0, 3600, RELOAD) \
	I(WRITER_QUEUE_SIZE, writer_queue_size, "10000", 16, 10000000, START) \
	/* rules */							\
	S(RULES_DIR, rules_dir, RULES_DIR, RELOAD)			\
	S(RULES_LOCAL_DIR, rules_local_dir, RULES_LOCAL_DIR, RELOAD)	\
	/* the daemon, bouncerd(8) */					\
	S(MAILLOG_FILE, maillog_file, "", START)			\
	S(SYSLOG_SOCKET, syslog_socket, "", START)			\
	S(POLICY_LISTEN, policy_listen, "inet:127.0.0.1:10040", START)	\
	S(MILTER_LISTEN, milter_listen, "", START)			\
	S(SOCKETMAP_LISTEN, socketmap_listen, "", START)		\
	S(METRICS_LISTEN, metrics_listen, "127.0.0.1:9150", START)	\
	S(ALERT_COMMAND, alert_command, "", START)			\
	T(ALERT_TIMEOUT, alert_timeout, "10s", 1, 3600, START)		\
	S(USER, user, "bouncer", START)					\
	S(SOCKET_GROUP, socket_group, "postfix", START)			\
	S(STATE_DIR, state_dir, STATE_DIR, START)			\
	S(PID_FILE, pid_file, "", START)				\
	I(MAILLOG_POLL_MS, maillog_poll_ms, "250", 10, 60000, START)	\
	I(POLICY_MAX_CONNS, policy_max_conns, "4096", 1, 1000000, START) \
	T(POLICY_IDLE_TIMEOUT, policy_idle_timeout, "10m", 1, 86400,	\
	    START)							\
	T(POLICY_REQUEST_TIMEOUT, policy_request_timeout, "10s", 1, 3600, \
	    START)							\
	I(SOCKETMAP_MAX_CONNS, socketmap_max_conns, "1024", 1, 1000000,	\
	    START)							\
	T(SOCKETMAP_IDLE_TIMEOUT, socketmap_idle_timeout, "10m", 1, 86400, \
	    START)							\
	T(SOCKETMAP_REQUEST_TIMEOUT, socketmap_request_timeout, "10s", 1, \
	    3600, START)						\
	B(MILTER_CHECK_RCPT, milter_check_rcpt, "yes", START)		\
	S(MILTER_BOUNCE_ACTION, milter_bounce_action, "pass", RELOAD)	\
	I(MILTER_MAX_SIZE, milter_max_size, "10485760", 4096, 1073741824, \
	    START)							\
	I(MILTER_MAX_MEMORY, milter_max_memory, "67108864", 65536,	\
	    17179869184.0, START)					\
	T(BOUNCE_VERIFY_WINDOW, bounce_verify_window, "7d", 0, CONF_YEAR, \
	    RELOAD)							\
	T(EXPIRE_INTERVAL, expire_interval, "10m", 10, 86400, START)	\
	/* the blocklist monitor, dnsbl.h */				\
	S(BLOCKLIST_WATCH_IPS, blocklist_watch_ips, "", START)		\
	S(BLOCKLIST_WATCH_DOMAINS, blocklist_watch_domains, "", START)	\
	B(BLOCKLIST_DISCOVER, blocklist_discover, "no", START)		\
	S(BLOCKLIST_ZONES, blocklist_zones, BLOCKLIST_ZONES_DEFAULT, START) \
	T(BLOCKLIST_INTERVAL, blocklist_interval, "10m", 1, 86400, START) \
	S(BLOCKLIST_RESOLVER, blocklist_resolver, "", START)		\
	T(BLOCKLIST_TIMEOUT, blocklist_timeout, "5s", 1, 60, START)	\
	S(BLOCKLIST_DQS_KEY, blocklist_dqs_key, "", START)		\
	/* the engine */						\
	I(AUDIT_MAX, audit_max, "20", 1, 1000, RELOAD)			\
	T(EVENT_RETENTION, event_retention, "30d", 3600, CONF_YEAR, RELOAD) \
	T(SUPPRESS_EXPIRY, suppress_expiry, "365d", 0, CONF_YEAR, RELOAD) \
	CONF_REASON(I, T, USERUNKNOWN, userunknown, "365d", "0")	\
	CONF_REASON(I, T, HOSTUNKNOWN, hostunknown, "3d", "0")		\
	CONF_REASON(I, T, MAILBOXFULL, mailboxfull, "30d", "5")		\
	CONF_REASON(I, T, FEEDBACK, feedback, "0", "0")			\
	CONF_REASON(I, T, FILTERED, filtered, "30d", "0")		\
	CONF_REASON(I, T, HASMOVED, hasmoved, "365d", "0")		\
	CONF_REASON(I, T, NOTACCEPT, notaccept, "30d", "0")		\
	CONF_REASON(I, T, REJECTED, rejected, "30d", "0")		\
	CONF_REASON(I, T, SUSPEND, suspend, "90d", "0")			\
	B(SUCCESS_UNSUPPRESS, success_unsuppress, "yes", RELOAD)	\
	T(RETRY_BACKOFF_BASE, retry_backoff_base, "1h", 1, CONF_YEAR,	\
	    RELOAD)							\
	N(RETRY_BACKOFF_FACTOR, retry_backoff_factor, "2", 1, 100, RELOAD) \
	T(RETRY_BACKOFF_MAX, retry_backoff_max, "3d", 1, CONF_YEAR, RELOAD) \
	T(THROTTLE_BACKOFF, throttle_backoff, "10m", 1, CONF_YEAR, RELOAD) \
	T(THROTTLE_BACKOFF_MAX, throttle_backoff_max, "6h", 1, CONF_YEAR, \
	    RELOAD)							\
	B(THROTTLE_PROVIDER, throttle_provider, "yes", RELOAD)		\
	T(ALERT_WINDOW, alert_window, "1h", 1, CONF_YEAR, RELOAD)

/*
 * A reason's suppression expiry and the escalation of its soft
 * failures: CONF_USERUNKNOWN_EXPIRY, _ESCALATE_COUNT, _ESCALATE_PERIOD.
 */
#define CONF_REASON(I, T, ID, name, expiry, count)			\
	T(ID##_EXPIRY, name##_expiry, expiry, 0, CONF_YEAR, RELOAD)	\
	I(ID##_ESCALATE_COUNT, name##_escalate_count, count, 0, 1000,	\
	    RELOAD)							\
	T(ID##_ESCALATE_PERIOD, name##_escalate_period, "14d", 0,	\
	    CONF_YEAR, RELOAD)

#define CONF_ENUM_(id, ...)	CONF_##id,
#define CONF_SKIP_(...)

enum conf_str_param {
	CONF_PARAMS(CONF_ENUM_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_)
	CONF_NSTR
};
enum conf_int_param {
	CONF_PARAMS(CONF_SKIP_, CONF_ENUM_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_)
	CONF_NINT
};
enum conf_time_param {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, CONF_ENUM_, CONF_SKIP_, CONF_SKIP_)
	CONF_NTIME
};
enum conf_bool_param {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_ENUM_, CONF_SKIP_)
	CONF_NBOOL
};
enum conf_num_param {
	CONF_PARAMS(CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_SKIP_, CONF_ENUM_)
	CONF_NNUM
};

/*
 * Values, by parameter. Strings belong to the conf and last as long as
 * it does; times are in seconds.
 */
const char	*conf_str(const struct conf *, enum conf_str_param);
long long	 conf_int(const struct conf *, enum conf_int_param);
long long	 conf_time(const struct conf *, enum conf_time_param);
int		 conf_bool(const struct conf *, enum conf_bool_param);
double		 conf_num(const struct conf *, enum conf_num_param);

/*
 * The START parameters (read at start only) whose values differ
 * between a and b, as "name, name", or NULL if none; caller frees.
 */
char		*conf_start_changes(const struct conf *a, const struct conf *b);

/*
 * What a SIGHUP or a restart would change: compares the configuration
 * a process runs with to `file`, a configuration just read, by value
 * ("60m" and "1h" are one time). A parameter that is read at start
 * only is compared in `started`, the configuration the process started
 * with, the others in `now`, the one in force since the last reload.
 * Calls fn (may be NULL) for each that differs, in table order, with
 * the values as written (valid during the call) and start set for a
 * parameter only a restart applies. Returns how many differ.
 */
typedef void	 conf_change_fn(const char *name, const char *running,
		    const char *file, int start, void *arg);
int		 conf_changes(const struct conf *started,
		    const struct conf *now, const struct conf *file,
		    conf_change_fn *fn, void *arg);

/*
 * Prints "name = value" for every parameter (or, with nondefault,
 * only those that differ from their default), in table order, or
 * only the names given in names[0..nnames). Returns -1 if a name is
 * unknown (reported on stderr), else 0.
 */
int		 conf_print(const struct conf *, FILE *, int nondefault,
		    char **names, int nnames);

/*
 * The parameters in table order, for documentation checks: fills *out
 * for parameter i and returns 1, or returns 0 past the last one. The
 * strings are static.
 */
struct conf_param {
	const char	*name;		/* "store_timeout" */
	const char	*type;		/* "time": as bouncer.conf(5) says */
	const char	*def;		/* the default, as written */
	int		 start;		/* read at start only */
};
int		 conf_param(size_t i, struct conf_param *out);
/* Where the file that was loaded came from, or NULL. */
const char	*conf_path(const struct conf *);

/* Parses a time value ("14d") into seconds. Returns 0 or -1. */
int		 conf_parse_time(const char *s, long long *out);

#endif
