/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ESP through the whole data plane in one process: frames in on a port,
 * frames out of the other. The sealed bytes are checked field by field and
 * opened with OpenSSL; crafted bad packets must be dropped under their
 * reason and never delivered.
 */
#include <arpa/inet.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t ks[36];	/* key || salt of the A->B SA pair */

#define SPI 0x1001

static void
add_sa(uint32_t id, uint8_t dir, uint32_t spi)
{
	ut_sa_add(&rig, id, dir, spi, ks);
}

static void
del_sa(uint32_t id)
{
	ut_sa_del(&rig, id);
}

/* n frames A->B on the inner port, sealed; returns them from the outer port. */
static unsigned int
seal(struct rte_mbuf **out, unsigned int n, uint16_t len, uint8_t (*payload)[1500])
{
	struct rte_mbuf *in[64];

	CU_ASSERT_FATAL(n <= 64);
	for (unsigned int i = 0; i < n; i++) {
		ut_random(payload[i], len);
		in[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000,
				      payload[i], len);
	}
	ut_rig_inject(&rig, MS_PORT_INNER, in, n);
	ut_rig_run(&rig);
	return ut_rig_take(&rig, MS_PORT_OUTER, out, 64);
}

static void
test_seal_layout(void)
{
	static uint8_t payload[8][1500];
	static const uint16_t lens[] = { 1, 13, 64, 333, 1000, 1396 };
	struct rte_mbuf *out[64];
	uint8_t inner[2048];
	uint32_t seq_expect = 1;

	add_sa(1, MS_DIR_OUT, SPI);
	for (unsigned int l = 0; l < RTE_DIM(lens); l++) {
		unsigned int n = seal(out, 8, lens[l], payload);

		CU_ASSERT_EQUAL(n, 8);
		for (unsigned int i = 0; i < n; i++) {
			const uint8_t *f = rte_pktmbuf_mtod(out[i], const uint8_t *);
			const struct rte_ether_hdr *eth = (const void *)f;
			const struct rte_ipv4_hdr *ip = (const void *)(f + 14);
			const struct rte_udp_hdr *udp = (const void *)(f + 34);
			struct ms_ip src, dst;
			uint32_t ilen = 0, spi = 0, seq = 0, esplen;
			uint64_t iv;

			ms_ip_parse(UT_OUTER_A, &src);
			ms_ip_parse(UT_OUTER_B, &dst);
			CU_ASSERT_EQUAL(eth->dst_addr.addr_bytes[5], 0xb0);	/* peer's MAC */
			CU_ASSERT(rte_is_same_ether_addr(&eth->src_addr,
							 &rig.dp.port[MS_PORT_OUTER].mac));
			CU_ASSERT_EQUAL(eth->ether_type, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
			CU_ASSERT_EQUAL(ip->version_ihl, 0x45);
			CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->total_length), out[i]->pkt_len - 14);
			CU_ASSERT_EQUAL(ip->next_proto_id, IPPROTO_UDP);
			CU_ASSERT(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG);
			CU_ASSERT_EQUAL(rte_ipv4_cksum(ip), 0);
			CU_ASSERT_EQUAL(ip->src_addr, src.v4);
			CU_ASSERT_EQUAL(ip->dst_addr, dst.v4);
			CU_ASSERT_EQUAL(udp->src_port, rte_cpu_to_be_16(4500));
			CU_ASSERT_EQUAL(udp->dst_port, rte_cpu_to_be_16(4500));
			CU_ASSERT_EQUAL(rte_be_to_cpu_16(udp->dgram_len), out[i]->pkt_len - 34);
			/* ESP: header, IV, ciphertext aligned to 4, 16-byte ICV */
			esplen = out[i]->pkt_len - 42;
			CU_ASSERT_EQUAL((esplen - 8 - 8 - 16) % 4, 0);
			CU_ASSERT(esplen - 32 >= 20u + 8 + lens[l] + 2u);
			CU_ASSERT(esplen - 32 <= 20u + 8 + lens[l] + 2 + 3);
			memcpy(&iv, f + 42 + 8, 8);
			CU_ASSERT_EQUAL_FATAL(ut_esp_open(f, out[i]->pkt_len, ks, 0, inner, &ilen,
							  &spi, &seq), 0);
			CU_ASSERT_EQUAL(spi, SPI);
			CU_ASSERT_EQUAL(seq, seq_expect);
			CU_ASSERT_EQUAL(rte_be_to_cpu_64(iv), seq_expect);	/* IV = sequence */
			seq_expect++;
			CU_ASSERT_EQUAL(ilen, 20u + 8 + lens[l]);
			CU_ASSERT_EQUAL(memcmp(inner + 28, payload[i], lens[l]), 0);
			CU_ASSERT_EQUAL(inner[0], 0x45);
		}
		rte_pktmbuf_free_bulk(out, n);
	}
	del_sa(1);
}

/* Seal n frames and feed them to the inbound SA; returns delivered frames. */
static unsigned int
roundtrip(struct rte_mbuf **got, unsigned int n, uint16_t len, uint8_t (*payload)[1500])
{
	struct rte_mbuf *sealed[64];
	unsigned int s = seal(sealed, n, len, payload);

	CU_ASSERT_EQUAL(s, n);
	ut_rig_inject(&rig, MS_PORT_OUTER, sealed, s);
	ut_rig_run(&rig);
	return ut_rig_take(&rig, MS_PORT_INNER, got, 64);
}

static void
test_roundtrip(void)
{
	static uint8_t payload[32][1500];
	struct rte_mbuf *got[64];
	unsigned int n;

	add_sa(1, MS_DIR_OUT, SPI);
	add_sa(2, MS_DIR_IN, SPI);
	n = roundtrip(got, 32, 1200, payload);
	CU_ASSERT_EQUAL(n, 32);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(got[i], const uint8_t *);

		CU_ASSERT_EQUAL(got[i]->pkt_len, 14u + 20 + 8 + 1200);
		CU_ASSERT_EQUAL(f[5], 0xb1);	/* host B's MAC */
		CU_ASSERT_EQUAL(memcmp(f + 42, payload[i], 1200), 0);
	}
	rte_pktmbuf_free_bulk(got, n);
	del_sa(1);
	del_sa(2);
}

/* One crafted frame in on the outer port: dropped under reason, nothing out. */
static void
expect_drop(struct rte_mbuf *m, enum ms_drop reason)
{
	uint64_t before = ut_drops(&rig, reason);
	struct rte_mbuf *got[8];

	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_drops(&rig, reason), before + 1);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_INNER, got, 8), 0);
	if (ut_drops(&rig, reason) != before + 1)
		fprintf(stderr, "\n  expected a drop as %s\n", ms_drop_name(reason));
}

static struct rte_mbuf *
one_sealed(uint16_t len)
{
	static uint8_t payload[1][1500];
	struct rte_mbuf *out[64];

	CU_ASSERT_FATAL(seal(out, 1, len, payload) == 1);
	return out[0];
}

static void
fix_lengths(struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->total_length = rte_cpu_to_be_16((uint16_t)(m->pkt_len - 14));
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(m->pkt_len - 34));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

static void
test_tampered(void)
{
	struct rte_mbuf *m;
	uint8_t *f;

	add_sa(1, MS_DIR_OUT, SPI);
	add_sa(2, MS_DIR_IN, SPI);
	/* Every offset after the SPI (sequence, IV, ciphertext, ICV) is authenticated. */
	for (uint32_t off = 42 + 4;; off++) {
		m = one_sealed(64);
		f = rte_pktmbuf_mtod(m, uint8_t *);
		if (off >= m->pkt_len) {
			rte_pktmbuf_free(m);
			break;
		}
		f[off] ^= 0x01;
		/* Seq bytes pick another replay slot but still fail the ICV. */
		expect_drop(m, MS_DROP_ICV_FAIL);
	}
	m = one_sealed(64);
	f = rte_pktmbuf_mtod(m, uint8_t *);
	f[42] ^= 0x80;		/* SPI */
	expect_drop(m, MS_DROP_UNKNOWN_SPI);
	del_sa(1);
	del_sa(2);
}

static void
test_truncated(void)
{
	struct rte_mbuf *m;

	add_sa(1, MS_DIR_OUT, SPI);
	add_sa(2, MS_DIR_IN, SPI);
	/* Cut without fixing headers: the IP length no longer fits. */
	m = one_sealed(100);
	rte_pktmbuf_trim(m, 10);
	expect_drop(m, MS_DROP_OUTER_MALFORMED);
	/* Cut and fixed, every length down to an empty UDP payload: misaligned
	 * or too short for ESP, else aligned but unauthentic. */
	for (uint16_t cut = 1;; cut++) {
		uint32_t esplen;

		m = one_sealed(100);
		if (cut > m->pkt_len - 42) {
			rte_pktmbuf_free(m);
			break;
		}
		rte_pktmbuf_trim(m, cut);
		fix_lengths(m);
		esplen = m->pkt_len - 42;
		if (esplen < 36 || (esplen - 32) % 4 != 0)
			expect_drop(m, MS_DROP_ESP_MALFORMED);
		else
			expect_drop(m, MS_DROP_ICV_FAIL);
	}
	del_sa(1);
	del_sa(2);
}

static void
test_peer_and_window(void)
{
	struct rte_mbuf *m, *dup;
	struct rte_ipv4_hdr *ip;

	add_sa(1, MS_DIR_OUT, SPI);
	add_sa(2, MS_DIR_IN, SPI);
	m = one_sealed(80);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->src_addr ^= htonl(0x10);
	fix_lengths(m);
	expect_drop(m, MS_DROP_PEER_MISMATCH);
	m = one_sealed(80);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
	fix_lengths(m);
	expect_drop(m, MS_DROP_OUTER_FRAGMENT);
	m = one_sealed(80);
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, 14);
	ip->version_ihl = 0x46;		/* options: none of ours has them */
	fix_lengths(m);
	expect_drop(m, MS_DROP_OUTER_OPTIONS);
	m = one_sealed(80);
	dup = rte_pktmbuf_copy(m, rig.dp.mbuf_pool, 0, UINT32_MAX);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	ut_rig_drain(&rig);
	expect_drop(dup, MS_DROP_REPLAY);
	del_sa(1);
	del_sa(2);
}

static void
test_crafted_inner(void)
{
	uint8_t pkt[64];
	struct rte_mbuf *m, *ok[8];
	struct ms_key k;

	add_sa(2, MS_DIR_IN, SPI);
	/* A valid inner packet A->B: delivered. */
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, (const uint8_t *)"hello", 5);
	memcpy(pkt, rte_pktmbuf_mtod_offset(m, uint8_t *, 14), 33);
	rte_pktmbuf_free(m);
	CU_ASSERT(ms_key_extract(pkt, 33, &k) > 0);
	m = ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 10, pkt, 33, IPPROTO_IPIP, 1, false);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_INNER, ok, 8), 1);
	rte_pktmbuf_free(ok[0]);
	/* Wrong next header, bad padding: after decryption, before delivery. */
	expect_drop(ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 11, pkt, 33, IPPROTO_UDP, 1, false),
		    MS_DROP_BAD_TRAILER);
	expect_drop(ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 12, pkt, 33, IPPROTO_IPIP, 5, true),
		    MS_DROP_BAD_TRAILER);
	/* Authentic but outside the SA's selector (source 192.0.2.9). */
	pkt[15] = 9;
	pkt[10] = pkt[11] = 0;
	{
		uint16_t ck = rte_ipv4_cksum((struct rte_ipv4_hdr *)pkt);

		memcpy(pkt + 10, &ck, 2);
	}
	expect_drop(ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 13, pkt, 33, IPPROTO_IPIP, 1, false),
		    MS_DROP_SELECTOR_MISMATCH);
	/* Authentic garbage. */
	memset(pkt, 0x45, 32);
	expect_drop(ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 14, pkt, 34, IPPROTO_IPIP, 0, false),
		    MS_DROP_DECAP_MALFORMED);
	del_sa(2);
}

static void
test_policy(void)
{
	static const uint8_t data[32];
	struct rte_mbuf *m, *out[8];
	uint64_t before = ut_drops(&rig, MS_DROP_NO_POLICY);

	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, sizeof(data));
	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_NO_POLICY), before + 1);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 0);

	rig.conf.policy = MS_POLICY_BYPASS;
	ut_conf_publish(&rig);
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, sizeof(data));
	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[0], uint8_t *)[5], 0xb0);	/* to the peer */
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[0], uint8_t *)[14 + 9], IPPROTO_UDP);
	/* The same plaintext arriving from outside: delivered ... */
	ut_rig_inject(&rig, MS_PORT_OUTER, out, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, out, 8), 1);
	/* ... unless an inbound SA covers it: then it must arrive sealed. */
	add_sa(2, MS_DIR_IN, SPI);
	rte_pktmbuf_mtod(out[0], uint8_t *)[5] = 0;
	expect_drop(out[0], MS_DROP_PLAINTEXT_FOR_SA);
	del_sa(2);
	rig.conf.policy = MS_POLICY_DISCARD;
	ut_conf_publish(&rig);
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, sizeof(data));
	expect_drop(m, MS_DROP_NOT_ESP);
}

static void
test_too_big(void)
{
	static uint8_t data[1500];
	struct rte_mbuf *m, *out[8];
	const uint8_t *f;
	uint64_t before = ut_drops(&rig, MS_DROP_TOO_BIG);

	add_sa(1, MS_DIR_OUT, SPI);
	/* 20 + 8 + 1411 = 1439 bytes: one more than fits 1500 after ESP-in-UDP. */
	CU_ASSERT_EQUAL(ms_sa_max_inner(1500, MS_AF_INET), 1438);
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, 1411);
	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_TOO_BIG), before + 1);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 0);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, out, 8), 1);
	f = rte_pktmbuf_mtod(out[0], const uint8_t *);
	CU_ASSERT_EQUAL(f[5], 0x99);		/* back to the sender's MAC */
	CU_ASSERT_EQUAL(f[14 + 9], IPPROTO_ICMP);
	CU_ASSERT_EQUAL(f[34], 3);		/* destination unreachable */
	CU_ASSERT_EQUAL(f[35], 4);		/* fragmentation needed */
	CU_ASSERT_EQUAL(f[40] << 8 | f[41], 1438);	/* next-hop MTU */
	CU_ASSERT_EQUAL(rte_ipv4_cksum((const struct rte_ipv4_hdr *)(f + 14)), 0);
	CU_ASSERT_EQUAL(rte_raw_cksum(f + 34, out[0]->pkt_len - 34), 0xffff);
	rte_pktmbuf_free(out[0]);
	/* 1438 fits. */
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, 1410);
	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	del_sa(1);
}

static void
test_bypass_rule_and_expiry(void)
{
	static const uint8_t data[16];
	struct ms_sa_spec sp;
	struct rte_mbuf *m, *out[8];
	char err[256];

	/* A bypass rule (policy "disabled") under the default policy discard. */
	ut_spec(&sp, 7, MS_DIR_BYPASS, 0, ks, 1);
	ms_ip_parse(UT_OUTER_A, &sp.local);
	ms_ip_parse(UT_OUTER_B, &sp.peer);
	ms_sel_mirror(&sp.sel[0], &sp.sel[1]);
	sp.nb_sel = 2;
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), 0);
	m = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, sizeof(data));
	ut_rig_inject(&rig, MS_PORT_INNER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 1);
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[0], uint8_t *)[5], 0xb0);	/* the rule's peer */
	CU_ASSERT_EQUAL(rte_pktmbuf_mtod(out[0], uint8_t *)[14 + 9], IPPROTO_UDP);	/* plaintext */
	ut_rig_inject(&rig, MS_PORT_OUTER, out, 1);	/* and the same plaintext comes in */
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, out, 8), 1);
	rte_pktmbuf_free(out[0]);
	m = ut_frame_udp4(rig.dp.mbuf_pool, "192.0.2.7", UT_HOST_B, 1, 2, data, sizeof(data));
	expect_drop(m, MS_DROP_NOT_ESP);	/* outside the rule: the default applies */
	del_sa(7);
	/* Lifetime: the data plane deletes an expired SA by itself. */
	ut_spec(&sp, 8, MS_DIR_IN, 0x8888, ks, 1);
	sp.expires = 1000;
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ms_sadb_expire(&rig.dp.sadb, 999), 0);
	CU_ASSERT_PTR_NOT_NULL(ms_sadb_find(&rig.dp.sadb, 8));
	CU_ASSERT_EQUAL(ms_sadb_expire(&rig.dp.sadb, 1000), 1);
	CU_ASSERT_PTR_NULL(ms_sadb_find(&rig.dp.sadb, 8));
	explicit_bzero(&sp, sizeof(sp));
}

static void
lane_spec(struct ms_sa_spec *sp, uint32_t id, uint32_t spi, uint16_t lane, uint16_t nb,
	  const uint8_t *key)
{
	ut_spec(sp, id, MS_DIR_OUT, spi, key, 1);
	sp->group = 77;
	sp->lane = lane;
	sp->nb_lanes = nb;
	sp->sport = (uint16_t)(4500 + lane);
}

/* A migration over every worker: worker w seals with lane w, its own SA. */
static void
test_lanes(void)
{
	static const uint8_t data[32];
	struct ms_sa_spec sp;
	struct rte_mbuf *m[8], *out[16];
	uint8_t k1[36], inner[2048];
	char err[256];
	uint32_t ilen, spi, seq;

	ut_random(k1, sizeof(k1));
	/* One lane cannot serve two workers; a lane twice is refused. */
	lane_spec(&sp, 20, 0xa000, 0, 1, ks);
	CU_ASSERT_EQUAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), -EINVAL);
	lane_spec(&sp, 20, 0xa000, 0, 2, ks);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), 0);
	lane_spec(&sp, 21, 0xa002, 0, 2, ks);
	CU_ASSERT_EQUAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), -EEXIST);
	/* Incomplete, the group has no rule yet: the default policy applies. */
	m[0] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data, sizeof(data));
	{
		uint64_t before = ut_drops(&rig, MS_DROP_NO_POLICY);

		ut_rig_inject(&rig, MS_PORT_INNER, m, 1);
		ut_rig_run(&rig);
		CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_NO_POLICY), before + 1);
	}
	lane_spec(&sp, 21, 0xa001, 1, 2, k1);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), 0);
	for (unsigned int q = 0; q < UT_WORKERS; q++) {
		for (int i = 0; i < 4; i++)
			m[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2, data,
					     sizeof(data));
		ut_rig_inject_q(&rig, MS_PORT_INNER, q, m, 4);
	}
	ut_rig_run(&rig);
	for (unsigned int q = 0; q < UT_WORKERS; q++) {
		unsigned int n = ut_rig_take_q(&rig, MS_PORT_OUTER, q, out, 16);
		const uint8_t *key = q == 0 ? ks : k1;

		CU_ASSERT_EQUAL(n, 4);
		for (unsigned int i = 0; i < n; i++) {
			const uint8_t *f = rte_pktmbuf_mtod(out[i], const uint8_t *);

			CU_ASSERT_EQUAL_FATAL(ut_esp_open(f, out[i]->pkt_len, key, 0, inner, &ilen,
							  &spi, &seq), 0);
			CU_ASSERT_EQUAL(spi, 0xa000 + q);	/* worker q: lane q */
			CU_ASSERT_EQUAL(seq, i + 1);		/* each lane its own sequence */
			CU_ASSERT_EQUAL((f[34] << 8 | f[35]) - 4500, (int)q);	/* source port per lane */
		}
		rte_pktmbuf_free_bulk(out, n);
	}
	del_sa(20);
	del_sa(21);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(&sp, sizeof(sp));
}

static const CU_TestInfo tests[] = {
	{ "sealed bytes: headers, SPI, sequence, IV, padding, ICV (OpenSSL)", test_seal_layout },
	{ "seal then open: delivered intact", test_roundtrip },
	{ "tampered at any offset: icv_fail; wrong SPI", test_tampered },
	{ "truncated at every length", test_truncated },
	{ "wrong peer, fragment, IP options; replayed", test_peer_and_window },
	{ "authentic but bad trailer, selector, inner", test_crafted_inner },
	{ "discard, bypass, plaintext an SA covers", test_policy },
	{ "too big: ICMP fragmentation needed", test_too_big },
	{ "bypass rule both ways; SA expiry", test_bypass_rule_and_expiry },
	{ "lanes: worker w seals with lane w, own sequence and port", test_lanes },
	CU_TEST_INFO_NULL,
};

void
ut_suite_esp(void)
{
	tl_add_tests(ut_rig_suite("esp", &rig, ks), tests);
}
