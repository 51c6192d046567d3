/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Local control socket transport: a Unix stream socket that only the data
 * plane's user may open, a few non-blocking connections, length-prefixed
 * messages (ms_ctl_proto.h). Request bodies may hold keys: every receive
 * buffer is wiped after its request has been handled.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ms_ctl_server.h"
#include "ms_ctl_socket.h"
#include "ms_ctl_proto.h"
#include "ms_log.h"

#define CTL_CONNS 8
#define CTL_IDLE_SEC 60

struct conn {
	int fd;
	time_t last;
	uint32_t got;			/* bytes of hdr + body received */
	struct ms_ctl_hdr hdr;
	uint8_t body[MS_CTL_MAX_REQ];
	char *out;			/* reply being sent */
	size_t out_len, out_off;
};

struct ms_ctl {
	int lfd;
	char path[108];
	uid_t allowed_uid;
	ms_ctl_handler_fn handler;
	void *arg;
	struct conn c[CTL_CONNS];
};

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	explicit_bzero(&c->hdr, sizeof(c->hdr));
	explicit_bzero(c->body, sizeof(c->body));
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	c->got = 0;
	c->fd = -1;
}

int
ms_ctl_open(struct ms_ctl **out, const char *path, const char *user, ms_ctl_handler_fn h,
	    void *arg, char *err, unsigned int errlen)
{
	struct ms_ctl *c;
	uid_t uid;
	gid_t gid;
	int rc;

	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	rc = ms_ctl_socket_owner(user, &uid, &gid, err, errlen);
	if (rc == 0)
		rc = ms_ctl_dir_check(path, gid, err, errlen);
	if (rc != 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	for (int i = 0; i < CTL_CONNS; i++)
		c->c[i].fd = -1;
	c->handler = h;
	c->arg = arg;
	c->allowed_uid = uid;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->lfd = ms_ctl_listen_at(path, uid, gid);
	if (c->lfd < 0) {
		rc = c->lfd;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
ms_ctl_close(struct ms_ctl *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CTL_CONNS; i++)
		conn_close(&c->c[i]);
	close(c->lfd);
	unlink(c->path);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

int
ms_ctl_pollfds(struct ms_ctl *c, struct pollfd *fds, int max)
{
	int n = 0;

	if (max < 1 + CTL_CONNS)
		return -ENOSPC;
	fds[n].fd = c->lfd;
	fds[n++].events = POLLIN;
	for (int i = 0; i < CTL_CONNS; i++) {
		if (c->c[i].fd < 0)
			continue;
		fds[n].fd = c->c[i].fd;
		fds[n++].events = c->c[i].out ? POLLOUT : POLLIN;
	}
	return n;
}

static bool
peer_allowed(const struct ms_ctl *c, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
		return false;
	return cr.uid == 0 || cr.uid == c->allowed_uid;
}

static void
accept_one(struct ms_ctl *c, time_t now)
{
	int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!peer_allowed(c, fd)) {
		MS_LOG(WARNING, "control: refused a connection from another user");
		close(fd);
		return;
	}
	for (int i = 0; i < CTL_CONNS; i++) {
		if (c->c[i].fd < 0) {
			c->c[i].fd = fd;
			c->c[i].last = now;
			c->c[i].got = 0;
			return;
		}
	}
	MS_LOG(WARNING, "control: too many connections (max %d)", CTL_CONNS);
	close(fd);
}

static void
set_reply(struct conn *k, int32_t status, char *body, size_t len)
{
	struct ms_ctl_hdr h = { .magic = MS_CTL_MAGIC, .version = MS_CTL_VERSION,
				.op = k->hdr.op, .status = status };

	if (len > MS_CTL_MAX_REPLY) {
		free(body);
		body = strdup("reply too large");
		len = body ? strlen(body) : 0;
		h.status = -E2BIG;
	}
	h.len = (uint32_t)len;
	k->out = malloc(sizeof(h) + len);
	if (k->out == NULL) {
		free(body);
		conn_close(k);
		return;
	}
	memcpy(k->out, &h, sizeof(h));
	if (len)
		memcpy(k->out + sizeof(h), body, len);
	free(body);
	k->out_len = sizeof(h) + len;
	k->out_off = 0;
}

static void
error_reply(struct conn *k, int32_t status, const char *msg)
{
	char *b = strdup(msg);

	set_reply(k, status, b, b ? strlen(b) : 0);
}

/* The header is complete: is it one we accept? */
static bool
header_ok(struct conn *k)
{
	if (k->hdr.magic != MS_CTL_MAGIC) {
		error_reply(k, -EPROTO, "bad magic: not a migsec control message");
		return false;
	}
	if (k->hdr.version != MS_CTL_VERSION) {
		error_reply(k, -EPROTONOSUPPORT, "unsupported protocol version");
		return false;
	}
	if (k->hdr.len > MS_CTL_MAX_REQ) {
		error_reply(k, -EMSGSIZE, "request body too large");
		return false;
	}
	return true;
}

static void
handle(struct ms_ctl *c, struct conn *k)
{
	char *reply = NULL;
	size_t rlen = 0;
	int32_t st;

	st = c->handler(c->arg, k->hdr.op, k->body, k->hdr.len, &reply, &rlen);
	explicit_bzero(k->body, sizeof(k->body));	/* may have held a key */
	set_reply(k, st, reply, rlen);
	k->got = 0;
}

static void
read_conn(struct ms_ctl *c, struct conn *k)
{
	for (;;) {
		uint32_t want, hl = sizeof(k->hdr);
		uint8_t *dst;
		ssize_t r;

		if (k->got < hl) {
			dst = (uint8_t *)&k->hdr + k->got;
			want = hl - k->got;
		} else {
			dst = k->body + (k->got - hl);
			want = hl + k->hdr.len - k->got;
		}
		if (want == 0) {
			handle(c, k);
			return;
		}
		r = recv(k->fd, dst, want, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(k);
			return;
		}
		if (r < 0)
			return;
		k->got += (uint32_t)r;
		if (k->got == hl && !header_ok(k))
			return;	/* error reply queued; the connection closes after it */
	}
}

static void
write_conn(struct conn *k)
{
	ssize_t w = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);

	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(k);
		return;
	}
	k->out_off += (size_t)w;
	if (k->out_off < k->out_len)
		return;
	free(k->out);
	k->out = NULL;
	/* After a protocol error the stream cannot be trusted: close. */
	if (k->got != 0)
		conn_close(k);
}

void
ms_ctl_service(struct ms_ctl *c, const struct pollfd *fds, int n)
{
	time_t now = time(NULL);

	for (int i = 0; i < n; i++) {
		if (fds[i].revents == 0)
			continue;
		if (fds[i].fd == c->lfd) {
			accept_one(c, now);
			continue;
		}
		for (int j = 0; j < CTL_CONNS; j++) {
			struct conn *k = &c->c[j];

			if (k->fd != fds[i].fd)
				continue;
			k->last = now;
			if (fds[i].revents & (POLLERR | POLLNVAL))
				conn_close(k);
			else if (k->out)
				write_conn(k);
			else if (fds[i].revents & (POLLIN | POLLHUP))
				read_conn(c, k);
			break;
		}
	}
	for (int j = 0; j < CTL_CONNS; j++)
		if (c->c[j].fd >= 0 && now - c->c[j].last > CTL_IDLE_SEC)
			conn_close(&c->c[j]);
}
