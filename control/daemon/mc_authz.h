/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_AUTHZ_H
#define MC_AUTHZ_H

/*
 * Who a management client is and what it may do. A client is one of
 * mgmt.clients, found at the handshake by its certificate (mc_tls.c's exact
 * identity match); each request then passes mc_authz_check() before
 * mc_handle() acts on it. Runs on migsec-control's one thread.
 */
#include <stdbool.h>

#include <openssl/ssl.h>

#include "mc_conf.h"
#include "mc_msg.h"

#define MC_OWNER_TAG_LEN 16	/* hex digits of an identity's tag in the SA tags */

struct mc_state;

/*
 * The configured client this handshake's certificate is (the first entry
 * that matches), or NULL. subject gets the certificate's subject for the
 * audit trail either way.
 */
const struct mc_client *mc_authz_client(const struct mc_conf *c, SSL *ssl, char *subject,
					size_t len);
/*
 * NULL if who may make request r; else the refusal (malloc'ed JSON reply),
 * audited as request_denied: a role without that op, a migration another
 * identity owns, a peer outside mgmt.peers, selectors that overlap a
 * running migration's.
 */
char *mc_authz_check(struct mc_state *st, const struct mc_req *r, const struct mc_client *who);
/* SIGHUP asks for mgmt.ca and mgmt.crl to be read again (revocations). */
void mc_authz_watch_hup(void);
/* If SIGHUP came: reload them into ctx, audited as trust_reloaded, or
 * trust_reload_failed and the old ones stay. The server loop calls it. */
void mc_authz_reload(const struct mc_conf *c, SSL_CTX *ctx);
/* The owner's mark in the SA tags: the first 8 bytes of SHA-256(identity), hex. */
void mc_authz_owner_tag(const char *identity, char out[MC_OWNER_TAG_LEN + 1]);
/* The configured identity with that mark; NULL if none (the migration is then admin-only). */
const char *mc_authz_owner_by_tag(const struct mc_conf *c, const char *tag);

#endif
