/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local read-only query socket (mc_query.h). Protocol: the client sends
 * one line "vm NAME\n" (NAME as in a start request, 1..64 printable ASCII);
 * the answer is one JSON line, then the socket closes:
 *   {"v":1,"vm":NAME,"active":true,"sealed":true,"id":ID,"policy":P,"role":R}
 *   {"v":1,"vm":NAME,"active":false}
 *   {"v":1,"error":"..."}
 * Who may ask is the file's mode (0660, owner mgmt.user and its group);
 * the asker's uid and pid go into the audit line. Nothing here reaches the
 * TLS listener or the data plane: it only reads the migration table.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mc_audit.h"
#include "mc_mig_int.h"
#include "mc_query.h"

#define QUERY_TIMEOUT_MS 200

static int qfd = -1;
static char qpath[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int
hand_over(const char *user, char *err, size_t errlen)
{
	struct passwd *pw = user[0] ? getpwnam(user) : NULL;

	if (chmod(qpath, 0660) != 0 ||
	    (pw != NULL && chown(qpath, pw->pw_uid, pw->pw_gid) != 0)) {
		snprintf(err, errlen, "mgmt.query_socket %s: %s", qpath, strerror(errno));
		return -errno;
	}
	return 0;
}

int
mc_query_open(const struct mc_conf *conf, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (conf->query_socket[0] == '\0')
		return 0;
	if (conf->query_socket[0] != '/' || strlen(conf->query_socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "mgmt.query_socket '%s' must be an absolute path of at most "
			 "%zu characters", conf->query_socket, sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	snprintf(qpath, sizeof(qpath), "%s", conf->query_socket);
	memcpy(sa.sun_path, qpath, strlen(qpath));
	unlink(qpath);	/* a stale one from a previous run */
	qfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (qfd < 0 || bind(qfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(qfd, 16) != 0) {
		snprintf(err, errlen, "cannot listen on mgmt.query_socket %s: %s", qpath,
			 strerror(errno));
		mc_query_close();
		return -EIO;
	}
	return hand_over(conf->user, err, errlen);
}

int
mc_query_fd(void)
{
	return qfd;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "vm NAME\n" -> NAME in vm; -1 with why. The whole line within
 * QUERY_TIMEOUT_MS, however the client trickles it. */
static int
read_request(int fd, char *vm, size_t vmlen, const char **why)
{
	char line[8 + MC_VM_MAX + 2];
	struct timespec t0;
	size_t got = 0;
	ssize_t r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < sizeof(line) - 1 && memchr(line, '\n', got) == NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = QUERY_TIMEOUT_MS - ms_since(&t0);

		r = left > 0 && poll(&p, 1, (int)left) == 1 ?
			recv(fd, line + got, sizeof(line) - 1 - got, MSG_DONTWAIT) : -1;
		if (r <= 0) {
			*why = r == 0 ? "closed before a full request" : "no request in time";
			return -1;
		}
		got += (size_t)r;
	}
	line[got] = '\0';
	if (strncmp(line, "vm ", 3) != 0 || strchr(line, '\n') == NULL) {
		*why = "not \"vm NAME\\n\"";
		return -1;
	}
	*strchr(line, '\n') = '\0';
	for (const char *p = line + 3; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return *why = "the name is not printable ASCII", -1;
	if (line[3] == '\0' || strlen(line + 3) > MC_VM_MAX || strlen(line + 3) >= vmlen)
		return *why = "the name must be 1..64 characters", -1;
	snprintf(vm, vmlen, "%s", line + 3);
	return 0;
}

/* A sealed migration of vm (any role) beats an unsealed one; NULL: none. */
static const struct mc_mig *
find_vm(const struct mc_state *st, const char *vm)
{
	const struct mc_mig *best = NULL;

	for (int i = 0; i < MC_MIG_MAX; i++) {
		const struct mc_mig *m = &st->m[i];

		if (!m->used || strcmp(m->vm, vm) != 0)
			continue;
		if (best == NULL || (m->policy != MC_POL_DISABLED && best->policy == MC_POL_DISABLED))
			best = m;
	}
	return best;
}

static json_t *
answer(const struct mc_state *st, const char *vm)
{
	const struct mc_mig *m = find_vm(st, vm);
	json_t *o = json_pack("{s:i,s:s,s:b}", "v", 1, "vm", vm, "active", m != NULL);

	if (m != NULL)
		json_object_update_missing_new(o, json_pack("{s:b,s:s,s:s,s:s}", "sealed",
			m->policy != MC_POL_DISABLED, "id", m->id, "policy",
			mc_policy_name(m->policy), "role", mc_role_name(m->role)));
	return o;
}

static void
audit(int fd, const char *vm, json_t *reply, const char *why)
{
	struct ucred uc = { .pid = 0, .uid = (uid_t)-1 };
	socklen_t l = sizeof(uc);
	json_t *o;

	getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l);
	o = json_pack("{s:I,s:I}", "peer_uid", (json_int_t)uc.uid, "peer_pid", (json_int_t)uc.pid);
	if (why != NULL) {
		json_object_set_new(o, "reason", json_string(why));
	} else {
		json_object_set_new(o, "vm", json_string(vm));
		json_object_update_missing(o, reply);
		json_object_del(o, "v");
	}
	mc_audit(why ? "vm_query_rejected" : "vm_query", o);
}

void
mc_query_serve(struct mc_state *st)
{
	struct timeval tv = { 0, QUERY_TIMEOUT_MS * 1000 };	/* for the reply */
	int fd = accept4(qfd, NULL, NULL, SOCK_CLOEXEC);
	char vm[MC_VM_MAX + 1] = "", *text;
	const char *why = NULL;
	json_t *reply;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (read_request(fd, vm, sizeof(vm), &why) == 0)
		reply = answer(st, vm);
	else
		reply = json_pack("{s:i,s:s}", "v", 1, "error", why);
	audit(fd, vm, reply, why);
	text = json_dumps(reply, JSON_COMPACT);
	if (text != NULL) {
		if (send(fd, text, strlen(text), MSG_NOSIGNAL) > 0)
			send(fd, "\n", 1, MSG_NOSIGNAL);
		free(text);
	}
	json_decref(reply);
	close(fd);
}

void
mc_query_close(void)
{
	if (qfd >= 0) {
		close(qfd);
		unlink(qpath);
	}
	qfd = -1;
}
