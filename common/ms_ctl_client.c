/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ms_ctl_client.h"
#include "ms_ctl_proto.h"

static long
ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 + (end->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Who listens on the socket: root (the packaged data plane) or this user.
 * Anyone else who got a socket onto that path (a directory others can
 * write, a stale path after the data plane died) must not be sent keys.
 */
static int
peer_check(int fd, const char *path, char *err, size_t errlen)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(err, errlen, "data plane at %s: cannot read its credentials: %s", path,
			 strerror(errno));
		return -errno;
	}
	if (cr.uid != 0 && cr.uid != geteuid()) {
		snprintf(err, errlen, "data plane at %s: served by uid %u (pid %d), not by root or "
			 "this user: refused", path, (unsigned int)cr.uid, (int)cr.pid);
		return -EPERM;
	}
	return 0;
}

/* Move exactly len bytes, or fail: timeout, hang-up, error. */
static int
xfer(int fd, void *buf, size_t len, bool out, const struct timespec *end)
{
	uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		long left = ms_left(end);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		n = out ? send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT)
			: recv(fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ms_ctl_call(const char *path, uint16_t op, const void *body, uint32_t len, int timeout_ms,
	    int32_t *status, char **reply, size_t *reply_len, char *err, size_t errlen)
{
	struct ms_ctl_hdr h = { .magic = MS_CTL_MAGIC, .version = MS_CTL_VERSION, .op = op,
				.len = len };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec end;
	char *buf = NULL;
	int fd, rc;

	*reply = NULL;
	*reply_len = 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to the data plane at %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	rc = peer_check(fd, path, err, errlen);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	rc = xfer(fd, &h, sizeof(h), true, &end);
	if (rc == 0 && len)
		rc = xfer(fd, (void *)(uintptr_t)body, len, true, &end);
	if (rc == 0)
		rc = xfer(fd, &h, sizeof(h), false, &end);
	if (rc == 0 && (h.magic != MS_CTL_MAGIC || h.len > MS_CTL_MAX_REPLY))
		rc = -EPROTO;
	if (rc == 0 && (buf = calloc(1, (size_t)h.len + 1)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = xfer(fd, buf, h.len, false, &end);
	close(fd);
	if (rc != 0) {
		free(buf);
		snprintf(err, errlen, "data plane at %s: %s", path,
			 rc == -ETIMEDOUT ? "no answer in time" : strerror(-rc));
		return rc;
	}
	*status = h.status;
	*reply = buf;
	*reply_len = h.len;
	return 0;
}
