/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The management listener's TLS checks, in one process: real TLS 1.3
 * handshakes over a socketpair against mc_tls_server_ctx() with
 * certificates from ct_pki.c: extended key usage clientAuth required,
 * revocation through mgmt.crl and its reload, and the exact identity match
 * (whole subject or subjectAltName; an embedded NUL or an over-long CN
 * never matches a shorter name).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "ct.h"
#include "mc_authz.h"
#include "mc_tls.h"
#include "tl.h"

static char dir[] = "/tmp/migsec-ct-tls-XXXXXX";
static X509 *ca;
static EVP_PKEY *cakey;

static const struct ct_rdn cn_migsecctl[] = { { NID_commonName, "migsecctl", 0 }, { 0 } };

static char *
path(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* NAME.pem and NAME.key, signed by the suite's CA. */
static void
issue(const char *name, const struct ct_rdn *subject, enum ct_eku eku, long serial)
{
	struct ct_cert_spec c = { .subject = subject, .eku = eku, .serial = serial };
	EVP_PKEY *k = ct_pki_key();
	X509 *x = ct_pki_cert(&c, ca, cakey, k);
	char f[64];

	snprintf(f, sizeof(f), "%s.pem", name);
	ct_pki_write(path(f), x, NULL, NULL);
	snprintf(f, sizeof(f), "%s.key", name);
	ct_pki_write(path(f), NULL, k, NULL);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void
write_crl(const long *serials, unsigned int n)
{
	X509_CRL *crl = ct_pki_crl(ca, cakey, serials, n);

	ct_pki_write(path("ca.crl"), NULL, NULL, crl);
	X509_CRL_free(crl);
}

static int
suite_init(void)
{
	static const struct ct_rdn cn_ca[] = { { NID_commonName, "ct CA", 0 }, { 0 } };
	static const struct ct_rdn cn_srv[] = { { NID_commonName, "appliance", 0 }, { 0 } };
	struct ct_cert_spec c = { .subject = cn_ca, .serial = 1 };

	if (mkdtemp(dir) == NULL)
		return -1;
	cakey = ct_pki_key();
	ca = ct_pki_cert(&c, NULL, NULL, cakey);
	ct_pki_write(path("ca.pem"), ca, NULL, NULL);
	issue("srv", cn_srv, CT_EKU_SERVER, 2);
	issue("good", cn_migsecctl, CT_EKU_CLIENT, 10);
	issue("noeku", cn_migsecctl, CT_EKU_NONE, 11);	/* e.g. an appliance's own */
	issue("srvonly", cn_migsecctl, CT_EKU_SERVER, 12);
	issue("revoked", cn_migsecctl, CT_EKU_CLIENT, 13);
	write_crl(NULL, 0);
	return 0;
}

static int
suite_fini(void)
{
	static const char *const f[] = { "ca.pem", "ca.crl", "srv.pem", "srv.key", "good.pem",
		"good.key", "noeku.pem", "noeku.key", "srvonly.pem", "srvonly.key", "revoked.pem",
		"revoked.key" };

	for (unsigned int i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		unlink(path(f[i]));
	rmdir(dir);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return 0;
}

static bool
wants(SSL *s, int r)
{
	int e = SSL_get_error(s, r);

	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/*
 * Client NAME against the server context, both ends non-blocking in this
 * thread. Returns the server's SSL once it accepted (caller frees), or NULL
 * with the server's reason in why.
 */
static SSL *
handshake(SSL_CTX *sctx, const char *name, char *why, size_t len)
{
	char cert[64], key[64], err[256];
	SSL_CTX *cctx;
	SSL *s, *c;
	int sv[2], rs = -1, rc = -1;

	snprintf(cert, sizeof(cert), "%s.pem", name);
	snprintf(key, sizeof(key), "%s.key", name);
	cctx = mc_tls_client_ctx(path("ca.pem"), path(cert), path(key), err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(cctx);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	SSL_set_fd(s, sv[0]);
	SSL_set_fd(c, sv[1]);
	for (int i = 0; i < 50 && rs != 1; i++) {
		if (rc != 1 && (rc = SSL_connect(c)) <= 0 && !wants(c, rc))
			rc = 1;	/* the client gave up: the server says why */
		rs = SSL_accept(s);
		if (rs <= 0 && !wants(s, rs))
			break;
	}
	why[0] = '\0';
	if (rs != 1) {
		mc_tls_failure(s, why, len);
		SSL_free(s);
		s = NULL;
	}
	SSL_free(c);
	SSL_CTX_free(cctx);
	close(sv[0]);
	close(sv[1]);
	ERR_clear_error();
	return s;
}

static bool
accepted(SSL_CTX *sctx, const char *name, const char *reason)
{
	char why[256];
	SSL *s = handshake(sctx, name, why, sizeof(why));

	if (s == NULL && reason != NULL && strstr(why, reason) == NULL) {
		fprintf(stderr, "%s: refused as '%s', not '%s'\n", name, why, reason);
		CU_FAIL("refused for another reason");
	}
	SSL_free(s);
	return s != NULL;
}

static SSL_CTX *
server(const char *crl)
{
	char err[512];
	SSL_CTX *ctx = mc_tls_server_ctx(path("ca.pem"), path("srv.pem"), path("srv.key"), crl,
					 err, sizeof(err));

	if (ctx == NULL)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	return ctx;
}

/* Extended key usage clientAuth, nothing less: none at all is refused too. */
static void
test_eku(void)
{
	SSL_CTX *sctx = server(NULL);

	CU_ASSERT(accepted(sctx, "good", NULL));
	CU_ASSERT(!accepted(sctx, "noeku", "purpose"));
	CU_ASSERT(!accepted(sctx, "srvonly", "purpose"));
	SSL_CTX_free(sctx);
}

/* Who the accepted client is: its entry of mgmt.clients, or none. */
static void
test_client_entry(void)
{
	struct mc_conf c = { .nb_clients = 2, .clients = {
		{ .identity = "CN=someone", .role = MC_CLIENT_ADMIN },
		{ .identity = "CN=migsecctl", .role = MC_CLIENT_OBSERVER } } };
	SSL_CTX *sctx = server(NULL);
	char why[256], subject[256];
	SSL *s = handshake(sctx, "good", why, sizeof(why));
	const struct mc_client *who;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	who = mc_authz_client(&c, s, subject, sizeof(subject));
	CU_ASSERT_PTR_EQUAL(who, &c.clients[1]);
	CU_ASSERT_STRING_EQUAL(subject, "CN=migsecctl");
	snprintf(c.clients[1].identity, sizeof(c.clients[1].identity), "CN=migsecctl,O=x");
	CU_ASSERT_PTR_NULL(mc_authz_client(&c, s, subject, sizeof(subject)));
	SSL_free(s);
	SSL_CTX_free(sctx);
}

/* mgmt.crl at every handshake; a new CRL counts once reloaded (SIGHUP). */
static void
test_crl(void)
{
	static const long revoke[] = { 13 };
	char err[512];
	SSL_CTX *sctx = server(path("ca.crl"));
	FILE *f;

	CU_ASSERT(accepted(sctx, "revoked", NULL));	/* not revoked yet */
	write_crl(revoke, 1);
	CU_ASSERT(accepted(sctx, "revoked", NULL));	/* not reloaded yet */
	CU_ASSERT_EQUAL(mc_tls_reload_trust(sctx, path("ca.pem"), path("ca.crl"), err,
					    sizeof(err)), 0);
	CU_ASSERT(!accepted(sctx, "revoked", "revoked"));
	CU_ASSERT(accepted(sctx, "good", NULL));
	/* A broken CRL file: the reload fails, the CRL in force stays. */
	f = fopen(path("ca.crl"), "w");
	fputs("-----BEGIN X509 CRL-----\nnope\n-----END X509 CRL-----\n", f);
	fclose(f);
	CU_ASSERT_NOT_EQUAL(mc_tls_reload_trust(sctx, path("ca.pem"), path("ca.crl"), err,
						sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "CRL"));
	CU_ASSERT(!accepted(sctx, "revoked", "revoked"));
	SSL_CTX_free(sctx);
	/* Missing at start: no context (migsec-control refuses to start). */
	unlink(path("ca.crl"));
	CU_ASSERT_PTR_NULL(mc_tls_server_ctx(path("ca.pem"), path("srv.pem"), path("srv.key"),
					     path("ca.crl"), err, sizeof(err)));
	write_crl(NULL, 0);
}

static X509 *
cert_of(const struct ct_rdn *subject, const char *dns, size_t dns_len)
{
	struct ct_cert_spec c = { .subject = subject, .eku = CT_EKU_CLIENT, .dns = dns,
				  .dns_len = dns_len, .serial = 99 };
	EVP_PKEY *k = ct_pki_key();
	X509 *x = ct_pki_cert(&c, ca, cakey, k);

	EVP_PKEY_free(k);
	return x;
}

/* The whole subject, exactly: no first-CN match, no cut, no NUL trick. */
static void
test_identity_subject(void)
{
	static const struct ct_rdn nul[] = { { NID_commonName, "migsecctl\0evil", 14 }, { 0 } };
	static const struct ct_rdn two[] = { { NID_organizationName, "lab", 0 },
					     { NID_commonName, "mgmt1", 0 }, { 0 } };
	char cn[301], id[MC_IDENTITY_MAX], subject[512];
	struct ct_rdn big[] = { { NID_commonName, cn, 0 }, { 0 } };
	X509 *x;

	x = cert_of(cn_migsecctl, NULL, 0);
	CU_ASSERT(mc_tls_identity_matches(x, "CN=migsecctl"));
	CU_ASSERT(!mc_tls_identity_matches(x, "CN=migsecct"));
	CU_ASSERT(!mc_tls_identity_matches(x, "CN=migsecctl,O=lab"));
	CU_ASSERT(!mc_tls_identity_matches(x, "DNS:migsecctl"));
	X509_free(x);
	x = cert_of(nul, NULL, 0);	/* a C string comparison would stop at the NUL */
	CU_ASSERT(!mc_tls_identity_matches(x, "CN=migsecctl"));
	CU_ASSERT_EQUAL(mc_tls_subject(x, subject, sizeof(subject)), 0);
	CU_ASSERT_STRING_EQUAL(subject, "CN=migsecctl\\00evil");
	X509_free(x);
	x = cert_of(two, NULL, 0);	/* RFC 2253: the last RDN first */
	CU_ASSERT(mc_tls_identity_matches(x, "CN=mgmt1,O=lab"));
	CU_ASSERT(!mc_tls_identity_matches(x, "CN=mgmt1"));
	X509_free(x);
	memset(cn, 'a', 300);
	cn[300] = '\0';
	x = cert_of(big, NULL, 0);	/* 300 bytes: the old 127-byte cut matched its start */
	snprintf(id, sizeof(id), "CN=%.127s", cn);
	CU_ASSERT(!mc_tls_identity_matches(x, id));
	snprintf(id, sizeof(id), "CN=%.252s", cn);
	CU_ASSERT(!mc_tls_identity_matches(x, id));
	CU_ASSERT_EQUAL(mc_tls_subject(x, subject, 64), -1);	/* too long: never matched */
	X509_free(x);
}

/* A subjectAltName, exactly, length included. */
static void
test_identity_san(void)
{
	X509 *x = cert_of(cn_migsecctl, "mgmt1.lab", 0);

	CU_ASSERT(mc_tls_identity_matches(x, "DNS:mgmt1.lab"));
	CU_ASSERT(!mc_tls_identity_matches(x, "DNS:mgmt1.la"));
	CU_ASSERT(!mc_tls_identity_matches(x, "URI:mgmt1.lab"));
	CU_ASSERT(mc_tls_identity_matches(x, "CN=migsecctl"));
	X509_free(x);
	x = cert_of(cn_migsecctl, "mgmt1.lab\0.evil.example", 22);
	CU_ASSERT(!mc_tls_identity_matches(x, "DNS:mgmt1.lab"));
	X509_free(x);
}

static const CU_TestInfo tests[] = {
	{ "client certificates need extendedKeyUsage clientAuth", test_eku },
	{ "an accepted client is its entry of mgmt.clients", test_client_entry },
	{ "mgmt.crl: revoked refused, a new CRL counts after reload", test_crl },
	{ "identity: the whole subject exactly (NUL, long CN, RDN order)", test_identity_subject },
	{ "identity: a subjectAltName exactly", test_identity_san },
	CU_TEST_INFO_NULL,
};

void
ct_suite_tls(void)
{
	tl_add_tests(CU_add_suite("tls", suite_init, suite_fini), tests);
}
