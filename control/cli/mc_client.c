/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl's side of the management protocol: an APPLIANCE argument, and
 * a mutual-TLS connection to it that carries one request after another,
 * each within the deadline. Used by every migsecctl command, on its one
 * thread.
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
#include <sys/time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mc_client.h"
#include "mc_msg.h"
#include "mc_tls.h"

int
mc_peer_parse(const char *s, struct mc_peer *p)
{
	const char *eq = strchr(s, '='), *hp = eq ? eq + 1 : s, *colon;
	size_t hl;

	memset(p, 0, sizeof(*p));
	colon = strrchr(hp, ':');
	if (colon == NULL || colon == hp || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(p->port) || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	hl = (size_t)(colon - hp);
	if (hp[0] == '[') {	/* [v6]:port */
		if (hl < 3 || hp[hl - 1] != ']')
			return -1;
		hp++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(p->host))
		return -1;
	memcpy(p->host, hp, hl);
	strcpy(p->port, colon + 1);
	if (eq) {
		if ((size_t)(eq - s) == 0 || (size_t)(eq - s) >= sizeof(p->name))
			return -1;
		memcpy(p->name, s, (size_t)(eq - s));
	} else {
		snprintf(p->name, sizeof(p->name), "%s", p->host);
	}
	return 0;
}

static int
connect_to(const struct mc_peer *p, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct pollfd pfd;
	int fd, rc, soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	rc = getaddrinfo(p->host, p->port, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", p->name, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) ||
	    soerr) {
		errno = soerr ? soerr : ETIMEDOUT;
		goto fail;
	}
	/*
	 * Blocking from here on, each read and write bounded. No Nagle: a
	 * request is one record, and waiting for the ACK of the record before
	 * (the server's session tickets) cost a delayed ACK, 40 ms, each time.
	 */
	if (fcntl(fd, F_SETFL, 0) != 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	rc = -errno;
	snprintf(err, errlen, "%s (%s:%s): cannot connect: %s", p->name, p->host, p->port,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static int
tls_io(SSL *ssl, void *buf, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		int r = out ? SSL_write(ssl, (uint8_t *)buf + done, (int)(len - done))
			    : SSL_read(ssl, (uint8_t *)buf + done, (int)(len - done));

		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* A TLS connection to k->peer, verified; 0 or -errno with k->err. */
static int
conn_open(struct mc_conn *k)
{
	char why[256];

	k->fd = connect_to(k->peer, k->timeout_ms, k->err, sizeof(k->err));
	if (k->fd < 0)
		return k->fd;
	k->ssl = SSL_new(k->ctx);
	if (k->ssl == NULL || SSL_set_fd(k->ssl, k->fd) != 1)
		goto tls_fail;
	if (inet_pton(AF_INET, k->peer->host, why) == 1 || inet_pton(AF_INET6, k->peer->host, why) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), k->peer->host);
	else
		SSL_set1_host(k->ssl, k->peer->host);
	if (SSL_connect(k->ssl) == 1)
		return 0;
tls_fail:
	mc_tls_failure(k->ssl, why, sizeof(why));
	snprintf(k->err, sizeof(k->err), "%s: TLS: %s", k->peer->name, why);
	mc_conn_close(k);
	return -EACCES;
}

/*
 * Whether the open connection can take a request: the appliance sends
 * nothing unasked but session tickets and, when it closes an idle
 * connection, close_notify. A peek without blocking tells them apart.
 */
static bool
conn_alive(struct mc_conn *k)
{
	struct pollfd pfd = { .fd = k->fd, .events = POLLIN };
	char c;
	int r, e;

	if (poll(&pfd, 1, 0) == 0)
		return true;
	if (fcntl(k->fd, F_SETFL, O_NONBLOCK) != 0)
		return false;
	r = SSL_peek(k->ssl, &c, 1);
	e = SSL_get_error(k->ssl, r);
	ERR_clear_error();
	if (fcntl(k->fd, F_SETFL, 0) != 0)
		return false;
	return r <= 0 && e == SSL_ERROR_WANT_READ;	/* bytes nobody asked for: broken too */
}

void
mc_conn_init(struct mc_conn *k, SSL_CTX *ctx, const struct mc_peer *p, int timeout_ms)
{
	memset(k, 0, sizeof(*k));
	k->ctx = ctx;
	k->peer = p;
	k->timeout_ms = timeout_ms;
	k->fd = -1;
}

void
mc_conn_close(struct mc_conn *k)
{
	if (k->ssl != NULL) {
		SSL_shutdown(k->ssl);
		SSL_free(k->ssl);
		k->ssl = NULL;
	}
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/*
 * Before a request's first byte: open the connection the first time, and
 * open it again, once per command, if it is found closed. A request that
 * was (even partly) sent is never sent again.
 */
static int
conn_ready(struct mc_conn *k)
{
	if (k->ssl != NULL && conn_alive(k))
		return 0;
	if (k->used) {
		mc_conn_close(k);
		if (!k->readonly && (k->down || k->reconnected)) {
			if (!k->down)
				snprintf(k->err, sizeof(k->err), "%s: connection lost, and already "
					 "reconnected once: not again", k->peer->name);
			k->down = true;
			return -ECONNRESET;
		}
		k->reconnected = true;
	}
	k->used = true;
	if (conn_open(k) != 0) {
		k->down = !k->readonly;
		return -ECONNREFUSED;
	}
	return 0;
}

int
mc_conn_call(struct mc_conn *k, const char *text, json_t **reply, char *err, size_t errlen)
{
	size_t n = strlen(text), rn = 0;
	uint32_t be = htonl((uint32_t)n);
	char *buf = NULL;
	json_error_t je;
	int rc = -EPROTO;

	*reply = NULL;
	if (conn_ready(k) != 0) {
		snprintf(err, errlen, "%s", k->err);
		return -ECONNREFUSED;
	}
	/* One record per request: the prefix and the text together. */
	buf = malloc(4 + n);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, &be, 4);
	memcpy(buf + 4, text, n);
	rc = tls_io(k->ssl, buf, 4 + n, true);
	OPENSSL_clear_free(buf, 4 + n);	/* may hold the key in hex */
	buf = NULL;
	if (rc || tls_io(k->ssl, &be, 4, false)) {
		snprintf(err, errlen, "%s: the appliance closed the connection (or timed out)",
			 k->peer->name);
		rc = -EPIPE;
		goto broken;
	}
	rn = ntohl(be);
	if (rn == 0 || rn > MC_REPLY_MAX || (buf = malloc(rn)) == NULL ||
	    tls_io(k->ssl, buf, rn, false)) {
		snprintf(err, errlen, "%s: bad reply", k->peer->name);
		rc = -EPROTO;
		goto broken;
	}
	*reply = json_loadb(buf, rn, 0, &je);
	OPENSSL_clear_free(buf, rn);
	if (*reply != NULL)
		return 0;
	snprintf(err, errlen, "%s: reply is not JSON: %s", k->peer->name, je.text);
	rc = -EPROTO;
broken:		/* the stream is out of step: the next request needs a new connection */
	if (buf != NULL)
		OPENSSL_clear_free(buf, rn);
	mc_conn_close(k);
	return rc;
}

int
mc_call(SSL_CTX *ctx, const struct mc_peer *p, const char *text, int timeout_ms, json_t **reply,
	char *err, size_t errlen)
{
	struct mc_conn k;
	int rc;

	mc_conn_init(&k, ctx, p, timeout_ms);
	rc = mc_conn_call(&k, text, reply, err, errlen);
	mc_conn_close(&k);
	return rc;
}
