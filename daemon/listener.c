/*
 * listener.c -- listening sockets from "inet:host:port" and "unix:/path"
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "xalloc.h"

int
listener_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *sslen, char **errp)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	const char *hp, *colon;
	char host[64], *end;
	unsigned long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlen(spec + 5) >= sizeof(sun->sun_path)) {
			*errp = xasprintf("%s: want unix:/absolute/path, "
			    "shorter than %zu bytes", spec,
			    sizeof(sun->sun_path));
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, spec + 5);
		*sslen = sizeof(*sun);
		return 0;
	}
	if (strncmp(spec, "inet:", 5) != 0) {
		*errp = xasprintf("%s: want inet:host:port or unix:/path", spec);
		return -1;
	}
	hp = spec + 5;
	if (*hp == '[') {
		if ((colon = strstr(hp, "]:")) == NULL)
			goto bad;
		n = (size_t)(colon - hp - 1);
		hp++;
		colon++;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL)
			goto bad;
		n = (size_t)(colon - hp);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, hp, n);
	host[n] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port > 65535 || errno)
		goto bad;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
bad:
	*errp = xasprintf("%s: want inet:host:port with a numeric address, "
	    "or unix:/path", spec);
	return -1;
}

/*
 * The user the process runs as, for a message: its name, or its uid
 * in buf if it has none.
 */
static const char *
user_name(char *buf, size_t bufsz)
{
	struct passwd *pw;

	if ((pw = getpwuid(geteuid())) != NULL)
		return pw->pw_name;
	snprintf(buf, bufsz, "uid %lu", (unsigned long)geteuid());
	return buf;
}

int
listener_perm_apply(const char *path, const struct listener_perm *perm,
    char **errp)
{
	const char *group = NULL, *me;
	struct group *gr;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char buf[32];
	int e;

	if (perm != NULL && perm->user != NULL) {
		uid = perm->uid;
		gid = perm->gid;
	}
	if (perm != NULL && perm->group != NULL && *perm->group != '\0') {
		group = perm->group;
		if ((gr = getgrnam(group)) == NULL) {
			*errp = xasprintf("socket_group %s: no such group; "
			    "set socket_group to a group Postfix's "
			    "mail_owner is in, or to nothing (socket_group =) "
			    "to keep bouncerd's own", group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	/* lchown: whatever is at path now, it is not followed. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    lchown(path, uid, gid) < 0) {
		e = errno;
		if (e == EPERM && geteuid() != 0 && group != NULL) {
			me = user_name(buf, sizeof(buf));
			*errp = xasprintf("socket_group %s: cannot give the "
			    "socket to that group: %s; bouncerd runs as %s, "
			    "who is not in it: add %s to group %s "
			    "(usermod -aG %s %s), or set socket_group = to "
			    "keep bouncerd's own group", group, strerror(e),
			    me, me, group, group, me);
		} else
			*errp = xasprintf("cannot give the socket to user %s, "
			    "group %s: %s",
			    perm->user != NULL ? perm->user : "(unchanged)",
			    group != NULL ? group : perm->user != NULL ?
			    "(the user's)" : "(unchanged)", strerror(e));
		return -1;
	}
	if (chmod(path, 0660) < 0) {
		*errp = xasprintf("chmod 0660: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
listener_bind_unix(int fd, const char *path,
    const struct listener_perm *perm, char **errp)
{
	struct sockaddr_un sun;
	mode_t old;
	int rc, e;

	if (*path != '/' || strlen(path) >= sizeof(sun.sun_path)) {
		*errp = xasprintf("want an absolute path shorter than %zu "
		    "bytes", sizeof(sun.sun_path));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	unlink(path);
	/*
	 * The umask is the process's: this runs at start-up, before the
	 * milter's threads, so nothing else makes a file meanwhile.
	 */
	old = umask(LISTENER_UMASK);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old);
	if (rc < 0) {
		*errp = xstrdup(strerror(e));
		return -1;
	}
	if (listener_perm_apply(path, perm, errp) < 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

int
listener_open(const char *spec, int backlog,
    const struct listener_perm *perm, char **errp)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char *e = NULL;
	int fd, rc, on = 1;

	if (listener_parse(spec, &ss, &sslen, errp) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		*errp = xasprintf("%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX)
		rc = listener_bind_unix(fd,
		    ((struct sockaddr_un *)&ss)->sun_path, perm, &e);
	else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if ((rc = bind(fd, (struct sockaddr *)&ss, sslen)) < 0)
			e = xstrdup(strerror(errno));
	}
	if (rc == 0 && (rc = listen(fd, backlog)) < 0)
		e = xstrdup(strerror(errno));
	if (rc < 0) {
		*errp = xasprintf("%s: %s", spec, e);
		free(e);
		close(fd);
		return -1;
	}
	return fd;
}
