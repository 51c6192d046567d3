/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mutual TLS 1.3 contexts (mc_tls.h) for migsec-control's listener and
 * migsecctl's connections, and what a failed handshake says. Single-threaded
 * users only.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mc_tls.h"

static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();

	snprintf(err, errlen, "%s %s: %s", what, file ? file : "",
		 e ? ERR_reason_error_string(e) : "failed");
	ERR_clear_error();
}

static SSL_CTX *
common(const SSL_METHOD *method, const char *ca, const char *cert, const char *key, char *err,
       size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		ssl_err(err, errlen, "cannot create the TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_err(err, errlen, "cannot load the CA", ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, "cannot load the certificate", cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "cannot load the private key (or it does not match)", key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
mc_tls_server_ctx(const char *ca, const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = common(TLS_server_method(), ca, cert, key, err, errlen);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);	/* key usage: TLS client */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

SSL_CTX *
mc_tls_client_ctx(const char *ca, const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = common(TLS_client_method(), ca, cert, key, err, errlen);

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	return ctx;
}

void
mc_tls_failure(SSL *ssl, char *buf, size_t len)
{
	long v = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error();

	if (v != X509_V_OK)
		snprintf(buf, len, "certificate: %s", X509_verify_cert_error_string(v));
	else if (e != 0)
		snprintf(buf, len, "%s", ERR_reason_error_string(e));
	else
		snprintf(buf, len, "handshake failed");
	ERR_clear_error();
}

void
mc_tls_peer_cn(SSL *ssl, char *buf, size_t len)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);

	buf[0] = '\0';
	if (peer == NULL)
		return;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf,
				      (int)len) < 0)
		buf[0] = '\0';
	X509_free(peer);
}
