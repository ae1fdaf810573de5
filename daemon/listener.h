/*
 * listener.h -- listening sockets from "inet:host:port" and "unix:/path"
 *
 * The same address forms Postfix uses in check_policy_service and
 * smtpd_milters. A unix socket's stale file is removed before binding
 * and its mode set so the MTA's unprivileged processes can connect.
 */
#ifndef BOUNCER_LISTENER_H
#define BOUNCER_LISTENER_H

#include <sys/socket.h>

/*
 * Parses spec into *ss (length in *sslen). Returns 0, or -1 with a
 * message in *errp that the caller frees. "host" may be a name only in
 * the form "localhost"; otherwise a numeric IPv4 or [IPv6] address.
 */
int	listener_parse(const char *spec, struct sockaddr_storage *ss,
	    socklen_t *sslen, char **errp);
/*
 * Makes a non-blocking, close-on-exec listening socket for spec.
 * Returns the descriptor, or -1 with a message in *errp.
 */
int	listener_open(const char *spec, int backlog, char **errp);

#endif
