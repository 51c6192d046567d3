/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_CLIENT_H
#define MC_CLIENT_H

/* The management plane's side of the protocol: one request per connection. */
#include <jansson.h>
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
 * Send text (a JSON object) over mutual TLS and read the reply, within
 * timeout_ms; the appliance's certificate must chain to the CA and name the
 * host (IP address or DNS name). 0 with *reply, or -errno with err.
 */
int mc_call(SSL_CTX *ctx, const struct mc_peer *p, const char *text, int timeout_ms,
	    json_t **reply, char *err, size_t errlen);

#endif
