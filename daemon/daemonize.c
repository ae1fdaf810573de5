/*
 * daemonize.c -- leave the terminal, say when start-up is done, and
 * hold the pid file
 *
 * The child reports to the parent through a pipe: every warning and
 * error it logs before it is ready goes down the pipe as a line (a
 * log hook), then one byte READY when start-up is done. The parent
 * copies the lines to its standard error and reads until the pipe
 * closes: READY seen means success; otherwise the child died during
 * start-up and its exit status is the parent's.
 *
 * One fork and setsid(): the child leads a session with no
 * controlling terminal and never opens one.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemonize.h"
#include "log.h"
#include "xalloc.h"

#define READY	'\001'

static int	report_fd = -1;	/* the child's end of the pipe */

static void
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* The log hook of the child until it is ready: warnings and errors. */
static void
report(enum log_level lvl, const char *msg, void *arg)
{
	char line[4200];
	int n;

	(void)arg;
	if (report_fd < 0 || lvl < LOG_LVL_WARN)
		return;
	n = snprintf(line, sizeof(line), "bouncerd: %s%s\n",
	    lvl == LOG_LVL_WARN ? "warning: " : "error: ", msg);
	if (n > 0)
		write_all(report_fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1);
}

/* The parent: relays what the child says, then exits. */
static void __attribute__((noreturn))
parent(int fd, pid_t child)
{
	char buf[4096];
	ssize_t n;
	int ready = 0, status;

	for (;;) {
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			break;
		if (buf[n - 1] == READY) {
			ready = 1;
			n--;
		}
		write_all(2, buf, (size_t)n);
	}
	if (ready)
		_exit(0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		_exit(WEXITSTATUS(status));
	fprintf(stderr, "bouncerd: the daemon died during start-up\n");
	_exit(2);
}

int
daemonize_begin(char **errp)
{
	int fds[2], devnull;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		*errp = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		*errp = xasprintf("fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		parent(fds[0], pid);
	}
	close(fds[0]);
	report_fd = fds[1];
	log_set_hook(report, NULL);
	(void)setsid();
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (devnull > 2)
			close(devnull);
	}
	return 0;
}

void
daemonize_ready(void)
{
	char c = READY;
	int devnull;

	if (report_fd < 0)
		return;
	log_set_hook(NULL, NULL);
	write_all(report_fd, &c, 1);
	close(report_fd);
	report_fd = -1;
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
}

int
daemonize_pidfile(const char *path, char **errp)
{
	char buf[32];
	ssize_t n;
	long pid;
	int fd, len;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) < 0) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			*errp = pid > 0 ? xasprintf("%s: bouncerd is already "
			    "running as pid %ld", path, pid) :
			    xasprintf("%s: another bouncerd holds it", path);
		} else
			*errp = xasprintf("%s: lock: %s", path,
			    strerror(errno));
		close(fd);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
		*errp = xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
daemonize_pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("pid_file %s: cannot remove: %s", path,
		    strerror(errno));
	close(fd);
}
