/*
 * socketmap.h -- Postfix's socketmap protocol, server side
 *
 * For transport_maps = socketmap:inet:127.0.0.1:10041:transport, so
 * that mail which never passes through smtpd (sendmail(1) submissions)
 * is held for suppressed recipients too. A request is a netstring
 * "NAME KEY"; the answer a netstring "OK value", "NOTFOUND ", "TEMP
 * reason" or "PERM reason" (socketmap_table(5)).
 *
 * This lookup fails closed: while the server is down, Postfix defers
 * the mail it would route through the map. See bouncerd(8).
 *
 * Connections are capped, timed and evicted by connlimit.h; a client
 * that does not read its answers is not read either once
 * CONNLIMIT_WATERMARK bytes of them wait.
 */
#ifndef BOUNCER_SOCKETMAP_H
#define BOUNCER_SOCKETMAP_H

#include <stddef.h>

#include "histo.h"
#include "verdict.h"

struct event_base;
struct socketmap;

/*
 * Looks key up in the map called name: fills *out (it comes with
 * ACT_DUNNO set, which is "not found") and returns 0, or returns -1
 * for a temporary failure. This module words the value as
 * transport_maps wants it (socketmap_value()).
 */
typedef int socketmap_fn(const char *name, const char *key,
		    struct answer *out, void *arg);

struct socketmap_limits {
	unsigned	 max_conns;	/* more close the longest idle */
	int		 idle_timeout;	/* seconds with no request answered */
	int		 request_timeout;	/* seconds for one to arrive */
};

struct socketmap_stats {
	unsigned long	 requests, found, notfound, temp, bad;
	struct histo	 latency;	/* time to answer each lookup */
	unsigned long	 connections;	/* accepted, ever */
	unsigned long	 open;		/* open now */
	unsigned long	 evicted;	/* closed to make room */
	unsigned long	 timed_out;	/* idle or request timeout */
	unsigned long	 refused;	/* accept failed: no descriptor */
};

/*
 * Serves the listening socket fd (taken over). lim NULL: the
 * defaults. NULL with *errp.
 */
struct socketmap *socketmap_new(struct event_base *, int fd,
		    const struct socketmap_limits *lim, socketmap_fn *,
		    void *arg, char **errp);
void		 socketmap_free(struct socketmap *);	/* NULL is fine */
/*
 * The transport_maps value for a (no "OK "), into buf, cut to bufsz
 * and terminated: ACT_REJECT routes to the error(8) transport
 * ("error:5.1.1 bouncer: recipient suppressed: ..."), ACT_DEFER to
 * retry ("retry:4.2.2 bouncer: recipient in back-off: ..."); "" for
 * ACT_DUNNO (not found). Returns the length written.
 */
size_t		 socketmap_value(const struct answer *a, char *buf,
		    size_t bufsz);
/* The counters, as of now; valid until the next call. */
const struct socketmap_stats *socketmap_stats(struct socketmap *);

#endif
