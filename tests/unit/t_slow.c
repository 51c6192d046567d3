/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path under abuse from the migration network, in the whole data
 * plane in one process: a neighbour solicitation without options (78 bytes)
 * gets a well-formed advertisement; 5000 solicitations from the outer /64
 * create no neighbour entries and SAs towards new peers still install,
 * promptly; advertisements and ARP nobody asked for overwrite nothing,
 * while the answer to our own request is taken; the table is bounded,
 * evicts what nobody needs and never an SA's next hop; entries age.
 */
#include <arpa/inet.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>

#include "ms_sadb.h"
#include "ms_slow_priv.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t ks[36];

#define OWN6 "2001:db8:1::1"
#define ND_LEN (14 + 40 + 32)
static const uint8_t attacker[6] = { 0x02, 0x66, 0x66, 0x66, 0x66, 0x66 };

static void
own6(void)
{
	ms_prefix_parse(OWN6 "/64", &rig.conf.outer.addr6);
	ms_ip_parse(OWN6, &rig.conf.outer.addr6.ip);
}

static struct ms_lcore_stats
sums(void)
{
	struct ms_lcore_stats s;

	ms_stats_sum(&rig.dp.stats, &s);
	return s;
}

/* An NS (type 135) or NA (136) from src about tgt; lladdr: the option's MAC, or none. */
static struct rte_mbuf *
nd_frame(uint8_t type, const uint8_t *src, const uint8_t *tgt, const uint8_t *lladdr)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rig.dp.mbuf_pool);
	uint16_t plen = (uint16_t)(24 + (lladdr ? 8 : 0)), ck;
	uint8_t *f, *icmp;
	struct rte_ipv6_hdr *ip;

	CU_ASSERT_FATAL(m != NULL);
	f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + 40 + plen));
	CU_ASSERT_FATAL(f != NULL);
	if (f == NULL)	/* for the compiler: CU_ASSERT_FATAL returned */
		return NULL;
	memset(f, 0, 14 + 40 + plen);
	f[0] = 0x33, f[1] = 0x33, f[2] = 0xff;
	f[6] = 0x02, f[10] = 0x99, f[11] = src[15];
	f[12] = 0x86, f[13] = 0xdd;
	ip = (struct rte_ipv6_hdr *)(f + 14);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(plen);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, src, 16);
	ip->dst_addr[0] = 0xff, ip->dst_addr[1] = 0x02, ip->dst_addr[11] = 1;
	ip->dst_addr[12] = 0xff;
	memcpy(ip->dst_addr + 13, tgt + 13, 3);
	icmp = (uint8_t *)(ip + 1);
	icmp[0] = type;
	if (type == 136)
		icmp[4] = 0x20;	/* override */
	memcpy(icmp + 8, tgt, 16);
	if (lladdr != NULL) {
		icmp[24] = type == 135 ? 1 : 2;
		icmp[25] = 1;
		memcpy(icmp + 26, lladdr, 6);
	}
	ck = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &ck, 2);
	return m;
}

static void
v6(const char *s, uint8_t *a)
{
	CU_ASSERT_FATAL(inet_pton(AF_INET6, s, a) == 1);
}

static void
test_short_ns(void)
{
	uint8_t src[16], tgt[16], req_mac[6];
	struct rte_mbuf *m, *out[8];
	const struct rte_ipv6_hdr *ip;
	const uint8_t *f, *icmp;

	own6();
	v6("2001:db8:1::2", src);
	v6(OWN6, tgt);
	m = nd_frame(135, src, tgt, NULL);
	CU_ASSERT_EQUAL_FATAL(m->pkt_len, 78);
	memcpy(req_mac, rte_pktmbuf_mtod(m, uint8_t *) + 6, 6);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_OUTER, out, 8), 1);
	f = rte_pktmbuf_mtod(out[0], const uint8_t *);
	ip = (const struct rte_ipv6_hdr *)(f + 14);
	icmp = (const uint8_t *)(ip + 1);
	CU_ASSERT_EQUAL(out[0]->pkt_len, ND_LEN);
	CU_ASSERT_EQUAL(out[0]->data_len, ND_LEN);
	CU_ASSERT_EQUAL(memcmp(f, req_mac, 6), 0);	/* no option: to the frame's source */
	CU_ASSERT_EQUAL(rte_be_to_cpu_16(ip->payload_len), 32);
	CU_ASSERT_EQUAL(memcmp(ip->src_addr, tgt, 16), 0);
	CU_ASSERT_EQUAL(memcmp(ip->dst_addr, src, 16), 0);
	CU_ASSERT_EQUAL(icmp[0], 136);
	CU_ASSERT_EQUAL(icmp[4], 0x60);	/* solicited, override */
	CU_ASSERT_EQUAL(memcmp(icmp + 8, tgt, 16), 0);
	CU_ASSERT(icmp[24] == 2 && icmp[25] == 1);
	CU_ASSERT_EQUAL(memcmp(icmp + 26, rig.dp.port[MS_PORT_OUTER].mac.addr_bytes, 6), 0);
	CU_ASSERT_EQUAL(rte_ipv6_udptcp_cksum_verify(ip, icmp), 0);
	rte_pktmbuf_free_bulk(out, 1);
}

#define FLOOD 5000
#define BATCH 500

static void
test_flood(void)
{
	uint8_t src[16], tgt[16], mac[6] = { 0x02, 0x77 };
	struct rte_mbuf *m[BATCH], *out[BATCH];
	struct ms_lcore_stats s0 = sums(), s1;
	uint32_t count0 = rig.dp.neigh.count;
	uint64_t t0 = rte_get_timer_cycles(), replies = 0;

	own6();
	v6("2001:db8:1::", src);
	v6(OWN6, tgt);
	for (int b = 0; b < FLOOD / BATCH; b++) {
		unsigned int n;

		for (int i = 0; i < BATCH; i++) {
			ut_random(src + 8, 8);	/* anywhere in the outer /64 */
			memcpy(mac + 2, src + 12, 4);
			m[i] = nd_frame(135, src, tgt, mac);
		}
		ut_rig_inject(&rig, MS_PORT_OUTER, m, BATCH);
		ut_rig_run(&rig);
		while ((n = ut_rig_take(&rig, MS_PORT_OUTER, out, BATCH)) > 0) {
			replies += n;
			rte_pktmbuf_free_bulk(out, n);
		}
	}
	s1 = sums();
	CU_ASSERT_EQUAL(rig.dp.neigh.count, count0);	/* nobody asked: nothing learned */
	CU_ASSERT(replies > 0 && replies < FLOOD / 2);	/* answered, at a bounded rate */
	CU_ASSERT_EQUAL(replies + (s1.arp_nd_limited - s0.arp_nd_limited) +
			(s1.drop[MS_DROP_SLOWPATH_FULL] - s0.drop[MS_DROP_SLOWPATH_FULL]), FLOOD);
	CU_ASSERT(s1.neigh_refused - s0.neigh_refused >= replies);
	/* SAs towards peers nobody resolved yet still install, promptly. */
	for (uint32_t i = 0; i < 4; i++) {
		struct ms_sa_spec sp;
		char err[256] = "", peer[32];

		ut_spec(&sp, 10 + i, MS_DIR_OUT, 0x5000 + i, ks, 1);
		snprintf(peer, sizeof(peer), "203.0.113.%u", 10 + i);
		ms_ip_parse(peer, &sp.peer);
		CU_ASSERT_EQUAL(ms_sadb_add(&rig.dp.sadb, &sp, err, sizeof(err)), 0);
		explicit_bzero(&sp, sizeof(sp));
	}
	CU_ASSERT((rte_get_timer_cycles() - t0) / rte_get_timer_hz() < 20);
	for (uint32_t i = 0; i < 4; i++)
		ut_sa_del(&rig, 10 + i);
	ut_rig_run(&rig);
	ut_rig_drain(&rig);
}

/* An ARP frame on the outer port: op (1 request, 2 reply) from sip at sha, about tip. */
static void
arp_in(uint16_t op, const char *sip, const uint8_t *sha, const char *tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rig.dp.mbuf_pool);
	uint16_t len = RTE_ETHER_HDR_LEN + sizeof(struct rte_arp_hdr) + 18;	/* padded to 60 */
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	char *f;

	CU_ASSERT_FATAL(m != NULL);
	f = rte_pktmbuf_append(m, len);
	CU_ASSERT_FATAL(f != NULL);
	if (f == NULL)	/* for the compiler: CU_ASSERT_FATAL returned */
		return;
	memset(f, 0, len);
	eth = (struct rte_ether_hdr *)f;
	memset(&eth->dst_addr, 0xff, 6);
	memcpy(&eth->src_addr, sha, 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp = (struct rte_arp_hdr *)(eth + 1);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	memcpy(&arp->arp_data.arp_sha, sha, 6);
	inet_pton(AF_INET, sip, &arp->arp_data.arp_sip);
	inet_pton(AF_INET, tip, &arp->arp_data.arp_tip);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	ut_rig_drain(&rig);
}

static uint64_t
mac_of(const char *ip)
{
	struct ms_ip a;
	struct ms_neigh_entry *e;

	ms_ip_parse(ip, &a);
	e = ms_neigh_lookup(&rig.dp.neigh, MS_PORT_OUTER, &a);
	return e == NULL ? 0 : e->mac;
}

static void
test_unsolicited(void)
{
	uint8_t ip6[16], peer6[16], mac[6] = { 0x02, 0, 0, 0, 0x01, 0x62 };
	struct rte_ether_addr known = { .addr_bytes = { 0x02, 0, 0, 0, 0x01, 0x61 } };
	uint64_t b = mac_of(UT_OUTER_B), b6;
	struct ms_lcore_stats s0 = sums();
	struct ms_neigh_entry *e;
	struct rte_mbuf *m;
	struct ms_ip a;

	own6();
	CU_ASSERT_FATAL((b & MS_NEIGH_VALID) != 0);
	/* Gratuitous ARP, and a request for our address, claiming the peer's address. */
	arp_in(2, UT_OUTER_B, attacker, UT_OUTER_B);
	arp_in(2, UT_OUTER_B, attacker, UT_OUTER_A);
	arp_in(1, UT_OUTER_B, attacker, UT_OUTER_A);
	CU_ASSERT_EQUAL(mac_of(UT_OUTER_B), b);
	/* An unsolicited advertisement (override set) for a resolved IPv6 neighbour. */
	ms_ip_parse("2001:db8:1::2", &a);
	ms_neigh_set_mac(ms_neigh_get(&rig.dp.neigh, MS_PORT_OUTER, &a), &known);
	b6 = mac_of("2001:db8:1::2");
	v6("2001:db8:1::2", peer6);
	m = nd_frame(136, peer6, peer6, attacker);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(mac_of("2001:db8:1::2"), b6);
	CU_ASSERT_EQUAL(sums().neigh_conflict - s0.neigh_conflict, 4);
	/* The answer to our own request is taken. */
	ms_ip_parse("2001:db8:1::3", &a);
	e = ms_neigh_get(&rig.dp.neigh, MS_PORT_OUTER, &a);
	CU_ASSERT_FATAL(e != NULL);
	ms_slow_solicit(&rig.dp, e);
	ut_rig_run(&rig);
	ut_rig_drain(&rig);
	v6("2001:db8:1::3", ip6);
	m = nd_frame(136, ip6, ip6, mac);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
	CU_ASSERT((mac_of("2001:db8:1::3") & MS_NEIGH_VALID) != 0);
	CU_ASSERT_EQUAL(memcmp(&e->mac, mac, 6), 0);
}

static void
test_bounded(void)
{
	struct ms_neigh n;
	struct ms_ip a = { .af = MS_AF_INET };

	CU_ASSERT_EQUAL_FATAL(ms_neigh_init(&n, 8, SOCKET_ID_ANY, rig.dp.rcu), 0);
	for (uint32_t i = 1; i <= 8; i++) {
		a.v4 = htonl(0x0a000000 + i);
		CU_ASSERT_FATAL(ms_neigh_get(&n, 1, &a) != NULL);
		ms_neigh_lookup(&n, 1, &a)->wanted = i < 8;
	}
	CU_ASSERT_EQUAL(n.count, 8);
	a.v4 = htonl(0x0a000009);
	CU_ASSERT_FATAL(ms_neigh_get(&n, 1, &a) != NULL);	/* room made: .8 went */
	CU_ASSERT_EQUAL(n.evicted, 1);
	CU_ASSERT_EQUAL(n.count, 8);
	for (uint32_t i = 1; i <= 9; i++) {
		a.v4 = htonl(0x0a000000 + i);
		CU_ASSERT_EQUAL(ms_neigh_lookup(&n, 1, &a) != NULL, i != 8);
	}
	ms_neigh_lookup(&n, 1, &a)->wanted = 1;	/* now every entry is an SA's next hop */
	a.v4 = htonl(0x0a00000a);
	CU_ASSERT(ms_neigh_get(&n, 1, &a) == NULL);
	CU_ASSERT_EQUAL(n.count, 8);
	ms_neigh_free(&n);
}

static void
test_aging(void)
{
	struct rte_ether_addr mac = { .addr_bytes = { 0x02, 0, 0, 0, 0x01, 0x77 } };
	uint64_t now = rte_get_timer_cycles(), old = now - 400 * rte_get_timer_hz();
	struct ms_lcore_stats s0 = sums();
	struct ms_neigh_entry *gone, *kept, *stale;
	struct rte_mbuf *out[8];
	struct ms_slow s;
	struct ms_ip a;

	ms_ip_parse("203.0.113.77", &a);
	gone = ms_neigh_get(&rig.dp.neigh, MS_PORT_OUTER, &a);
	ms_ip_parse("203.0.113.78", &a);
	kept = ms_neigh_get(&rig.dp.neigh, MS_PORT_OUTER, &a);
	ms_ip_parse("203.0.113.79", &a);
	stale = ms_neigh_get(&rig.dp.neigh, MS_PORT_OUTER, &a);
	CU_ASSERT_FATAL(gone && kept && stale);
	ms_neigh_set_mac(gone, &mac);
	ms_neigh_set_mac(kept, &mac);
	gone->confirmed = kept->confirmed = old;	/* unconfirmed for long, probes unanswered */
	gone->tries = kept->tries = 3;
	kept->wanted = 1;			/* an SA's next hop */
	stale->last_req = old;			/* asked long ago, nobody waits */
	ms_slow_init(&s, &rig.dp);
	ms_slow_tick(&s);
	CU_ASSERT(mac_of("203.0.113.77") == 0 && mac_of("203.0.113.79") == 0);
	CU_ASSERT((mac_of("203.0.113.78") & MS_NEIGH_VALID) != 0);
	CU_ASSERT_EQUAL(sums().neigh_evicted - s0.neigh_evicted, 2);
	ut_rig_run(&rig);
	CU_ASSERT(ut_rig_take(&rig, MS_PORT_OUTER, out, 8) >= 1);	/* kept is asked again */
	ut_rig_drain(&rig);
}

static const CU_TestInfo tests[] = {
	{ "a 78-byte solicitation gets a well-formed advertisement", test_short_ns },
	{ "5000 solicitations from the outer /64: nothing learned, SAs still install",
	  test_flood },
	{ "unsolicited ARP and advertisements overwrite nothing", test_unsolicited },
	{ "the table is bounded and never evicts an SA's next hop", test_bounded },
	{ "entries nobody needs age out", test_aging },
	CU_TEST_INFO_NULL,
};

void
ut_suite_slow(void)
{
	tl_add_tests(ut_rig_suite("slow", &rig, ks), tests);
}
