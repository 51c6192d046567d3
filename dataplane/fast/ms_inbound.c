/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inbound path: frames from the outer port (the migration network).
 * Every header and length is checked before it is used; ESP-in-UDP for our
 * port goes to its SA by SPI, everything else follows the default policy.
 */
#include <netinet/in.h>

#include <rte_cryptodev.h>
#include <rte_esp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ms_tx.h"
#include "ms_path.h"
#include "ms_replay.h"

#define ESP_MIN (sizeof(struct rte_esp_hdr) + 8 /* IV */ + 4 /* min. ciphertext */ + MS_ICV_LEN)
/* lib/ipsec needs room after the packet for the AAD and ESN high bits. */
#define TAILROOM_MIN 32

enum outer { O_ESP, O_PLAIN, O_CONSUMED };

struct outer_info {
	struct ms_ip src, dst;
	rte_be16_t sport, dport;
};

static enum outer
drop(struct ms_worker *w, struct rte_mbuf *m, enum ms_drop r)
{
	ms_drop(w, m, -1, r);
	return O_CONSUMED;
}

/* Outer IPv4: returns header length, or 0 after dropping. */
static uint32_t
check_ip4(struct ms_worker *w, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
	  uint32_t avail, struct outer_info *oi)
{
	uint32_t tot = rte_be_to_cpu_16(ip->total_length);

	if ((ip->version_ihl >> 4) != 4 || tot < sizeof(*ip) || tot > avail ||
	    (ip->version_ihl & 0xf) < 5) {
		drop(w, m, MS_DROP_OUTER_MALFORMED);
		return 0;
	}
	if ((ip->version_ihl & 0xf) != 5) {
		drop(w, m, MS_DROP_OUTER_OPTIONS);
		return 0;
	}
	if (rte_ipv4_cksum(ip) != 0) {
		drop(w, m, MS_DROP_OUTER_MALFORMED);
		return 0;
	}
	if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		drop(w, m, MS_DROP_OUTER_FRAGMENT);
		return 0;
	}
	oi->src.af = oi->dst.af = MS_AF_INET;
	oi->src.v4 = ip->src_addr;
	oi->dst.v4 = ip->dst_addr;
	if (tot < avail)
		rte_pktmbuf_trim(m, (uint16_t)(avail - tot));
	return sizeof(*ip);
}

static uint32_t
check_ip6(struct ms_worker *w, struct rte_mbuf *m, const struct rte_ipv6_hdr *ip,
	  uint32_t avail, struct outer_info *oi)
{
	uint32_t tot = sizeof(*ip) + rte_be_to_cpu_16(ip->payload_len);

	if (avail < sizeof(*ip) || (rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6 || tot > avail) {
		drop(w, m, MS_DROP_OUTER_MALFORMED);
		return 0;
	}
	if (ip->proto == IPPROTO_FRAGMENT) {
		drop(w, m, MS_DROP_OUTER_FRAGMENT);
		return 0;
	}
	if (ip->proto == IPPROTO_HOPOPTS || ip->proto == IPPROTO_ROUTING ||
	    ip->proto == IPPROTO_DSTOPTS) {
		drop(w, m, MS_DROP_OUTER_OPTIONS);
		return 0;
	}
	oi->src.af = oi->dst.af = MS_AF_INET6;
	memcpy(oi->src.v6, ip->src_addr, 16);
	memcpy(oi->dst.v6, ip->dst_addr, 16);
	if (tot < avail)
		rte_pktmbuf_trim(m, (uint16_t)(avail - tot));
	return sizeof(*ip);
}

/* IPv6 neighbour discovery (ICMPv6 types 133 to 137) after an hl-byte header. */
static bool
is_nd(const struct rte_mbuf *m, uint32_t hl, uint8_t proto)
{
	uint8_t t;

	if (proto != IPPROTO_ICMPV6 || m->pkt_len <= RTE_ETHER_HDR_LEN + hl)
		return false;
	t = *rte_pktmbuf_mtod_offset(m, const uint8_t *, RTE_ETHER_HDR_LEN + hl);
	return t >= 133 && t <= 137;
}

/*
 * The outer Ethernet and IP headers, checked (m trimmed to the IP length).
 * Returns the IP header's length with *proto set, or 0: m was consumed
 * (dropped, or ARP / ND handed to the slow path).
 */
static uint32_t
parse_l3(struct ms_worker *w, struct rte_mbuf *m, struct outer_info *oi, uint8_t *proto)
{
	const struct rte_ether_hdr *eth;
	uint32_t avail, hl;
	uint16_t type;

	if (unlikely(!rte_pktmbuf_is_contiguous(m) || m->pkt_len < RTE_ETHER_HDR_LEN + 28)) {
		drop(w, m, MS_DROP_OUTER_MALFORMED);
		return 0;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = rte_be_to_cpu_16(eth->ether_type);
	avail = m->pkt_len - RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_ARP) {
		ms_to_slow(w, m, MS_SLOW_ARP, MS_PORT_OUTER, -1);
		return 0;
	}
	if (type == RTE_ETHER_TYPE_IPV4) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

		/* A failed check has freed m: nothing of it may be read after. */
		hl = check_ip4(w, m, ip, avail, oi);
		if (hl != 0)
			*proto = ip->next_proto_id;
		return hl;
	}
	if (type == RTE_ETHER_TYPE_IPV6) {
		const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(eth + 1);

		hl = check_ip6(w, m, ip, avail, oi);
		if (hl == 0)
			return 0;
		*proto = ip->proto;
		if (is_nd(m, hl, *proto)) {
			ms_to_slow(w, m, MS_SLOW_ND, MS_PORT_OUTER, -1);
			return 0;
		}
		return hl;
	}
	drop(w, m, MS_DROP_L2_UNSUPPORTED);
	return 0;
}

/*
 * Classify an outer frame. O_ESP: an ESP-in-UDP packet for our port (udp_port,
 * network order), long enough, l2_len/l3_len set so that the ESP header
 * follows them, SPI in *spi. O_PLAIN: any other IP packet. Otherwise consumed.
 */
static enum outer
parse_outer(struct ms_worker *w, rte_be16_t udp_port, struct rte_mbuf *m,
	    struct outer_info *oi, uint32_t *spi)
{
	const struct rte_udp_hdr *udp;
	const struct rte_esp_hdr *esp;
	uint32_t avail, hl, esplen;
	uint8_t proto;

	hl = parse_l3(w, m, oi, &proto);
	if (hl == 0)
		return O_CONSUMED;
	avail = m->pkt_len - RTE_ETHER_HDR_LEN - hl;	/* after the trim */
	if (proto != IPPROTO_UDP || avail < sizeof(*udp))
		return O_PLAIN;
	udp = rte_pktmbuf_mtod_offset(m, const struct rte_udp_hdr *, RTE_ETHER_HDR_LEN + hl);
	if (udp->dst_port != udp_port)
		return O_PLAIN;
	if (rte_be_to_cpu_16(udp->dgram_len) != avail)
		return drop(w, m, MS_DROP_OUTER_MALFORMED);
	esplen = avail - sizeof(*udp);
	esp = (const struct rte_esp_hdr *)(udp + 1);
	/* NAT keep-alives (one byte) and IKE (SPI 0) are not ours either. */
	if (esplen < ESP_MIN || esp->spi == 0 ||
	    ((esplen - sizeof(*esp) - 8 - MS_ICV_LEN) & 3) != 0)
		return drop(w, m, MS_DROP_ESP_MALFORMED);
	if (rte_pktmbuf_tailroom(m) < TAILROOM_MIN)
		return drop(w, m, MS_DROP_OUTER_MALFORMED);
	oi->sport = udp->src_port;
	oi->dport = udp->dst_port;
	*spi = esp->spi;
	ms_meta(m)->seq = rte_be_to_cpu_32(esp->seq);
	m->tx_offload = 0;
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = hl + sizeof(*udp);
	return O_ESP;
}

/*
 * Plaintext arriving on the outer port: a bypass rule lets it in; traffic
 * an inbound SA covers must arrive sealed, whatever the default; the rest
 * follows the default policy.
 */
static void
plaintext(struct ms_worker *w, const struct ms_tables *t, struct rte_mbuf *m)
{
	const struct ms_sa_rt *rt = NULL;
	struct ms_key k;
	const uint8_t *kp = (const uint8_t *)&k;
	struct ms_ip dst;
	int32_t slot = -1;
	uint32_t res;

	if (ms_key_extract(rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN),
			   m->pkt_len - RTE_ETHER_HDR_LEN, &k) < 0) {
		ms_drop(w, m, -1, MS_DROP_OUTER_MALFORMED);
		return;
	}
	ms_spd_classify(&t->spd, k.af == MS_AF_INET ? MS_SPD_IN4 : MS_SPD_IN6, &kp, &res, 1);
	if (res != 0 && res <= t->nb_tg)
		rt = t->tg[res - 1].rt[0];
	if (rt != NULL && rt->dir != MS_DIR_BYPASS) {
		ms_drop(w, m, (int32_t)rt->slot, MS_DROP_PLAINTEXT_FOR_SA);
		return;
	}
	if (rt == NULL && !t->path.bypass) {
		ms_drop(w, m, -1, MS_DROP_NOT_ESP);
		return;
	}
	if (rt != NULL) {
		struct ms_sa_stats *ss = ms_sa_stats(&w->dp->stats, w->idx, rt->slot);

		slot = (int32_t)rt->slot;
		ms_ctr_add(&ss->pkts, 1);
		ms_ctr_add(&ss->bytes, m->pkt_len - RTE_ETHER_HDR_LEN);
	}
	ms_key_dst(&k, &dst);
	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_pkts, 1);
	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_bytes, m->pkt_len - RTE_ETHER_HDR_LEN);
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	ms_deliver_inner(w, &t->path.hop[MS_PORT_INNER], m, &dst, slot);
}

uint16_t
ms_in_prepare(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb, uint16_t n,
	      struct rte_crypto_op **cop)
{
	const struct ms_replay *win = rt->replay;
	uint16_t k = 0, p;

	/* ESN and the window are migsec's (ms_replay.h), decided once, here. */
	for (uint16_t i = 0; i < n; i++) {
		struct ms_mbuf_meta *meta = ms_meta(mb[i]);
		uint64_t sqn = ms_replay_esn(ms_replay_top(win), meta->seq);

		meta->sqn = sqn;
		if (!ms_replay_pass(w, mb[i], (int32_t)rt->slot,
				    ms_replay_check(win, sqn, rt->replay_win)))
			continue;
		meta->sa_slot = (int32_t)rt->slot;
		mb[k++] = mb[i];
	}
	p = rte_ipsec_pkt_crypto_prepare(&rt->ss, mb, cop, k);
	if (unlikely(p < k)) {
		/* Lengths and room were checked before; this cannot be the peer's doing. */
		ms_count_drop(&w->dp->stats, w->idx, (int32_t)rt->slot, MS_DROP_ESP_MALFORMED, k - p);
		rte_pktmbuf_free_bulk(&mb[p], k - p);
	}
	/*
	 * lib/ipsec (no ESN) wrote SPI | seq | 0 as the AAD. RFC 4106 with ESN
	 * wants SPI | seq high | seq low: the number just checked, so the ICV
	 * authenticates exactly what the window will record.
	 */
	for (uint16_t i = 0; i < p; i++) {
		uint8_t *aad = cop[i]->sym->aead.aad.data;
		uint64_t sqn = ms_meta(mb[i])->sqn;
		rte_be32_t hi = rte_cpu_to_be_32((uint32_t)(sqn >> 32));
		rte_be32_t lo = rte_cpu_to_be_32((uint32_t)sqn);

		memcpy(aad + 4, &hi, 4);
		memcpy(aad + 8, &lo, 4);
	}
	return p;
}

static bool
peer_ok(const struct ms_sa_rt *rt, const struct outer_info *oi)
{
	return ms_ip_eq(&oi->src, &rt->peer) && ms_ip_eq(&oi->dst, &rt->local) &&
		oi->sport == rt->sport && oi->dport == rt->dport;
}

void
ms_inbound_burst(struct ms_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	const struct ms_tables *t = ms_sadb_tables(&w->dp->sadb);
	union rte_ipsec_sad_key keys[MS_BURST_MAX];
	const union rte_ipsec_sad_key *kp[MS_BURST_MAX];
	struct outer_info oi[MS_BURST_MAX];
	struct rte_mbuf *esp[MS_BURST_MAX];
	struct ms_sa_rt *ert[MS_BURST_MAX];
	void *sa[MS_BURST_MAX];
	rte_be16_t udp_port = t->path.udp_port;
	uint16_t ne = 0, no = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t spi;

		switch (parse_outer(w, udp_port, pkts[i], &oi[ne], &spi)) {
		case O_ESP:
			memset(&keys[ne], 0, sizeof(keys[ne]));
			keys[ne].v4.spi = spi;
			kp[ne] = &keys[ne];
			esp[ne++] = pkts[i];
			break;
		case O_PLAIN:
			plaintext(w, t, pkts[i]);
			break;
		case O_CONSUMED:
			break;
		}
	}
	if (ne == 0)
		return;
	rte_ipsec_sad_lookup(t->sad, kp, sa, ne);
	for (uint16_t i = 0; i < ne; i++) {
		struct ms_sa_rt *rt = sa[i];

		if (rt == NULL) {
			ms_drop(w, esp[i], -1, MS_DROP_UNKNOWN_SPI);
			continue;
		}
		if (!peer_ok(rt, &oi[i])) {
			ms_drop(w, esp[i], (int32_t)rt->slot, MS_DROP_PEER_MISMATCH);
			continue;
		}
		esp[no] = esp[i];
		ert[no++] = rt;
	}
	ms_crypto_submit(w, esp, ert, no, ms_in_prepare);
}
