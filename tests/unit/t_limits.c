/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Limits of sealing, in the whole data plane in one process: the sequence
 * space (a start past 2^63 - 1 is refused; an SA that reaches it stops
 * sealing, counted as seq_exhausted, instead of wrapping its counter, the
 * GCM IV, under the same key), and inner fragments, which carry no ports:
 * under the default policy "bypass", a fragment that an SA with port
 * selectors could own never leaves in plaintext (fragment_uncovered), one
 * that an SA covers for every port is sealed, and unrelated ones still
 * follow the policy. And the exact host-pair table beside the ACL, in the
 * whole path.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t ks[36];

#define SPI 0x4001
#define SPI2 0x4002
#define SPI3 0x4003
#define LAST ((UINT64_C(1) << 63) - 1)	/* MS_SEQ_LAST, as documented */
#define IV_OFF (14 + 20 + 8 + 8)	/* outer Ethernet, IPv4, UDP, SPI and sequence */

/* An outbound SA A->B; dport 0: any port; dport_hi: a range from dport. */
static int
add_out_range(uint32_t id, uint32_t spi, uint64_t seq, uint8_t proto, uint16_t dport,
	      uint16_t dport_hi)
{
	struct ms_sa_spec s;
	char err[256] = "";
	int rc;

	ut_spec(&s, id, MS_DIR_OUT, spi, ks, seq);
	s.sel[0].proto = proto;
	if (dport != 0) {
		s.sel[0].dport_lo = dport;
		s.sel[0].dport_hi = dport_hi;
	}
	rc = ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err));
	explicit_bzero(&s, sizeof(s));
	return rc;
}

static int
add_out(uint32_t id, uint32_t spi, uint64_t seq, uint8_t proto, uint16_t dport)
{
	return add_out_range(id, spi, seq, proto, dport, dport);
}

static void
test_seq_start(void)
{
	struct ms_sa_spec s;
	char err[256] = "";
	static const uint64_t bad[] = { 0, LAST + 1, UINT64_MAX - 10, UINT64_MAX };

	ut_spec(&s, 1, MS_DIR_OUT, SPI, ks, 1);
	CU_ASSERT_EQUAL(ms_sa_spec_check(&s, err, sizeof(err)), 0);
	s.seq_start = LAST;
	CU_ASSERT_EQUAL(ms_sa_spec_check(&s, err, sizeof(err)), 0);
	for (unsigned int i = 0; i < RTE_DIM(bad); i++) {
		for (uint8_t dir = MS_DIR_IN; dir <= MS_DIR_OUT; dir++) {
			s.seq_start = bad[i];
			s.dir = dir;
			err[0] = '\0';
			CU_ASSERT_EQUAL(ms_sa_spec_check(&s, err, sizeof(err)), -EINVAL);
			CU_ASSERT(strstr(err, "sequence number") != NULL);
		}
	}
	explicit_bzero(&s, sizeof(s));
	/* Near 2^64 an SA is never installed, so it can never wrap. */
	if (!CU_assertImplementation(add_out(1, SPI, UINT64_MAX - 2, 0, 0) == -EINVAL, __LINE__,
				     "an SA starting near 2^64 is refused", __FILE__, "", CU_FALSE))
		ut_sa_del(&rig, 1);
}

static void
test_seq_limit(void)
{
	static const uint8_t data[40];
	struct rte_mbuf *m[8], *out[16];
	uint64_t before = ut_drops(&rig, MS_DROP_SEQ_EXHAUSTED);
	unsigned int n;

	CU_ASSERT_EQUAL_FATAL(add_out(1, SPI, LAST - 2, 0, 0), 0);
	for (int i = 0; i < 6; i++)
		m[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1000, 2000, data,
				     sizeof(data));
	ut_rig_inject(&rig, MS_PORT_INNER, m, 6);
	ut_rig_run(&rig);
	n = ut_rig_take(&rig, MS_PORT_OUTER, out, RTE_DIM(out));
	CU_ASSERT_EQUAL(n, 3);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t iv;

		memcpy(&iv, rte_pktmbuf_mtod(out[i], uint8_t *) + IV_OFF, 8);
		CU_ASSERT_EQUAL(rte_be_to_cpu_64(iv), LAST - 2 + i);	/* up to the last, no wrap */
	}
	rte_pktmbuf_free_bulk(out, n);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_SEQ_EXHAUSTED), before + 3);
	/* and it stays stopped */
	m[0] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1000, 2000, data, sizeof(data));
	ut_rig_inject(&rig, MS_PORT_INNER, m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, out, RTE_DIM(out)), 0);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_SEQ_EXHAUSTED), before + 4);
	ut_sa_del(&rig, 1);
}

/* A UDP packet from A to B; offset (8-byte units) != 0: a fragment after the first. */
static struct rte_mbuf *
udp_frag(uint8_t proto, uint16_t dport, uint16_t offset)
{
	static const uint8_t data[64];
	struct rte_mbuf *m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1000, dport,
					   data, sizeof(data));
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);

	ip->next_proto_id = proto;
	ip->fragment_offset = rte_cpu_to_be_16(offset);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return m;
}

/* Send m from host A; returns what left the outer port: -1 nothing, 0 plaintext, else the SPI. */
static int64_t
send_inner(struct rte_mbuf *m)
{
	struct rte_mbuf *out[8];
	const uint8_t *f;
	int64_t r = -1;
	uint32_t spi;
	unsigned int n;

	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	n = ut_rig_take(&rig, MS_PORT_OUTER, out, RTE_DIM(out));
	CU_ASSERT(n <= 1);
	if (n == 1) {
		f = rte_pktmbuf_mtod(out[0], const uint8_t *);
		memcpy(&spi, f + 42, 4);
		r = f[23] == IPPROTO_UDP && f[36] == 0x11 && f[37] == 0x94 ?	/* to port 4500 */
		    (int64_t)rte_be_to_cpu_32(spi) : 0;
	}
	rte_pktmbuf_free_bulk(out, n);
	return r;
}

static void
test_fragments(void)
{
	uint64_t before = ut_drops(&rig, MS_DROP_FRAGMENT_UNCOVERED);

	rig.conf.policy = MS_POLICY_BYPASS;
	ut_conf_publish(&rig);
	CU_ASSERT_EQUAL_FATAL(add_out(1, SPI, 1, IPPROTO_UDP, 9999), 0);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 0)), SPI);	/* whole: sealed */
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 0x2000)), SPI);	/* first fragment */
	/* A later fragment of it has no ports: never plaintext. */
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 185)), -1);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_FRAGMENT_UNCOVERED), before + 1);
	/* What no SA could own still follows the policy: TCP, and whole UDP to other ports. */
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_TCP, 9999, 185)), 0);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 53, 0)), 0);
	/* An SA for every UDP port covers the fragment: sealed by it. */
	CU_ASSERT_EQUAL_FATAL(add_out(2, SPI2, 1, IPPROTO_UDP, 0), 0);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 185)), SPI2);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_FRAGMENT_UNCOVERED), before + 1);
	ut_sa_del(&rig, 2);
	ut_sa_del(&rig, 1);
	rig.conf.policy = MS_POLICY_DISCARD;
	ut_conf_publish(&rig);
}

/*
 * A host-pair SA (any protocol, any port) goes into the exact table beside
 * an SA with port selectors in the ACL: the ACL is not rebuilt, and where
 * both match the newer SA wins, whichever table holds it.
 */
static void
test_exact_beside_acl(void)
{
	const struct ms_spd_acl *acl;

	const struct ms_spd *spd;

	CU_ASSERT_EQUAL_FATAL(add_out_range(1, SPI, 1, IPPROTO_UDP, 9999, 10000), 0);
	acl = ms_sadb_tables(&rig.dp.sadb)->spd.acl[MS_SPD_OUT4];
	CU_ASSERT_PTR_NOT_NULL(acl);
	CU_ASSERT_EQUAL_FATAL(add_out(2, SPI2, 1, 0, 0), 0);
	CU_ASSERT_PTR_EQUAL(ms_sadb_tables(&rig.dp.sadb)->spd.acl[MS_SPD_OUT4], acl);
	CU_ASSERT_PTR_NOT_NULL(ms_sadb_tables(&rig.dp.sadb)->spd.exact[MS_SPD_OUT4][MS_SPD_X_ANY]);
	/* A migration's shape (UDP to one port, host pair): a port table, the ACL kept. */
	CU_ASSERT_EQUAL_FATAL(add_out(4, SPI3 + 1, 1, IPPROTO_UDP, 7777), 0);
	spd = &ms_sadb_tables(&rig.dp.sadb)->spd;
	CU_ASSERT_PTR_EQUAL(spd->acl[MS_SPD_OUT4], acl);
	CU_ASSERT_PTR_NOT_NULL(spd->exact[MS_SPD_OUT4][MS_SPD_X_DPORT]);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 7777, 0)), SPI3 + 1);
	ut_sa_del(&rig, 4);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 0)), SPI2);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 53, 0)), SPI2);
	ut_sa_del(&rig, 1);
	CU_ASSERT_EQUAL_FATAL(add_out(3, SPI3, 1, IPPROTO_UDP, 9999), 0);	/* newer, in the ACL */
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 0)), SPI3);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 53, 0)), SPI2);
	ut_sa_del(&rig, 3);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 9999, 0)), SPI2);
	ut_sa_del(&rig, 2);
}

/*
 * A batch: all its SAs in one snapshot (one table update), each steering
 * its own port; one bad SA in a batch adds none of it; one more SA beside
 * the batch, added alone, leaves the others as they were.
 */
#define NB 16
#define BATCH_SPI 0x5000

static void
batch_specs(struct ms_sa_spec *s, unsigned int n, uint32_t id0)
{
	for (unsigned int i = 0; i < n; i++) {
		ut_spec(&s[i], id0 + i, MS_DIR_OUT, BATCH_SPI + id0 + i, ks, 1);
		s[i].sel[0].proto = IPPROTO_UDP;
		s[i].sel[0].dport_lo = s[i].sel[0].dport_hi = (uint16_t)(7000 + id0 + i);
	}
}

/*
 * The batch (ids 100..115) and the one beside it (300) deleted in one
 * snapshot, with an id that does not exist (999) in the middle: reported
 * absent, the others deleted all the same; none of their ports is sealed
 * any more. An empty batch is refused.
 */
static void
test_del_batch(uint32_t count)
{
	uint32_t ids[NB + 2];
	bool absent[NB + 2];
	uint64_t changes = rig.dp.sadb.changes;
	char err[256] = "";

	for (unsigned int i = 0; i < NB; i++)
		ids[i + (i >= NB / 2)] = 100 + i;
	ids[NB / 2] = 999;
	ids[NB + 1] = 300;
	CU_ASSERT_EQUAL(ms_sadb_del_batch(&rig.dp.sadb, ids, 0, absent, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sadb_del_batch(&rig.dp.sadb, ids, NB + 2, absent, err, sizeof(err)),
			NB + 1);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes + 1);	/* one snapshot for 17 SAs */
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count);
	for (unsigned int i = 0; i < NB + 2; i++) {
		CU_ASSERT_EQUAL(absent[i], ids[i] == 999);
		CU_ASSERT_PTR_NULL(ms_sadb_find(&rig.dp.sadb, ids[i]));
	}
	for (unsigned int i = 0; i < NB; i++)
		CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, (uint16_t)(7100 + i), 0)), -1);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 7300, 0)), -1);
	/* Only absent ones: nothing to change, no snapshot. */
	CU_ASSERT_EQUAL(ms_sadb_del_batch(&rig.dp.sadb, ids, 2, absent, err, sizeof(err)), 0);
	CU_ASSERT(absent[0] && absent[1]);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes + 1);
}

static void
test_batch(void)
{
	struct ms_sa_spec s[NB];
	uint64_t changes = rig.dp.sadb.changes;
	uint32_t count = rig.dp.sadb.count;
	char err[256] = "";

	batch_specs(s, NB, 100);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add_batch(&rig.dp.sadb, s, NB, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes + 1);	/* one snapshot for 16 SAs */
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count + NB);
	for (unsigned int i = 0; i < NB; i++)
		CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, (uint16_t)(7100 + i), 0)),
				BATCH_SPI + 100 + i);
	/* The 5th of a new batch reuses an SPI: nothing of it is added. */
	batch_specs(s, NB, 200);
	s[4].spi = BATCH_SPI + 103;
	changes = rig.dp.sadb.changes;
	CU_ASSERT_EQUAL(ms_sadb_add_batch(&rig.dp.sadb, s, NB, err, sizeof(err)), -EEXIST);
	printf("\n    refused: %s", err);
	CU_ASSERT(strstr(err, "SA 5 of the batch (id 204)") != NULL);
	CU_ASSERT_EQUAL(rig.dp.sadb.changes, changes);
	CU_ASSERT_EQUAL(rig.dp.sadb.count, count + NB);
	for (unsigned int i = 0; i < NB; i++)
		CU_ASSERT_PTR_NULL(ms_sadb_find(&rig.dp.sadb, 200 + i));
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 7200, 0)), -1);	/* discarded */
	/* More than fit: refused before anything is built. */
	CU_ASSERT_EQUAL(ms_sadb_add_batch(&rig.dp.sadb, s, rig.dp.sadb.max_sa, err, sizeof(err)),
			-ENOSPC);
	/* One more alone, beside the batch. */
	batch_specs(s, 1, 300);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, 7300, 0)), BATCH_SPI + 300);
	for (unsigned int i = 0; i < NB; i++)
		CU_ASSERT_EQUAL(send_inner(udp_frag(IPPROTO_UDP, (uint16_t)(7100 + i), 0)),
				BATCH_SPI + 100 + i);
	explicit_bzero(s, sizeof(s));
	test_del_batch(count);
}

static const CU_TestInfo tests[] = {
	{ "a first sequence number past 2^63 - 1 is refused", test_seq_start },
	{ "an SA at its last sequence number stops sealing, counted", test_seq_limit },
	{ "a fragment of a protected flow never leaves in plaintext", test_fragments },
	{ "a host-pair SA beside the ACL: not rebuilt, the newer SA wins", test_exact_beside_acl },
	{ "a batch of SAs: one snapshot, all or none, one more beside it; deleted in one "
	  "snapshot, an unknown id absent", test_batch },
	CU_TEST_INFO_NULL,
};

void
ut_suite_limits(void)
{
	tl_add_tests(ut_rig_suite("limits", &rig, ks), tests);
}
