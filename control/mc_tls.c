/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mutual TLS 1.3 contexts (mc_tls.h) for migsec-control's listener and
 * migsecctl's connections, what a failed handshake says, and who the client
 * is (its certificate against an identity). Single-threaded users only.
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

/*
 * X509_PURPOSE_SSL_CLIENT alone passes a certificate without extended key
 * usage (an appliance's own, issued without EKU): the client's must say
 * clientAuth. Refused as "unsupported certificate purpose".
 */
static int
verify_client(int ok, X509_STORE_CTX *x)
{
	X509 *leaf = X509_STORE_CTX_get_current_cert(x);

	if (!ok || X509_STORE_CTX_get_error_depth(x) != 0 || leaf == NULL)
		return ok;
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	return 1;
}

/* The CA, and the CRL checked for the client's certificate if one is given. */
static X509_STORE *
trust_store(const char *ca, const char *crl, char *err, size_t errlen)
{
	X509_STORE *st = X509_STORE_new();
	X509_LOOKUP *lu;

	if (st == NULL || X509_STORE_load_file(st, ca) != 1) {
		ssl_err(err, errlen, "cannot load the CA", ca);
		goto fail;
	}
	if (crl == NULL || crl[0] == '\0')
		return st;
	lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());
	if (lu == NULL || X509_load_crl_file(lu, crl, X509_FILETYPE_PEM) < 1) {
		ssl_err(err, errlen, "cannot load the CRL (mgmt.crl, PEM)", crl);
		goto fail;
	}
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);	/* the client's certificate */
	return st;
fail:
	X509_STORE_free(st);
	return NULL;
}

SSL_CTX *
mc_tls_server_ctx(const char *ca, const char *cert, const char *key, const char *crl, char *err,
		  size_t errlen)
{
	SSL_CTX *ctx = common(TLS_server_method(), ca, cert, key, err, errlen);

	if (ctx == NULL)
		return NULL;
	if (mc_tls_reload_trust(ctx, ca, crl, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_client);
	SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);	/* key usage: TLS client */
	if (crl != NULL && crl[0] != '\0')	/* the handshake's parameters, not only the store's */
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

int
mc_tls_reload_trust(SSL_CTX *ctx, const char *ca, const char *crl, char *err, size_t errlen)
{
	X509_STORE *st = trust_store(ca, crl, err, errlen);

	if (st == NULL)
		return -1;
	SSL_CTX_set_cert_store(ctx, st);	/* frees the old one; handshakes verify later */
	return 0;
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

int
mc_tls_subject(X509 *x, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = -1;
	int rc = -1;

	buf[0] = '\0';
	/* RFC 2253 escapes control bytes (an embedded NUL is "\\00") and 8-bit ones. */
	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0)
		n = BIO_get_mem_data(b, &p);
	if (n >= 0 && p != NULL && memchr(p, '\0', (size_t)n) == NULL) {
		rc = (size_t)n < len ? 0 : -1;
		snprintf(buf, len, "%.*s", (int)n, p);	/* cut: shown, never matched */
	}
	BIO_free(b);
	return rc;
}

/* A subjectAltName of this type equal to v, byte for byte and length for length. */
static bool
san_matches(X509 *x, int type, const char *v)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t vl = strlen(v);
	bool hit = false;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && !hit; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == type)	/* DNS, URI, email: IA5String */
			hit = (size_t)ASN1_STRING_length(g->d.ia5) == vl &&
			      memcmp(ASN1_STRING_get0_data(g->d.ia5), v, vl) == 0;
	}
	GENERAL_NAMES_free(gens);
	return hit;
}

bool
mc_tls_identity_matches(X509 *x, const char *identity)
{
	static const struct { const char *prefix; int type; } san[] = {
		{ "DNS:", GEN_DNS }, { "URI:", GEN_URI }, { "email:", GEN_EMAIL },
	};
	char subject[512];

	for (unsigned int i = 0; i < sizeof(san) / sizeof(san[0]); i++)
		if (strncmp(identity, san[i].prefix, strlen(san[i].prefix)) == 0)
			return san_matches(x, san[i].type, identity + strlen(san[i].prefix));
	return mc_tls_subject(x, subject, sizeof(subject)) == 0 && strcmp(subject, identity) == 0;
}
