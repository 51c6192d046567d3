/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CTL_SOCKET_H
#define MS_CTL_SOCKET_H

/* The control socket's file, for ms_ctl_server.c only. */
#include <sys/types.h>

/* Who the socket belongs to: user (control.user), or (none set) this process. */
int ms_ctl_socket_owner(const char *user, uid_t *uid, gid_t *gid, char *err, unsigned int errlen);
/* 0 if nobody but root, this user or gid may write the socket's directory. */
int ms_ctl_dir_check(const char *path, gid_t gid, char *err, unsigned int errlen);
/* A listening socket at path, mode 0600 from its birth, owned by uid:gid; or -errno. */
int ms_ctl_listen_at(const char *path, uid_t uid, gid_t gid);

#endif
