/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's file (ms_ctl_socket.h): whom it belongs to, a
 * directory nobody else may write, a socket born 0600 and handed over
 * without following a symlink. Main lcore, at start-up, for ms_ctl_server.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ms_ctl_socket.h"

/* Who the socket belongs to: control.user, or (none set) this process. */
int
ms_ctl_socket_owner(const char *user, uid_t *uid, gid_t *gid, char *err, unsigned int errlen)
{
	struct passwd *pw;

	*uid = getuid();
	*gid = getgid();
	if (user == NULL || user[0] == '\0')
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "control.user: no such user '%s'", user);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/*
 * The socket's directory: whoever else may write it could swap the socket
 * for a symlink, or for a socket of their own that migsec-control would
 * then send keys to. Owned by root or this user, writable by no one else
 * (by its group only if that is this process's group, or the group the
 * socket is handed to).
 */
int
ms_ctl_dir_check(const char *path, gid_t gid, char *err, unsigned int errlen)
{
	char dir[108];
	char *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';	/* "/x.sock": "/" */
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "control socket directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & S_IWOTH) ||
	    ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid() &&
	     st.st_gid != gid)) {
		snprintf(err, errlen, "control socket directory %s (owner uid %u, mode %04o) may be "
			 "written by others: refused; use a directory only root or this user may "
			 "write, e.g. /run/migsec", dir, (unsigned int)st.st_uid,
			 (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * Hand the socket just bound to uid:gid. Its mode is 0600 from its birth
 * (umask at bind). fchown() on the socket's descriptor would change the
 * socket, not its file, so the file is changed by name, without following
 * a symlink, and only once it is seen to be the socket this process made.
 */
static int
hand_over(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0177) != 0)
		return -EPERM;
	if ((st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	return 0;
}

/* A listening socket at path, mode 0600 from its birth, owned by uid:gid; or -errno. */
int
ms_ctl_listen_at(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);	/* a stale socket from a previous run */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	umask(old);
	if (rc == 0)
		rc = hand_over(path, uid, gid);
	if (rc == 0 && listen(fd, 8) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}
