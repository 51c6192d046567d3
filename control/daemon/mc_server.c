/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The management listener: non-blocking TLS connections in one poll loop,
 * a cap on their number, a deadline on each (handshake, idle, slow peer).
 * A connection that misbehaves is closed alone; the others go on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "mc_audit.h"
#include "mc_authz.h"
#include "mc_server.h"

#define CONN_MAX 256

enum cstate { C_HANDSHAKE, C_READ, C_WRITE };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate st;
	time_t deadline;
	bool close_after;	/* after the reply: a protocol error */
	char peer[64];		/* address:port */
	char subject[MC_IDENTITY_MAX];	/* client certificate's subject (RFC 2253) */
	const struct mc_client *who;	/* its entry of mgmt.clients, once known */
	uint32_t need;		/* message length once the prefix is in */
	size_t got;
	uint8_t in[4 + MC_MSG_MAX];
	char *out;
	size_t out_len, out_off;
};

struct mc_server {
	const struct mc_conf *conf;
	struct mc_state *st;
	SSL_CTX *ctx;
	int lfd;
	unsigned int nconn;
	struct conn *c[CONN_MAX];
};

int
mc_listen(const char *spec, char *err, size_t errlen)
{
	char host[128], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST |
				  AI_NUMERICSERV | AI_PASSIVE }, *ai = NULL;
	int fd = -1, one = 1, rc;

	snprintf(host, sizeof(host), "%s", spec);
	port = strrchr(host, ':');
	if (port == NULL) {
		snprintf(err, errlen, "mgmt.listen '%s' must be ADDRESS:PORT", spec);
		return -EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "mgmt.listen '%s': %s", spec, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -errno;
	}
	freeaddrinfo(ai);
	return fd;
}

struct mc_server *
mc_server_new(const struct mc_conf *conf, struct mc_state *st, SSL_CTX *ctx, int lfd)
{
	struct mc_server *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		s->conf = conf;
		s->st = st;
		s->ctx = ctx;
		s->lfd = lfd;
	}
	return s;
}

static void
conn_close(struct mc_server *s, int i)
{
	struct conn *k = s->c[i];

	if (k->ssl != NULL) {
		if (k->st != C_HANDSHAKE)
			SSL_shutdown(k->ssl);	/* best effort; non-blocking */
		SSL_free(k->ssl);
	}
	close(k->fd);
	free(k->out);
	OPENSSL_cleanse(k, sizeof(*k));	/* its buffer may have held a key */
	free(k);
	s->c[i] = NULL;
	s->nconn--;
}

static void
audit_conn(const char *event, const struct conn *k, const char *reason)
{
	json_t *o = json_pack("{s:s,s:s}", "peer", k->peer, "reason", reason);

	if (k->who != NULL || k->subject[0])
		json_object_set_new(o, "client", json_string(k->who ? k->who->identity : k->subject));
	mc_audit(event, o);
}

static void
accept_one(struct mc_server *s, time_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", serv[8] = "?";
	struct conn *k;
	int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

	if (fd < 0)
		return;
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	for (i = 0; i < CONN_MAX && s->c[i] != NULL; i++)
		;
	if (s->nconn >= s->conf->max_conns || i == CONN_MAX ||
	    (k = calloc(1, sizeof(*k))) == NULL) {
		mc_audit("connection_refused", json_pack("{s:s,s:s}", "peer", host,
							 "reason", "connection limit"));
		close(fd);
		return;
	}
	k->fd = fd;
	snprintf(k->peer, sizeof(k->peer), "%s:%s", host, serv);
	k->deadline = now + s->conf->timeout_s;
	k->ssl = SSL_new(s->ctx);
	if (k->ssl == NULL || SSL_set_fd(k->ssl, fd) != 1) {
		SSL_free(k->ssl);
		close(fd);
		free(k);
		return;
	}
	s->c[i] = k;
	s->nconn++;
}

/* Returns false when the connection must close. */
static bool
handshake(struct mc_server *s, struct conn *k, time_t now)
{
	int r = SSL_accept(k->ssl), e;
	char why[256];

	if (r == 1) {
		k->who = mc_authz_client(s->conf, k->ssl, k->subject, sizeof(k->subject));
		if (k->who == NULL) {
			audit_conn("auth_failure", k, "client certificate not allowed: no entry of "
				   "mgmt.clients is its subject or subjectAltName");
			return false;
		}
		k->st = C_READ;
		k->deadline = now + s->conf->timeout_s;
		return true;
	}
	e = SSL_get_error(k->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return true;
	mc_tls_failure(k->ssl, why, sizeof(why));
	audit_conn("auth_failure", k, why);
	return false;
}

static void
reply(struct conn *k, char *body, time_t now, time_t timeout)
{
	size_t n = body ? strlen(body) : 0;
	uint32_t be = htonl((uint32_t)n);

	k->out = malloc(4 + n);
	if (k->out == NULL) {
		free(body);
		k->close_after = true;
		return;
	}
	memcpy(k->out, &be, 4);
	memcpy(k->out + 4, body, n);
	free(body);
	k->out_len = 4 + n;
	k->out_off = 0;
	k->st = C_WRITE;
	k->deadline = now + timeout;
}

static void
serve(struct mc_server *s, struct conn *k, time_t now)
{
	struct mc_req req;
	struct mc_err e;
	char *out;

	if (mc_msg_parse((const char *)k->in + 4, k->need, &req, &e) != 0) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "peer", k->peer, "code", e.code,
				      "reason", e.msg);

		json_object_set_new(o, "client", json_string(k->who->identity));
		mc_audit("request_rejected", o);
		out = mc_msg_error(e.code, e.msg);
	} else {
		out = mc_handle(s->st, &req, k->who);
		mc_req_clear(&req);
	}
	OPENSSL_cleanse(k->in, sizeof(k->in));
	k->got = 0;
	k->need = 0;
	reply(k, out, now, s->conf->timeout_s);
}

static bool
read_more(struct mc_server *s, struct conn *k, time_t now)
{
	for (;;) {
		size_t want = k->got < 4 ? 4 - k->got : 4 + k->need - k->got;
		int r, e;

		if (want == 0) {
			serve(s, k, now);
			return true;
		}
		r = SSL_read(k->ssl, k->in + k->got, (int)want);
		if (r <= 0) {
			e = SSL_get_error(k->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
		}
		k->got += (size_t)r;
		k->deadline = now + s->conf->timeout_s;
		if (k->got == 4) {
			uint32_t be;

			memcpy(&be, k->in, 4);
			k->need = ntohl(be);
			if (k->need == 0 || k->need > MC_MSG_MAX) {
				char msg[96];

				snprintf(msg, sizeof(msg), "message length %u is not 1..%d", k->need,
					 MC_MSG_MAX);
				audit_conn("request_rejected", k, msg);
				reply(k, mc_msg_error("bad_message", msg), now, s->conf->timeout_s);
				k->close_after = true;	/* the stream cannot be trusted */
				return true;
			}
		}
	}
}

static bool
write_more(struct conn *k, time_t now, time_t timeout)
{
	while (k->out_off < k->out_len) {
		int r = SSL_write(k->ssl, k->out + k->out_off, (int)(k->out_len - k->out_off)), e;

		if (r <= 0) {
			e = SSL_get_error(k->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
		}
		k->out_off += (size_t)r;
	}
	free(k->out);
	k->out = NULL;
	if (k->close_after)
		return false;
	k->st = C_READ;
	k->deadline = now + timeout;
	return true;
}

static bool
step(struct mc_server *s, struct conn *k, time_t now)
{
	switch (k->st) {
	case C_HANDSHAKE:
		return handshake(s, k, now) && (k->st == C_HANDSHAKE || read_more(s, k, now));
	case C_READ:
		return read_more(s, k, now) && (k->st != C_WRITE || write_more(k, now, s->conf->timeout_s));
	case C_WRITE:
		return write_more(k, now, s->conf->timeout_s);
	}
	return false;
}

int
mc_server_run(struct mc_server *s, volatile sig_atomic_t *quit)
{
	struct pollfd pfd[CONN_MAX + 1];
	int map[CONN_MAX + 1];
	time_t next_tick = 0;

	while (!*quit) {
		time_t now = time(NULL);
		nfds_t n = 0;

		mc_authz_reload(s->conf, s->ctx);	/* after a SIGHUP: a new CRL */
		pfd[n].fd = s->lfd;
		pfd[n].events = POLLIN;
		map[n++] = -1;
		for (int i = 0; i < CONN_MAX; i++) {
			struct conn *k = s->c[i];

			if (k == NULL)
				continue;
			if (now > k->deadline) {
				audit_conn(k->st == C_HANDSHAKE ? "auth_failure" : "connection_closed", k,
					   "timeout: peer too slow or idle");
				conn_close(s, i);
				continue;
			}
			pfd[n].fd = k->fd;
			/* SSL may want either direction whatever our state: ask for both. */
			pfd[n].events = POLLIN | (k->st == C_WRITE ? POLLOUT : 0);
			map[n++] = i;
		}
		if (poll(pfd, n, 200) < 0 && errno != EINTR)
			return -errno;
		now = time(NULL);
		for (nfds_t j = 0; j < n; j++) {
			if (pfd[j].revents == 0)
				continue;
			if (map[j] < 0) {
				accept_one(s, now);
				continue;
			}
			if (s->c[map[j]] != NULL && !step(s, s->c[map[j]], now))
				conn_close(s, map[j]);
		}
		if (now >= next_tick) {
			mc_tick(s->st);
			next_tick = now + 1;
		}
	}
	return 0;
}

void
mc_server_free(struct mc_server *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < CONN_MAX; i++)
		if (s->c[i] != NULL)
			conn_close(s, i);
	close(s->lfd);
	free(s);
}
