/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The management listener: non-blocking TLS connections in one poll loop,
 * a cap on their number and on those from one source, and deadlines that
 * a peer cannot push back by trickling bytes: the TLS handshake
 * (mgmt.handshake_ms), each request from its first byte (mgmt.request_s),
 * the idle time between requests and each reply (mgmt.timeout_s). One
 * connection carries any number of requests, one after another, each with
 * its own deadlines (migsecctl reuses one for a whole batch). A
 * connection that misbehaves is closed alone; the others go on. What is
 * refused is audited through mc_refuse.c, within a budget per source.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include "mc_query.h"
#include "mc_refuse.h"
#include "mc_server.h"

#define CONN_MAX 256
#define ACCEPT_BURST 32		/* accepted per wake-up: refusals must not queue */
#define PENDING_BURST 8		/* requests already buffered, served per wake-up */

enum cstate { C_HANDSHAKE, C_READ, C_WRITE };

struct conn {
	int fd;
	SSL *ssl;
	enum cstate st;
	uint64_t deadline;	/* CLOCK_MONOTONIC ms */
	const char *late;	/* what the deadline is for, if it passes */
	bool close_after;	/* after the reply: a protocol error */
	struct mc_src src;
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
	struct mc_refuse refused;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
set_deadline(struct conn *k, uint64_t now, uint64_t ms, const char *late)
{
	k->deadline = now + ms;
	k->late = late;
}

struct mc_server *
mc_server_new(const struct mc_conf *conf, struct mc_state *st, SSL_CTX *ctx, int lfd)
{
	struct mc_server *s = calloc(1, sizeof(*s));	/* large: the refusal table */

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

/* Refused, failed or timed out: audited within its source's budget. */
static void
audit_conn(struct mc_server *s, const char *event, const struct conn *k, const char *reason,
	   uint64_t now)
{
	json_t *o = json_pack("{s:s,s:s}", "peer", k->peer, "reason", reason);

	if (k->who != NULL || k->subject[0])
		json_object_set_new(o, "client", json_string(k->who ? k->who->identity : k->subject));
	mc_refuse_audit(&s->refused, &k->src, event, reason, o, now);
}

static unsigned int
from_source(const struct mc_server *s, const struct mc_src *src)
{
	unsigned int n = 0;

	for (int i = 0; i < CONN_MAX; i++)
		n += s->c[i] != NULL && mc_src_same(&s->c[i]->src, src);
	return n;
}

/* Why fd (from src) gets no slot, or NULL; i: the free slot. */
static const char *
no_slot(const struct mc_server *s, const struct mc_src *src, int *i)
{
	for (*i = 0; *i < CONN_MAX && s->c[*i] != NULL; (*i)++)
		;
	if (s->nconn >= s->conf->max_conns || *i == CONN_MAX)
		return "connection limit";
	if (from_source(s, src) >= s->conf->max_per_source)
		return "per-source limit";
	return NULL;
}

/* false when there is nothing more to accept. */
static bool
accept_one(struct mc_server *s, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", serv[8] = "?";
	struct conn *k = calloc(1, sizeof(*k));
	int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC), i, one = 1;
	const char *why;

	if (fd < 0 || k == NULL) {
		if (fd >= 0)
			close(fd);
		free(k);
		return fd >= 0;
	}
	/* No Nagle: a reply behind unacknowledged session tickets waited for a delayed ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv, sizeof(serv),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	k->fd = fd;
	mc_src_of(&ss, &k->src);
	snprintf(k->peer, sizeof(k->peer), "%s:%s", host, serv);
	why = no_slot(s, &k->src, &i);
	if (why == NULL && ((k->ssl = SSL_new(s->ctx)) == NULL || SSL_set_fd(k->ssl, fd) != 1))
		why = "out of memory";
	if (why != NULL) {
		audit_conn(s, "connection_refused", k, why, now);
		SSL_free(k->ssl);
		close(fd);
		free(k);
		return true;
	}
	set_deadline(k, now, s->conf->handshake_ms, "timeout: TLS handshake not done within "
		     "mgmt.handshake_ms");
	s->c[i] = k;
	s->nconn++;
	return true;
}

/* Returns false when the connection must close. */
static bool
handshake(struct mc_server *s, struct conn *k, uint64_t now)
{
	int r = SSL_accept(k->ssl), e;
	char why[256];

	if (r == 1) {
		k->who = mc_authz_client(s->conf, k->ssl, k->subject, sizeof(k->subject));
		if (k->who == NULL) {
			audit_conn(s, "auth_failure", k, "client certificate not allowed: no entry of "
				   "mgmt.clients is its subject or subjectAltName", now);
			return false;
		}
		k->st = C_READ;
		set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: idle");
		return true;
	}
	e = SSL_get_error(k->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return true;
	mc_tls_failure(k->ssl, why, sizeof(why));
	audit_conn(s, "auth_failure", k, why, now);
	return false;
}

/* The reply must be taken within mgmt.timeout_s. */
static void
reply(const struct mc_server *s, struct conn *k, char *body, uint64_t now)
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
	set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: reply not taken within "
		     "mgmt.timeout_s");
}

static void
serve(struct mc_server *s, struct conn *k, uint64_t now)
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
	reply(s, k, out, now);
}

/* The length prefix is in: a length out of range ends the connection after the reply. */
static void
check_length(struct mc_server *s, struct conn *k, uint64_t now)
{
	char msg[96];
	uint32_t be;

	memcpy(&be, k->in, 4);
	k->need = ntohl(be);
	if (k->need != 0 && k->need <= MC_MSG_MAX)
		return;
	snprintf(msg, sizeof(msg), "message length %u is not 1..%d", k->need, MC_MSG_MAX);
	mc_audit("request_rejected", json_pack("{s:s,s:s,s:s}", "peer", k->peer,
					       "client", k->who->identity, "reason", msg));
	reply(s, k, mc_msg_error("bad_message", msg), now);
	k->close_after = true;	/* the stream cannot be trusted */
}

/* One deadline per request, from its first byte: trickling does not push it back. */
static bool
read_more(struct mc_server *s, struct conn *k, uint64_t now)
{
	while (k->st == C_READ) {
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
		if (k->got == 0)
			set_deadline(k, now, s->conf->request_s * 1000ULL, "timeout: request not "
				     "complete within mgmt.request_s");
		k->got += (size_t)r;
		if (k->got == 4)
			check_length(s, k, now);
	}
	return true;
}

static bool
write_more(const struct mc_server *s, struct conn *k, uint64_t now)
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
	set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: idle");
	return true;
}

static bool
step1(struct mc_server *s, struct conn *k, uint64_t now)
{
	switch (k->st) {
	case C_HANDSHAKE:
		return handshake(s, k, now) && (k->st == C_HANDSHAKE || read_more(s, k, now));
	case C_READ:
		return read_more(s, k, now) && (k->st != C_WRITE || write_more(s, k, now));
	case C_WRITE:
		return write_more(s, k, now);
	}
	return false;
}

/*
 * A request that came in one TLS record with the one before sits in
 * OpenSSL's buffer, where poll() does not see it: serve it now, a few per
 * wake-up (pending() makes the next poll return at once for the rest).
 */
static bool
step(struct mc_server *s, struct conn *k, uint64_t now)
{
	if (!step1(s, k, now))
		return false;
	for (int i = 0; i < PENDING_BURST && k->st == C_READ && SSL_has_pending(k->ssl); i++)
		if (!step1(s, k, now))
			return false;
	return true;
}

static bool
pending(const struct conn *k)
{
	return k->st == C_READ && SSL_has_pending(k->ssl);
}

/*
 * The poll set: the listener, then every connection not past its deadline;
 * *busy if one has a request buffered already.
 */
static nfds_t
poll_set(struct mc_server *s, struct pollfd *pfd, int *map, uint64_t now, bool *busy)
{
	nfds_t n = 0;

	pfd[n].fd = s->lfd;
	pfd[n].events = POLLIN;
	map[n++] = -1;
	if (mc_query_fd() >= 0) {	/* the libvirt hook's read-only query: mc_query.c */
		pfd[n] = (struct pollfd){ .fd = mc_query_fd(), .events = POLLIN };
		map[n++] = -2;
	}
	for (int i = 0; i < CONN_MAX; i++) {
		struct conn *k = s->c[i];

		if (k == NULL)
			continue;
		if (now > k->deadline) {
			audit_conn(s, k->st == C_HANDSHAKE ? "auth_failure" : "connection_closed", k,
				   k->late, now);
			conn_close(s, i);
			continue;
		}
		*busy |= pending(k);
		pfd[n].fd = k->fd;
		/* SSL may want either direction whatever our state: ask for both. */
		pfd[n].events = POLLIN | (k->st == C_WRITE ? POLLOUT : 0);
		map[n++] = i;
	}
	return n;
}

int
mc_server_run(struct mc_server *s, volatile sig_atomic_t *quit)
{
	struct pollfd pfd[CONN_MAX + 2];
	int map[CONN_MAX + 2];
	uint64_t next_tick = 0;

	while (!*quit) {
		uint64_t now = now_ms();
		bool busy = false;
		nfds_t n;

		mc_authz_reload(s->conf, s->ctx);	/* after a SIGHUP: a new CA and CRL */
		n = poll_set(s, pfd, map, now, &busy);

		if (poll(pfd, n, busy ? 0 : 200) < 0 && errno != EINTR)
			return -errno;
		now = now_ms();
		for (nfds_t j = 0; j < n; j++) {
			if (pfd[j].revents == 0 &&
			    (map[j] < 0 || s->c[map[j]] == NULL || !pending(s->c[map[j]])))
				continue;
			if (map[j] == -2) {
				mc_query_serve(s->st);
				continue;
			}
			if (map[j] < 0) {
				for (int a = 0; a < ACCEPT_BURST && accept_one(s, now); a++)
					;
				continue;
			}
			if (s->c[map[j]] != NULL && !step(s, s->c[map[j]], now))
				conn_close(s, map[j]);
		}
		if (now >= next_tick) {
			mc_tick(s->st);
			mc_refuse_tick(&s->refused, now);
			next_tick = now + 1000;
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
