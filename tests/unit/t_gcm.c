/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AES-256-GCM known answers through the crypto device the data plane uses:
 * McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13-16
 * (the 256-bit key cases with a 96-bit IV), encrypt and decrypt, and a
 * tampered tag that must fail.
 */
#include <string.h>

#include <rte_cryptodev.h>
#include <rte_malloc.h>

#include "ms_failover.h"
#include "ms_sa.h"
#include "tl.h"
#include "ut.h"

struct kat {
	const char *name, *key, *iv, *pt, *aad, *ct, *tag;
};

#define K15 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define IV15 "cafebabefacedbaddecaf888"
#define P15 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define C15 "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

static const struct kat kats[] = {
	{ "TC13 empty", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "TC14 one block", "0000000000000000000000000000000000000000000000000000000000000000",
	  "000000000000000000000000", "00000000000000000000000000000000", "",
	  "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "TC15 four blocks", K15, IV15, P15, "", C15, "b094dac5d93471bdec1a502270e3cc6c" },
	{ "TC16 with AAD", K15, IV15,
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

static struct ms_cdev cd;
static struct rte_mempool *mp;

static int
suite_init(void)
{
	char err[1024];

	if (ms_cdev_setup(&ut_profile, 1, 16, 64, 0, &cd, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	mp = rte_pktmbuf_pool_create("kat_mbuf", 64, 0, 0, 2048, 0);
	return mp ? 0 : -1;
}

static int
suite_fini(void)
{
	ms_cdev_close(&cd);
	rte_mempool_free(mp);
	return 0;
}

/* One operation; returns the op status. out gets the data then the tag. */
static int
run(const struct kat *k, bool encrypt, const uint8_t *in, size_t len, const uint8_t *tag_in,
    uint8_t *out)
{
	uint8_t key[32], iv[12], aad_buf[64];
	struct rte_crypto_sym_xform xf = { .type = RTE_CRYPTO_SYM_XFORM_AEAD };
	struct rte_crypto_op *op, *done = NULL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	uint8_t *aad = rte_malloc(NULL, 64, 0);
	size_t alen = tl_unhex(k->aad, aad_buf);
	uint8_t *data;
	void *sess;
	int st;

	tl_unhex(k->key, key);
	tl_unhex(k->iv, iv);
	memcpy(aad, aad_buf, alen);
	xf.aead.op = encrypt ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
	xf.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
	xf.aead.key.data = key;
	xf.aead.key.length = 32;
	xf.aead.iv.offset = MS_IV_OFFSET;
	xf.aead.iv.length = 12;
	xf.aead.digest_length = 16;
	xf.aead.aad_length = (uint16_t)alen;
	sess = rte_cryptodev_sym_session_create(cd.dev_id, &xf, cd.sess_pool);
	CU_ASSERT_FATAL(sess != NULL && m != NULL && aad != NULL);
	data = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(len + 16));
	memcpy(data, in, len);
	if (!encrypt)
		memcpy(data + len, tag_in, 16);
	op = rte_crypto_op_alloc(cd.op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC);
	CU_ASSERT_FATAL(op != NULL);
	rte_crypto_op_attach_sym_session(op, sess);
	op->sym->m_src = m;
	op->sym->aead.data.offset = 0;
	op->sym->aead.data.length = (uint32_t)len;
	op->sym->aead.digest.data = data + len;
	op->sym->aead.digest.phys_addr = rte_pktmbuf_iova_offset(m, len);
	op->sym->aead.aad.data = aad;
	op->sym->aead.aad.phys_addr = rte_malloc_virt2iova(aad);
	memcpy(rte_crypto_op_ctod_offset(op, uint8_t *, MS_IV_OFFSET), iv, 12);
	CU_ASSERT_EQUAL_FATAL(rte_cryptodev_enqueue_burst(cd.dev_id, 0, &op, 1), 1);
	for (int i = 0; i < 1000000 && done == NULL; i++)
		rte_cryptodev_dequeue_burst(cd.dev_id, 0, &done, 1);
	CU_ASSERT_FATAL(done == op);
	st = op->status;
	memcpy(out, data, len + 16);
	rte_crypto_op_free(op);
	rte_pktmbuf_free(m);
	rte_free(aad);
	rte_cryptodev_sym_session_free(cd.dev_id, sess);
	explicit_bzero(key, sizeof(key));
	return st;
}

static void
test_caps(void)
{
	char err[256];

	CU_ASSERT_EQUAL(ms_cdev_check_caps(cd.dev_id, err, sizeof(err)), 0);
}

static void
test_kats(void)
{
	for (unsigned int i = 0; i < RTE_DIM(kats); i++) {
		const struct kat *k = &kats[i];
		uint8_t pt[128], ct[128], tag[16], out[160];
		size_t plen = tl_unhex(k->pt, pt);

		tl_unhex(k->ct, ct);
		tl_unhex(k->tag, tag);
		CU_ASSERT_EQUAL(run(k, true, pt, plen, NULL, out), RTE_CRYPTO_OP_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(memcmp(out, ct, plen), 0);
		CU_ASSERT_EQUAL(memcmp(out + plen, tag, 16), 0);
		CU_ASSERT_EQUAL(run(k, false, ct, plen, tag, out), RTE_CRYPTO_OP_STATUS_SUCCESS);
		CU_ASSERT_EQUAL(memcmp(out, pt, plen), 0);
		tag[15] ^= 1;
		CU_ASSERT_EQUAL(run(k, false, ct, plen, tag, out), RTE_CRYPTO_OP_STATUS_AUTH_FAILED);
	}
}

static uint64_t
enqueued(uint8_t dev_id)
{
	struct rte_cryptodev_stats st = { 0 };

	CU_ASSERT_EQUAL(rte_cryptodev_stats_get(dev_id, &st), 0);
	return st.enqueued_count;
}

/* Fail-over: the primary answers; once it is out of service, the secondary does. */
static void
test_kats_failover(void)
{
	uint8_t prim = cd.member_id[MS_PRIMARY], sec = cd.member_id[MS_SECONDARY];
	uint64_t p0 = enqueued(prim), s0 = enqueued(sec), p1;

	test_kats();
	p1 = enqueued(prim);
	CU_ASSERT(p1 > p0);
	CU_ASSERT_EQUAL(enqueued(sec), s0);
	ms_failover_stop_primary(&cd);
	test_kats();
	CU_ASSERT_EQUAL(enqueued(prim), p1);
	CU_ASSERT(enqueued(sec) > s0);
}

void
ut_suite_gcm(void)
{
	/* not static: which tests run depends on the profile */
	const CU_TestInfo tests[] = {
		{ "device offers AES-256-GCM as ESP needs", test_caps },
		{ "McGrew-Viega test cases 13-16, encrypt, decrypt, bad tag", test_kats },
		{ "fail-over: primary answers, then (stopped) the secondary",
		  ut_profile.failover ? test_kats_failover : NULL },
		CU_TEST_INFO_NULL,
	};

	tl_add_tests(CU_add_suite("gcm", suite_init, suite_fini), tests);
}
