/*
 * check_listener.c -- who may connect to a unix socket listener_open()
 * makes
 *
 * Each case asks for a group (the process's own, another it may use,
 * none, one that does not exist, one it is not in) and checks the
 * socket that comes out: mode 0660 and that group, or a refusal that
 * names the group and says how to mend it, with no socket left behind.
 * The groups are picked from the running user's, so that the test
 * works unprivileged; what only root can do (another user as owner,
 * any group) is checked when run as root, and skipped otherwise.
 *
 * See also: listener.h.
 */
#include <sys/stat.h>

#include <check.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "testlib.h"

#define NCASES(a)	(sizeof(a) / sizeof(a[0]))

enum pick {
	OWN,		/* the process's effective group */
	OTHER,		/* another one it may give a file to */
	NONE,		/* socket_group empty */
	MISSING,	/* no such group */
	NOT_MINE,	/* one it is not in (unprivileged only) */
};

struct perm_case {
	const char	*name;
	enum pick	 pick;
	int		 owner;		/* root only: another user owns it */
	const char	*error;		/* NULL: made; else in the message */
};

static const struct perm_case cases[] = {
	{ "the process's own group", OWN, 0, NULL },
	{ "another group of the process", OTHER, 0, NULL },
	{ "no group: the one it was made with", NONE, 0, NULL },
	{ "root: another user, and a group", OTHER, 1, NULL },
	{ "root: another user, its login group", NONE, 1, NULL },
	{ "a group that does not exist", MISSING, 0, "no such group" },
	{ "a group the user is not in", NOT_MINE, 0, "usermod -aG" },
};

/* 1 if the process may give a file to gid without being root. */
static int
is_mine(gid_t gid)
{
	gid_t groups[256];
	int i, n;

	if (gid == getegid())
		return 1;
	n = getgroups((int)NCASES(groups), groups);
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * The first group in the group database other than the process's own
 * that is (mine = 1) or is not (mine = 0) one the process may use; for
 * root, any. NULL if there is none. Static.
 */
static const struct group *
find_group(int mine)
{
	static struct group found;
	static char name[256];
	struct group *gr;

	setgrent();
	while ((gr = getgrent()) != NULL)
		if (gr->gr_gid != getegid() &&
		    (geteuid() == 0 || is_mine(gr->gr_gid) == mine))
			break;
	if (gr != NULL) {
		snprintf(name, sizeof(name), "%s", gr->gr_name);
		found.gr_name = name;
		found.gr_gid = gr->gr_gid;
	}
	endgrent();
	return gr != NULL ? &found : NULL;
}

/* A user other than root, for root to give a socket to. */
static const struct passwd *
find_user(void)
{
	static struct passwd found;
	static char name[256];
	struct passwd *pw;

	setpwent();
	while ((pw = getpwent()) != NULL && pw->pw_uid == 0)
		;
	if (pw != NULL) {
		snprintf(name, sizeof(name), "%s", pw->pw_name);
		found.pw_name = name;
		found.pw_uid = pw->pw_uid;
		found.pw_gid = pw->pw_gid;
	}
	endpwent();
	return pw != NULL ? &found : NULL;
}

START_TEST(test_socket_perm)
{
	const struct perm_case *c = &cases[_i];
	const struct group *gr = NULL;
	const struct passwd *pw = NULL;
	struct listener_perm perm = { NULL, (uid_t)-1, (gid_t)-1, "" };
	char *dir, *path, *spec, *err = NULL;
	struct stat st, dst;
	gid_t want_gid;
	int fd;

	if (c->owner && (geteuid() != 0 || (pw = find_user()) == NULL))
		return;			/* only root gives files away */
	switch (c->pick) {
	case OWN:
		gr = getgrgid(getegid());
		ck_assert_msg(gr != NULL, "no name for gid %lu",
		    (unsigned long)getegid());
		break;
	case OTHER:
	case NOT_MINE:
		if (c->pick == NOT_MINE && geteuid() == 0)
			return;		/* root is in every group */
		if ((gr = find_group(c->pick == OTHER)) == NULL)
			return;		/* the system has none to offer */
		break;
	case NONE:
		break;
	case MISSING:
		perm.group = "bouncer-no-such-group";
		break;
	}
	if (gr != NULL)
		perm.group = gr->gr_name;
	if (pw != NULL) {
		perm.user = pw->pw_name;
		perm.uid = pw->pw_uid;
		perm.gid = pw->pw_gid;
	}

	dir = testlib_tmpdir("listener");
	ck_assert_int_ge(asprintf(&path, "%s/s.sock", dir), 0);
	ck_assert_int_ge(asprintf(&spec, "unix:%s", path), 0);
	ck_assert_int_eq(stat(dir, &dst), 0);
	fd = listener_open(spec, 8, &perm, &err);
	if (c->error != NULL) {
		ck_assert_msg(fd < 0, "%s: made a socket", c->name);
		ck_assert_msg(strstr(err, c->error) != NULL &&
		    strstr(err, perm.group) != NULL && strstr(err, spec) != NULL,
		    "%s: want \"%s\", the group and the socket in \"%s\"",
		    c->name, c->error, err);
		ck_assert_msg(lstat(path, &st) < 0, "%s: %s left behind",
		    c->name, path);
	} else {
		ck_assert_msg(fd >= 0, "%s: %s", c->name, err ? err : "");
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(S_ISSOCK(st.st_mode), "%s: not a socket",
		    c->name);
		ck_assert_msg((st.st_mode & 07777) == 0660, "%s: mode %04o",
		    c->name, (unsigned)(st.st_mode & 07777));
		if (gr != NULL)
			want_gid = gr->gr_gid;
		else if (pw != NULL)
			want_gid = pw->pw_gid;
		else	/* as bind(2) made it */
			want_gid = dst.st_mode & S_ISGID ? dst.st_gid :
			    getegid();
		ck_assert_msg(st.st_gid == want_gid, "%s: group %lu, want %lu",
		    c->name, (unsigned long)st.st_gid,
		    (unsigned long)want_gid);
		ck_assert_msg(st.st_uid == (pw != NULL ? pw->pw_uid :
		    geteuid()), "%s: owner %lu", c->name,
		    (unsigned long)st.st_uid);
		close(fd);
	}
	free(err);
	testlib_rmtree(dir);
	free(dir);
	free(path);
	free(spec);
}
END_TEST

static Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("unix socket permissions");

	tcase_add_loop_test(tc, test_socket_perm, 0, (int)NCASES(cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(listener_suite());
}
