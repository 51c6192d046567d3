/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_TLS_H
#define MC_TLS_H

/*
 * TLS 1.3 only, mutual authentication: both sides present a certificate
 * that chains to the configured CA; the appliance requires a client
 * certificate with extended key usage clientAuth (and, given a CRL, not
 * revoked). Plaintext copies of records
 * are cleansed by OpenSSL (SSL_OP_CLEANSE_PLAINTEXT): they carry keys.
 */
#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

/* The listener's context: client certificates with extendedKeyUsage clientAuth,
 * checked against crl (PEM, of the CA) unless crl is NULL or "". */
SSL_CTX *mc_tls_server_ctx(const char *ca, const char *cert, const char *key, const char *crl,
			   char *err, size_t errlen);
/* Read the CA and the CRL again (SIGHUP); on failure the old ones stay. 0 or -1. */
int mc_tls_reload_trust(SSL_CTX *ctx, const char *ca, const char *crl, char *err,
			size_t errlen);
SSL_CTX *mc_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err,
			   size_t errlen);
/* Why the handshake failed (certificate verification, or the TLS alert). */
void mc_tls_failure(SSL *ssl, char *buf, size_t len);
/*
 * The certificate's whole subject in RFC 2253 form, as 'openssl x509
 * -subject -nameopt RFC2253' prints it ("CN=mgmt1,O=lab"). 0, or -1 if it
 * did not fit (buf then holds its beginning, for a log line only).
 */
int mc_tls_subject(X509 *x, char *buf, size_t len);
/*
 * Is this certificate that identity? "DNS:", "URI:" or "email:" and a value:
 * one of its subjectAltNames of that type, exactly (length included, so an
 * embedded NUL never matches); anything else: its whole subject, exactly.
 */
bool mc_tls_identity_matches(X509 *x, const char *identity);

#endif
