/*
 * listener.h -- listening sockets from "inet:host:port" and "unix:/path"
 *
 * The same address forms Postfix uses in check_policy_service and
 * smtpd_milters. A unix socket's stale file is removed before binding.
 *
 * Who may connect to a unix socket is what keeps other local users
 * from feeding the daemon forged log lines or bounces: each one is
 * bound under a umask that leaves it 0600, then given its owner and
 * group, then made 0660. It is never more open than that, not even
 * for a moment. inet sockets are left as they are.
 */
#ifndef BOUNCER_LISTENER_H
#define BOUNCER_LISTENER_H

#include <sys/types.h>
#include <sys/socket.h>

/* The umask under which a unix socket is bound: it is made 0600. */
#define LISTENER_UMASK	0177

/*
 * Owner and group for the unix sockets (the strings are the caller's).
 * user: the owner, as uid, when started as root (NULL: keep the owner
 * the socket was made with). group: a group name (socket_group), looked
 * up when a socket is made; NULL or "" means the user's login group gid
 * when user is set, and otherwise the group the socket was made with.
 */
struct listener_perm {
	const char	*user;
	uid_t		 uid;
	gid_t		 gid;
	const char	*group;
};

/*
 * Parses spec into *ss (length in *sslen). Returns 0, or -1 with a
 * message in *errp that the caller frees. "host" may be a name only in
 * the form "localhost"; otherwise a numeric IPv4 or [IPv6] address.
 */
int	listener_parse(const char *spec, struct sockaddr_storage *ss,
	    socklen_t *sslen, char **errp);
/*
 * Makes a non-blocking, close-on-exec listening socket for spec; a
 * unix socket gets perm (NULL: mode 0660 only). Returns the
 * descriptor, or -1 with a message in *errp.
 */
int	listener_open(const char *spec, int backlog,
	    const struct listener_perm *perm, char **errp);
/*
 * Binds fd, a unix socket of any type, to path, as listener_open()
 * does. Returns 0, or -1 with a message in *errp that leaves it to
 * the caller to say which socket.
 */
int	listener_bind_unix(int fd, const char *path,
	    const struct listener_perm *perm, char **errp);
/*
 * Gives the unix socket at path its owner and group from perm, then
 * mode 0660. For a socket something else bound, such as libmilter's:
 * bind it under LISTENER_UMASK first. Returns 0, or -1 with a message
 * in *errp that says how to mend the configuration.
 */
int	listener_perm_apply(const char *path,
	    const struct listener_perm *perm, char **errp);

#endif
