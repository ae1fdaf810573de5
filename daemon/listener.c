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

int
listener_open(const char *spec, int backlog, char **errp)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, on = 1;

	if (listener_parse(spec, &ss, &sslen, errp) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		*errp = xasprintf("%s: socket: %s", spec, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
	else
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 ||
	    listen(fd, backlog) < 0) {
		*errp = xasprintf("%s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	if (ss.ss_family == AF_UNIX)
		chmod(((struct sockaddr_un *)&ss)->sun_path, 0666);
	return fd;
}
