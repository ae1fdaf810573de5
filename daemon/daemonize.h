/*
 * daemonize.h -- leave the terminal, say when start-up is done, and
 * hold the pid file
 *
 * daemonize_begin() forks. The parent stays behind, attached to the
 * terminal, and waits for the child: it prints on its standard error
 * the warnings and errors the child logs until start-up is done, then
 * exits 0 when the child calls daemonize_ready(), or with the child's
 * exit status (2 if it was killed) when the child dies first. So
 * "bouncerd && bouncerctl status" works: when the command returns, the
 * sockets are bound and the store is open.
 *
 * The pid file is locked (flock) for as long as the daemon runs: a
 * second daemon finds the lock taken and refuses to start, while a
 * file left behind by one that crashed, with no lock on it, is simply
 * taken over.
 */
#ifndef BOUNCER_DAEMONIZE_H
#define BOUNCER_DAEMONIZE_H

/*
 * Forks; returns only in the child, which is then the leader of a new
 * session, in "/", with standard input and output on /dev/null.
 * Standard error stays open until daemonize_ready(). Call before any
 * thread is started. Returns 0, or -1 with a message in *errp (the
 * caller frees) if the fork or the pipe failed.
 */
int	daemonize_begin(char **errp);
/*
 * Start-up is done: lets the parent exit 0, and puts standard error on
 * /dev/null. Does nothing when daemonize_begin() was not called.
 */
void	daemonize_ready(void);

/*
 * Creates (mode 0644 under the umask) or opens path, takes its lock
 * and writes the caller's pid into it. Returns the descriptor, which
 * must stay open while the daemon runs, or -1 with a message in *errp
 * (the caller frees): "already running as pid 123" when another
 * process holds the lock.
 */
int	daemonize_pidfile(const char *path, char **errp);
/* Removes path and closes fd (at a clean exit). fd -1 does nothing. */
void	daemonize_pidfile_remove(const char *path, int fd);

#endif
