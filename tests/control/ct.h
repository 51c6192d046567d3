/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CT_H
#define CT_H

/* migsec-control unit tests. */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "ms_sa_spec.h"

#define FAKE_MAX 64

/* A stand-in data plane on a Unix socket, in a thread: records the SAs. */
struct fake_dp {
	char path[108];
	int lfd;
	int stop;
	unsigned int nb;
	struct ms_sa_spec sa[FAKE_MAX];		/* installed, keys included */
	uint64_t pkts[FAKE_MAX];		/* what SA_LIST reports */
	unsigned int adds, dels;			/* SAs asked to add, to delete */
	unsigned int del_batches;		/* SA_DEL_BATCH requests served */
	bool old_dp;				/* refuse SA_DEL_BATCH as unknown (older data plane) */
	int workers;				/* what PING reports (0: 1) */
	int fail_add_after;			/* refuse SA_ADD number N (1-based); 0: never */
	int slow_add;				/* SA_ADD number N installs, answers late; 0: none */
	int slow_ms;				/* ... this late */
	pthread_t thr;
};

int fake_dp_start(struct fake_dp *f);
void fake_dp_stop(struct fake_dp *f);
/* Installed SA by direction and generation (from its tag); NULL if none. */
const struct ms_sa_spec *fake_dp_find(struct fake_dp *f, uint8_t dir, unsigned int gen);
void fake_dp_set_pkts(struct fake_dp *f, uint32_t id, uint64_t pkts);

/* ct_pki.c: a test PKI in memory. */
struct ct_rdn {
	int nid;		/* NID_commonName, ...; 0 ends the list */
	const char *value;
	size_t len;		/* 0: strlen(value); else exactly (NUL bytes kept) */
};
enum ct_eku { CT_EKU_NONE, CT_EKU_CLIENT, CT_EKU_SERVER };
struct ct_cert_spec {
	const struct ct_rdn *subject;
	enum ct_eku eku;
	const char *dns;	/* a DNS subjectAltName, or NULL */
	size_t dns_len;		/* 0: strlen(dns) */
	long serial;
};
EVP_PKEY *ct_pki_key(void);
/* Signed by ca/cakey; ca NULL: a self-signed CA with key. */
X509 *ct_pki_cert(const struct ct_cert_spec *c, X509 *ca, EVP_PKEY *cakey, EVP_PKEY *key);
X509_CRL *ct_pki_crl(X509 *ca, EVP_PKEY *cakey, const long *serials, unsigned int n);
/* PEM of whichever of x, key, crl is given first. */
int ct_pki_write(const char *path, X509 *x, EVP_PKEY *key, X509_CRL *crl);

void ct_suite_msg(void);
void ct_suite_kdf(void);
void ct_suite_mig(void);
void ct_suite_tls(void);
void ct_suite_authz(void);
void ct_suite_refuse(void);
void ct_suite_query(void);
void ct_suite_migplan(void);

#endif
