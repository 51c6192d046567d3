/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_CLIENT_H
#define MC_CLIENT_H

/* The management plane's side of the protocol: requests over one connection. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct mc_peer {
	char name[128];		/* for messages; the host if not given */
	char host[128];		/* address or DNS name the certificate must match */
	char port[8];
};

/* "[NAME=]HOST:PORT" or "[NAME=][ADDR6]:PORT"; 0 or -1. */
int mc_peer_parse(const char *s, struct mc_peer *p);

/*
 * One appliance's connection, opened by the first request and reused by the
 * next. A request whose send or reply breaks is never sent again (it may
 * have been done); the connection then closes. Before a request's first
 * byte, a connection found closed (or broken by the one before) is opened
 * again, at most once per connection object; after that it stays down and
 * every request fails at once. So nothing is ever started twice.
 */
struct mc_conn {
	SSL_CTX *ctx;
	const struct mc_peer *peer;
	SSL *ssl;
	int fd;
	int timeout_ms;		/* each connect, read and write */
	bool used, reconnected, down;
	bool readonly;		/* only requests that may be repeated (status): opened
				 * again before any request that finds it closed */
	char err[512];		/* why it is down */
};

void mc_conn_init(struct mc_conn *k, SSL_CTX *ctx, const struct mc_peer *p, int timeout_ms);
/* One request and its reply, as mc_call; 0 with *reply, or -errno with err. */
int mc_conn_call(struct mc_conn *k, const char *text, json_t **reply, char *err, size_t errlen);
void mc_conn_close(struct mc_conn *k);

/*
 * One request on a connection of its own: send text (a JSON object) over mutual TLS and read the reply, within
 * timeout_ms; the appliance's certificate must chain to the CA and name the
 * host (IP address or DNS name). 0 with *reply, or -errno with err.
 */
int mc_call(SSL_CTX *ctx, const struct mc_peer *p, const char *text, int timeout_ms,
	    json_t **reply, char *err, size_t errlen);

#endif
