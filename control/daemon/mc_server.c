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
 * This file accepts, limits and polls; mc_srv_conn.c serves a connection.
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
#include "mc_server_int.h"

#define ACCEPT_BURST 32		/* accepted per wake-up: refusals must not queue */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
void
mc_srv_audit_conn(struct mc_server *s, const char *event, const struct conn *k, const char *reason,
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
		mc_srv_audit_conn(s, "connection_refused", k, why, now);
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
			mc_srv_audit_conn(s, k->st == C_HANDSHAKE ? "auth_failure" : "connection_closed", k,
				   k->late, now);
			conn_close(s, i);
			continue;
		}
		*busy |= mc_srv_pending(k);
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
			    (map[j] < 0 || s->c[map[j]] == NULL || !mc_srv_pending(s->c[map[j]])))
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
			if (s->c[map[j]] != NULL && !mc_srv_step(s, s->c[map[j]], now))
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
