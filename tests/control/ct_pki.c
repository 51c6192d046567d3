/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A test PKI made in memory with OpenSSL (ct.h): a CA, certificates with
 * exactly the names, extended key usage and subjectAltNames a test needs
 * (embedded NUL bytes and over-long names included, which the openssl CLI
 * cannot write), CRLs; and PEM files of them for the TLS contexts.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ct.h"

EVP_PKEY *
ct_pki_key(void)
{
	return EVP_EC_gen("P-256");
}

/* One RDN per entry, in the order given (the DER order: "O=x" then "CN=y"). */
static X509_NAME *
name_of(const struct ct_rdn *rdn)
{
	X509_NAME *n = X509_NAME_new();

	for (; n != NULL && rdn->nid != 0; rdn++)
		X509_NAME_add_entry_by_NID(n, rdn->nid, V_ASN1_UTF8STRING,
					   (const unsigned char *)rdn->value,
					   rdn->len ? (int)rdn->len : -1, -1, 0);
	return n;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A DNS subjectAltName of exactly len bytes (NUL bytes kept). */
static void
add_dns(X509 *x, const char *dns, size_t len)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();

	ASN1_STRING_set(s, dns, (int)len);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(gens, g);
	X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
}

X509 *
ct_pki_cert(const struct ct_cert_spec *c, X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key)
{
	static const char *const eku[] = { NULL, "clientAuth", "serverAuth" };
	X509 *x = X509_new();
	X509_NAME *n = name_of(c->subject);

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), c->serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : n);
	X509_set_pubkey(x, key);
	if (ca == NULL) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, ca, NID_key_usage, "critical,digitalSignature");
	}
	if (c->eku != CT_EKU_NONE)
		add_ext(x, ca ? ca : x, NID_ext_key_usage, eku[c->eku]);
	if (c->dns != NULL)
		add_dns(x, c->dns, c->dns_len ? c->dns_len : strlen(c->dns));
	X509_sign(x, cakey ? cakey : key, EVP_sha256());
	X509_NAME_free(n);
	return x;
}

X509_CRL *
ct_pki_crl(X509 *ca, EVP_PKEY *cakey, const long *serials, unsigned int n)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();

	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	X509_gmtime_adj(t, -60);
	X509_CRL_set1_lastUpdate(crl, t);
	X509_gmtime_adj(t, 86400);
	X509_CRL_set1_nextUpdate(crl, t);
	for (unsigned int i = 0; i < n; i++) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serials[i]);
		X509_REVOKED_set_serialNumber(r, s);
		X509_gmtime_adj(t, -30);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(s);
	}
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, cakey, EVP_sha256());
	ASN1_TIME_free(t);
	return crl;
}

int
ct_pki_write(const char *path, X509 *x, EVP_PKEY *key, X509_CRL *crl)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = x ? PEM_write_X509(f, x) : key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
								  NULL) : PEM_write_X509_CRL(f, crl);
	fclose(f);
	return ok == 1 ? 0 : -1;
}
