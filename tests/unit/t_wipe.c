/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key wiping: once an SA is deleted (or the control request that carried
 * its key is done), the key's bytes are nowhere in this process's memory.
 * The test never holds the key in clear itself: it keeps key ^ mask.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <rte_mempool.h>

#include "ms_ctl_proto.h"
#include "ms_ops.h"
#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t masked[36], mask[36];

static int
suite_init(void)
{
	ut_random(mask, sizeof(mask));
	ut_random(masked, sizeof(masked));	/* key = masked ^ mask, never stored */
	return ut_rig_init(&rig);
}

static int
suite_fini(void)
{
	ut_rig_fini(&rig);
	return 0;
}

static void
spec_with_key(struct ms_sa_spec *s, uint32_t id, uint8_t dir)
{
	uint8_t ks[36];

	for (int i = 0; i < 36; i++)
		ks[i] = masked[i] ^ mask[i];
	ut_spec(s, id, dir, 0x5000 + id, ks, 1);
	explicit_bzero(ks, sizeof(ks));
}

static void
test_sadb_delete(void)
{
	struct ms_sa_spec s;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(tl_key_hits(masked, mask), 0);
	spec_with_key(&s, 1, MS_DIR_OUT);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	spec_with_key(&s, 2, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	/* The scan works: the expanded AES-256 key starts with the key itself. */
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
}

static void
test_control_request(void)
{
	struct ms_ops_ctx ops = { .dp = &rig.dp };
	struct ms_ctl_sa_add req;
	struct ms_ctl_sa_id del = { .id = 3 };
	char *reply = NULL;
	size_t len;

	spec_with_key(&req.spec, 3, MS_DIR_OUT);
	ms_ip_parse(UT_OUTER_A, &req.spec.local);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_ADD, (const uint8_t *)&req, sizeof(req),
				      &reply, &len), 0);
	free(reply);
	explicit_bzero(&req, sizeof(req));	/* as the socket layer does */
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_DEL, (const uint8_t *)&del, sizeof(del),
				      &reply, &len), 0);
	free(reply);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
}

/*
 * SA_DEL_BATCH through the socket's handler, SAs 11 and 12 installed:
 * malformed bodies (n 0, n too large, shorter or longer than n ids, rsvd
 * set, an id twice) are refused with a reason and delete nothing; then 11,
 * an unknown id and 12 in one request: both deleted (the unknown one
 * reported absent), one snapshot, and their key is nowhere in memory.
 */
static void
del_batch_request(struct ms_ops_ctx *ops, uint32_t count)
{
	const size_t head = offsetof(struct ms_ctl_sa_ids, id);
	struct ms_ctl_sa_ids *req = calloc(1, sizeof(*req));
	uint64_t changes = rig.dp.sadb.changes;
	char *reply = NULL;
	size_t len;
	struct {
		uint32_t n, rsvd, id1;
		size_t blen;
		const char *why;
	} bad[] = { { 0, 0, 12, head, "body" }, { 1025, 0, 12, head + 1025 * 4, "body" },
		    { 1025, 0, 12, sizeof(*req), "body" }, { 2, 0, 12, head + 4, "body" },
		    { 2, 0, 12, head + 12, "body" }, { 2, 1, 12, head + 8, "body" },
		    { 1, 0, 12, 6, "body" }, { 2, 0, 11, head + 8, "twice" } };

	CU_ASSERT_FATAL(req != NULL);
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		req->n = bad[i].n;
		req->rsvd = bad[i].rsvd;
		req->id[0] = 11;
		req->id[1] = bad[i].id1;
		CU_ASSERT_EQUAL(ms_ops_handle(ops, MS_CTL_SA_DEL_BATCH, (const uint8_t *)req,
					      (uint32_t)RTE_MIN(bad[i].blen, sizeof(*req)), &reply,
					      &len), -EINVAL);
		CU_ASSERT(reply != NULL && strstr(reply, "SA_DEL_BATCH") != NULL &&
			  strstr(reply, bad[i].why) != NULL);
		if (i == 0 || i == RTE_DIM(bad) - 1)
			printf("\n    refused: %s", reply);
		free(reply);
		reply = NULL;
	}
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count + 2);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes);
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	req->n = 3;
	req->rsvd = 0;
	req->id[0] = 11;
	req->id[1] = 4242;
	req->id[2] = 12;
	CU_ASSERT_EQUAL(ms_ops_handle(ops, MS_CTL_SA_DEL_BATCH, (const uint8_t *)req,
				      (uint32_t)(head + 3 * 4), &reply, &len), 0);
	CU_ASSERT(reply != NULL && strcmp(reply, "{\"ids\":[11,12],\"absent\":[4242]}") == 0);
	free(reply);
	free(req);
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes + 1);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
}

/*
 * SA_ADD_BATCH through the socket's handler: malformed bodies are refused
 * with a reason and add nothing; two SAs in one request are added, and
 * once deleted their key is nowhere in memory.
 */
static void
test_batch_request(void)
{
	struct ms_ops_ctx ops = { .dp = &rig.dp };
	const size_t head = offsetof(struct ms_ctl_sa_batch, spec), one = sizeof(struct ms_sa_spec);
	struct ms_ctl_sa_batch *req = calloc(1, sizeof(*req));
	uint32_t count = rig.dp.sadb.count;
	char *reply = NULL;
	size_t len;
	struct {
		uint32_t n, rsvd;
		size_t blen;
	} bad[] = { { 0, 0, head }, { 17, 0, head + 17 * one }, { 2, 0, head + one },
		    { 2, 1, head + 2 * one }, { 1, 0, 4 } };

	CU_ASSERT_FATAL(req != NULL);
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		req->n = bad[i].n;
		req->rsvd = bad[i].rsvd;
		CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_ADD_BATCH, (const uint8_t *)req,
					      (uint32_t)RTE_MIN(bad[i].blen, sizeof(*req)), &reply,
					      &len), -EINVAL);
		CU_ASSERT(reply != NULL && strstr(reply, "SA_ADD_BATCH body") != NULL);
		free(reply);
		reply = NULL;
	}
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count);
	req->n = 2;
	req->rsvd = 0;
	spec_with_key(&req->spec[0], 11, MS_DIR_OUT);
	spec_with_key(&req->spec[1], 12, MS_DIR_IN);
	ms_ip_parse(UT_OUTER_A, &req->spec[0].local);
	ms_ip_parse(UT_OUTER_A, &req->spec[1].local);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_ADD_BATCH, (const uint8_t *)req,
				      (uint32_t)(head + 2 * one), &reply, &len), 0);
	CU_ASSERT(reply != NULL && strstr(reply, "[11,12]") != NULL);
	free(reply);
	explicit_bzero(req, sizeof(*req));	/* as the socket layer does */
	free(req);
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count + 2);
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	del_batch_request(&ops, count);
}

/*
 * What libcrypto frees is zeroed first (ms_heapwipe.c; the runner installs
 * it as migsec-dataplane does): a block holding a pattern, found before it
 * is freed, is nowhere afterwards. (ASan keeps freed blocks as they were,
 * so without the wipe the pattern stays: the sanitizer build checks this.)
 */
static void
test_heapwipe(void)
{
	uint8_t pm[36], pk[36];
	uint8_t *b = OPENSSL_malloc(4096);

	CU_ASSERT_FATAL(b != NULL);
	ut_random(pm, sizeof(pm));
	ut_random(pk, sizeof(pk));
	for (int i = 0; i < 36; i++)
		b[1000 + i] = pm[i] ^ pk[i];
	CU_ASSERT(tl_key_hits(pm, pk) >= 1);
	OPENSSL_free(b);
	CU_ASSERT_EQUAL(tl_key_hits(pm, pk), 0);
	b = OPENSSL_realloc(OPENSSL_malloc(64), 64);	/* grown: the old block is wiped too */
	CU_ASSERT_FATAL(b != NULL);
	for (int i = 0; i < 36; i++)
		b[10 + i] = pm[i] ^ pk[i];
	b = OPENSSL_realloc(b, 8192);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(tl_key_hits(pm, pk), 1);	/* the moved copy only */
	OPENSSL_free(b);
	CU_ASSERT_EQUAL(tl_key_hits(pm, pk), 0);
}

/* How many free crypto ops hold the salt (masked ^ mask, bytes 32..35) at the IV. */
struct salt_scan {
	unsigned int ops, hits;
};

static void
salt_at_iv(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	struct salt_scan *sc = arg;
	const uint8_t *iv = (const uint8_t *)obj + MS_IV_OFFSET;
	unsigned int same = 0;

	RTE_SET_USED(mp);
	RTE_SET_USED(idx);
	for (unsigned int i = 0; i < MS_SALT_LEN; i++)
		same += iv[i] == (masked[MS_KEY_LEN + i] ^ mask[MS_KEY_LEN + i]);
	sc->ops++;
	sc->hits += same == MS_SALT_LEN;
}

/*
 * lib/ipsec writes salt || IV || counter into each crypto op; an op back in
 * the pool must not keep the salt (it is key material) while the SA lives
 * on, nor after. Frames are sealed by the outbound SA, and frames sealed
 * independently (OpenSSL) are opened by the inbound SA, so that both
 * directions' ops pass through the pool.
 */
static void
test_op_salt(void)
{
	struct ms_sa_spec s;
	struct rte_mbuf *m[32];
	struct salt_scan sc = { 0, 0 };
	uint8_t p[200], ks[36], inner[256];
	uint32_t inner_len;
	char err[256];
	unsigned int n, sealed = 0, opened = 0;

	spec_with_key(&s, 7, MS_DIR_OUT);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	spec_with_key(&s, 8, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	memset(p, 0x5a, sizeof(p));
	for (unsigned int i = 0; i < 16; i++)
		m[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000, p,
				     sizeof(p));
	ut_rig_inject(&rig, MS_PORT_INNER, m, 16);
	ut_rig_run(&rig);
	while ((n = ut_rig_take(&rig, MS_PORT_OUTER, m, RTE_DIM(m))) > 0) {
		sealed += n;
		rte_pktmbuf_free_bulk(m, n);
	}
	m[0] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000, p, sizeof(p));
	inner_len = m[0]->pkt_len - RTE_ETHER_HDR_LEN;	/* the inner packet A->B */
	memcpy(inner, rte_pktmbuf_mtod_offset(m[0], uint8_t *, RTE_ETHER_HDR_LEN), inner_len);
	rte_pktmbuf_free(m[0]);
	for (unsigned int i = 0; i < 36; i++)	/* the key in clear, briefly */
		ks[i] = masked[i] ^ mask[i];
	for (unsigned int i = 0; i < 16; i++)
		m[i] = ut_esp_seal(rig.dp.mbuf_pool, ks, 0x5000 + 8, 1 + i, inner, inner_len,
				   IPPROTO_IPIP, 2, false);
	explicit_bzero(ks, sizeof(ks));
	ut_rig_inject(&rig, MS_PORT_OUTER, m, 16);
	ut_rig_run(&rig);
	while ((n = ut_rig_take(&rig, MS_PORT_INNER, m, RTE_DIM(m))) > 0) {
		opened += n;
		rte_pktmbuf_free_bulk(m, n);
	}
	CU_ASSERT_EQUAL(sealed, 16);
	CU_ASSERT_EQUAL(opened, 16);
	rte_mempool_obj_iter(rig.dp.cop_pool, salt_at_iv, &sc);
	printf("\n    %u frames sealed, %u opened; %u crypto ops scanned, %u hold the salt",
	       sealed, opened, sc.ops, sc.hits);
	CU_ASSERT(sc.ops > 0);
	CU_ASSERT_EQUAL(sc.hits, 0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 7, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 8, err, sizeof(err)), 0);
}

static void
test_teardown(void)
{
	struct ms_sa_env env = rig.dp.sadb.env;
	struct ms_sadb_ops ops = rig.dp.sadb.ops;
	struct ms_sa_spec s;
	char err[256];

	spec_with_key(&s, 4, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	/* What SIGTERM does (ms_dp_teardown): every SA of the database at once. */
	ms_sadb_fini(&rig.dp.sadb);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_init(&rig.dp.sadb, &env, &rig.dp.stats, rig.dp.rcu,
					   rig.conf.max_sa, &ops), 0);
	CU_ASSERT_EQUAL(ms_sadb_publish(&rig.dp.sadb, err, sizeof(err)), 0);
}

static const CU_TestInfo tests[] = {
	{ "deleted SAs leave no key bytes", test_sadb_delete },
	{ "a control request's key is gone after delete", test_control_request },
	{ "batch requests (add, delete): malformed refused, keys gone after one batch delete",
	  test_batch_request },
	{ "tear-down wipes every SA", test_teardown },
	{ "libcrypto's heap is wiped when a block is freed", test_heapwipe },
	/*
	 * Last: the openssl device's decryption leaves key bytes in stack
	 * frames above the worker's crypto calls (seen under ASan's frame
	 * layout; docs/hardening.md, known weaknesses), which the key scans
	 * of the tests above would find.
	 */
	{ "no crypto op back in the pool holds the salt", test_op_salt },
	CU_TEST_INFO_NULL,
};

void
ut_suite_wipe(void)
{
	tl_add_tests(CU_add_suite("wipe", suite_init, suite_fini), tests);
}
