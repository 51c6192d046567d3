/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_TLS_H
#define MC_TLS_H

/*
 * TLS 1.3 only, mutual authentication: both sides present a certificate
 * that chains to the configured CA; the appliance requires a client
 * certificate fit for client authentication. Plaintext copies of records
 * are cleansed by OpenSSL (SSL_OP_CLEANSE_PLAINTEXT): they carry keys.
 */
#include <stddef.h>

#include <openssl/ssl.h>

SSL_CTX *mc_tls_server_ctx(const char *ca, const char *cert, const char *key, char *err,
			   size_t errlen);
SSL_CTX *mc_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			   size_t errlen);
/* Why the handshake failed (certificate verification, or the TLS alert). */
void mc_tls_failure(SSL *ssl, char *buf, size_t len);
/* The peer certificate's subject CN; "" if none. */
void mc_tls_peer_cn(SSL *ssl, char *buf, size_t len);

#endif
