/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_SERVER_INT_H
#define MC_SERVER_INT_H

/*
 * Inside the management listener: mc_server.c (accepting, limits, the poll
 * loop) and mc_srv_conn.c (one connection's TLS handshake, requests and
 * replies).
 */
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mc_authz.h"
#include "mc_conf.h"
#include "mc_mig.h"
#include "mc_msg.h"
#include "mc_refuse.h"

#define CONN_MAX 256
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

static inline void
set_deadline(struct conn *k, uint64_t now, uint64_t ms, const char *late)
{
	k->deadline = now + ms;
	k->late = late;
}

/* Refused, failed or timed out: audited within its source's budget (mc_server.c). */
void mc_srv_audit_conn(struct mc_server *s, const char *event, const struct conn *k,
		       const char *reason, uint64_t now);
/* One wake-up's work on k; false when it must close (mc_srv_conn.c). */
bool mc_srv_step(struct mc_server *s, struct conn *k, uint64_t now);
/* A request waits in OpenSSL's buffer, where poll() does not see it. */
bool mc_srv_pending(const struct conn *k);

#endif
