/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl's side of the management protocol: an APPLIANCE argument, and
 * one request per mutual-TLS connection within a deadline. Used by every
 * migsecctl command, on its one thread.
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
	int fd, rc, soerr = 0;
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
	/* Blocking from here on, each read and write bounded. */
	if (fcntl(fd, F_SETFL, 0) != 0 ||
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

int
mc_call(SSL_CTX *ctx, const struct mc_peer *p, const char *text, int timeout_ms, json_t **reply,
	char *err, size_t errlen)
{
	size_t n = strlen(text);
	uint32_t be = htonl((uint32_t)n);
	char *buf = NULL, why[256];
	json_error_t je;
	SSL *ssl = NULL;
	int fd, rc = -EPROTO;

	*reply = NULL;
	fd = connect_to(p, timeout_ms, err, errlen);
	if (fd < 0)
		return fd;
	ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
		goto tls_fail;
	if (inet_pton(AF_INET, p->host, why) == 1 || inet_pton(AF_INET6, p->host, why) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), p->host);
	else
		SSL_set1_host(ssl, p->host);
	if (SSL_connect(ssl) != 1)
		goto tls_fail;
	if (tls_io(ssl, &be, 4, true) || tls_io(ssl, (void *)(uintptr_t)text, n, true) ||
	    tls_io(ssl, &be, 4, false)) {
		snprintf(err, errlen, "%s: the appliance closed the connection (or timed out)", p->name);
		goto out;
	}
	n = ntohl(be);
	if (n == 0 || n > MC_MSG_MAX || (buf = malloc(n)) == NULL || tls_io(ssl, buf, n, false)) {
		snprintf(err, errlen, "%s: bad reply", p->name);
		goto out;
	}
	*reply = json_loadb(buf, n, 0, &je);
	if (*reply == NULL)
		snprintf(err, errlen, "%s: reply is not JSON: %s", p->name, je.text);
	else
		rc = 0;
	goto out;
tls_fail:
	mc_tls_failure(ssl, why, sizeof(why));
	snprintf(err, errlen, "%s: TLS: %s", p->name, why);
	rc = -EACCES;
out:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	if (buf)
		OPENSSL_clear_free(buf, n);
	return rc;
}
