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
 */
#ifndef BOUNCER_SOCKETMAP_H
#define BOUNCER_SOCKETMAP_H

#include <stddef.h>

struct event_base;
struct socketmap;

/*
 * Looks key up in the map called name. Writes the value into buf and
 * returns 1; returns 0 for not found, -1 for a temporary failure.
 */
typedef int socketmap_fn(const char *name, const char *key, char *buf,
		    size_t bufsz, void *arg);

struct socketmap_stats {
	unsigned long	 requests, found, notfound, temp, bad;
};

/* Serves the listening socket fd (taken over). NULL with *errp. */
struct socketmap *socketmap_new(struct event_base *, int fd, socketmap_fn *,
		    void *arg, char **errp);
void		 socketmap_free(struct socketmap *);	/* NULL is fine */
const struct socketmap_stats *socketmap_stats(const struct socketmap *);

#endif
