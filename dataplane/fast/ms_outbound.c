/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Outbound path: frames from the inner port (the local hypervisor host).
 * Classify each IP packet against the outbound selectors, seal the matches
 * through their SA, apply the default policy to the rest.
 */
#include <netinet/in.h>

#include <rte_cryptodev.h>
#include <rte_ip.h>

#include "ms_tx.h"
#include "ms_path.h"

enum verdict { V_IP, V_CONSUMED };

static bool
dst_is_local_scope(const struct ms_key *k)
{
	if (k->af == MS_AF_INET) {
		uint8_t b0 = ((const uint8_t *)&k->v4.dst)[0];
		uint8_t b1 = ((const uint8_t *)&k->v4.dst)[1];

		return (b0 & 0xf0) == 0xe0 || k->v4.dst == UINT32_MAX || (b0 == 169 && b1 == 254);
	}
	return k->v6.dst[0] == 0xff || (k->v6.dst[0] == 0xfe && (k->v6.dst[1] & 0xc0) == 0x80);
}

/* Addressed to the appliance's own address on the inner port (h)? */
static bool
dst_is_self(const struct ms_hop *h, const struct ms_key *k)
{
	if (k->af == MS_AF_INET)
		return h->own4.ip.af == MS_AF_INET && k->v4.dst == h->own4.ip.v4;
	return h->own6.ip.af == MS_AF_INET6 && memcmp(k->v6.dst, h->own6.ip.v6, 16) == 0;
}

static bool
is_nd(const struct rte_mbuf *m, const struct ms_key *k, int l4off)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, RTE_ETHER_HDR_LEN);
	uint8_t type;

	if (k->af != MS_AF_INET6 || k->v6.proto != IPPROTO_ICMPV6 ||
	    (uint32_t)l4off + 1 > m->pkt_len - RTE_ETHER_HDR_LEN)
		return false;
	type = l3[l4off];
	return type >= 133 && type <= 137;
}

/*
 * Parse an inner frame. V_IP: a forwardable IP packet, trimmed to its IP
 * length, key filled, *l4off set. Otherwise the frame was consumed.
 */
static enum verdict
parse_inner(struct ms_worker *w, const struct ms_path_rt *pr, struct rte_mbuf *m,
	    struct ms_key *k, int *l4off)
{
	const struct rte_ether_hdr *eth;
	uint32_t l3len, iplen;
	const uint8_t *l3;
	uint16_t type;

	if (unlikely(!rte_pktmbuf_is_contiguous(m) || m->pkt_len < RTE_ETHER_HDR_LEN + 20)) {
		if (m->pkt_len >= sizeof(struct rte_ether_hdr) + 28 &&
		    rte_pktmbuf_is_contiguous(m) &&
		    rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type ==
		    rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
			goto arp;
		ms_drop(w, m, -1, MS_DROP_INNER_MALFORMED);
		return V_CONSUMED;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	type = rte_be_to_cpu_16(eth->ether_type);
	if (type == RTE_ETHER_TYPE_ARP)
		goto arp;
	if (type != RTE_ETHER_TYPE_IPV4 && type != RTE_ETHER_TYPE_IPV6) {
		ms_drop(w, m, -1, MS_DROP_L2_UNSUPPORTED);
		return V_CONSUMED;
	}
	l3 = (const uint8_t *)(eth + 1);
	l3len = m->pkt_len - RTE_ETHER_HDR_LEN;
	*l4off = ms_key_extract(l3, l3len, k);
	if (*l4off < 0 || (k->af == MS_AF_INET) != (type == RTE_ETHER_TYPE_IPV4)) {
		ms_drop(w, m, -1, MS_DROP_INNER_MALFORMED);
		return V_CONSUMED;
	}
	iplen = k->af == MS_AF_INET ? ((uint32_t)l3[2] << 8 | l3[3])
				    : 40 + ((uint32_t)l3[4] << 8 | l3[5]);
	if (iplen < l3len)	/* Ethernet padding must not be sealed */
		rte_pktmbuf_trim(m, (uint16_t)(l3len - iplen));
	if (is_nd(m, k, *l4off)) {
		ms_to_slow(w, m, MS_SLOW_ND, MS_PORT_INNER, -1);
		return V_CONSUMED;
	}
	if (dst_is_local_scope(k)) {
		ms_drop(w, m, -1, MS_DROP_LINK_LOCAL);
		return V_CONSUMED;
	}
	if (dst_is_self(&pr->hop[MS_PORT_INNER], k)) {
		ms_drop(w, m, -1, MS_DROP_TO_SELF);
		return V_CONSUMED;
	}
	return V_IP;
arp:
	ms_to_slow(w, m, MS_SLOW_ARP, MS_PORT_INNER, -1);
	return V_CONSUMED;
}

/*
 * Default policy "bypass": plaintext to the peer appliance that fronts dst
 * (the first remote prefix holding it, as configured), if it has a next hop.
 */
static void
bypass(struct ms_worker *w, const struct ms_path_rt *pr, struct rte_mbuf *m,
       const struct ms_key *k)
{
	const struct ms_ip *nh;
	struct ms_ip dst;

	ms_key_dst(k, &dst);
	nh = ms_remotes_find(&pr->remotes, &dst);
	if (nh == NULL) {
		ms_drop(w, m, -1, MS_DROP_NO_ROUTE);
		return;
	}
	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_pkts, 1);
	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_bytes, m->pkt_len - RTE_ETHER_HDR_LEN);
	ms_send_l2(w, m, MS_PORT_OUTER, ms_neigh_lookup(&w->dp->neigh, MS_PORT_OUTER, nh), nh, -1);
}

/* A bypass rule's traffic: plaintext to the rule's peer appliance. */
static void
bypass_rule(struct ms_worker *w, struct rte_mbuf *m, const struct ms_sa_rt *rt)
{
	struct ms_sa_stats *ss = ms_sa_stats(&w->dp->stats, w->idx, rt->slot);
	uint32_t len = m->pkt_len - RTE_ETHER_HDR_LEN;

	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_pkts, 1);
	ms_ctr_add(&w->dp->stats.lc[w->idx].bypass_bytes, len);
	ms_ctr_add(&ss->pkts, 1);
	ms_ctr_add(&ss->bytes, len);
	ms_send_l2(w, m, MS_PORT_OUTER, rt->nh, &rt->nh->ip, (int32_t)rt->slot);
}

/* Packets that do not fit the outer MTU once sealed. */
static void
too_big(struct ms_worker *w, struct rte_mbuf *m, const struct ms_sa_rt *rt)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, RTE_ETHER_HDR_LEN);

	if (rt->inner_af == MS_AF_INET && !(l3[6] & 0x40)) {
		ms_drop(w, m, (int32_t)rt->slot, MS_DROP_TOO_BIG_NODF);
		return;
	}
	ms_count_drop(&w->dp->stats, w->idx, (int32_t)rt->slot, MS_DROP_TOO_BIG, 1);
	ms_meta(m)->mtu = rt->max_inner;
	ms_to_slow(w, m, MS_SLOW_TOO_BIG, MS_PORT_INNER, (int32_t)rt->slot);
}

/* The sequence number lib/ipsec gave op: its GCM nonce is salt | IV, IV = the number. */
static inline uint64_t
op_seq(const struct rte_crypto_op *op)
{
	uint64_t iv;

	memcpy(&iv, rte_crypto_op_ctod_offset(op, const uint8_t *, MS_IV_OFFSET + 4), 8);
	return rte_be_to_cpu_64(iv);
}

/*
 * Past MS_SEQ_LAST: lib/ipsec's 64-bit counter would wrap (it checks only a
 * 32-bit space), so these packets are refused here instead, before the
 * device sees them. One prepare call numbers its packets consecutively, so
 * the refused ones are a tail; their ops stay in cop for the caller to return.
 */
static uint16_t
seq_limit(struct ms_worker *w, const struct ms_sa_rt *rt, struct rte_mbuf **mb,
	  struct rte_crypto_op **cop, uint16_t k)
{
	uint16_t good = 0;

	while (good < k && op_seq(cop[good]) <= MS_SEQ_LAST && op_seq(cop[good]) != 0)
		good++;
	ms_count_drop(&w->dp->stats, w->idx, (int32_t)rt->slot, MS_DROP_SEQ_EXHAUSTED, k - good);
	rte_pktmbuf_free_bulk(&mb[good], k - good);
	return good;
}

uint16_t
ms_out_prepare(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb, uint16_t n,
	       struct rte_crypto_op **cop)
{
	uint16_t k;

	for (uint16_t i = 0; i < n; i++) {
		mb[i]->tx_offload = 0;
		mb[i]->l2_len = RTE_ETHER_HDR_LEN;	/* replaced by the outer header */
		ms_meta(mb[i])->sa_slot = (int32_t)rt->slot;
		ms_meta(mb[i])->inner_len = mb[i]->pkt_len - RTE_ETHER_HDR_LEN;
	}
	k = rte_ipsec_pkt_crypto_prepare(&rt->ss, mb, cop, n);
	if (unlikely(k < n)) {
		enum ms_drop r = rte_errno == EOVERFLOW ? MS_DROP_SEQ_EXHAUSTED
							: MS_DROP_SEAL_PREPARE;

		ms_count_drop(&w->dp->stats, w->idx, (int32_t)rt->slot, r, n - k);
		rte_pktmbuf_free_bulk(&mb[k], n - k);
	}
	if (unlikely(k > 0 && op_seq(cop[k - 1]) > MS_SEQ_LAST))
		k = seq_limit(w, rt, mb, cop, k);
	return k;
}

/*
 * Parse a burst and classify it against the outbound selectors: match[i] is
 * the target of pkts[i] (index + 1 into t->tg, 0: none), or pkts[i] is NULL
 * when parse_inner() consumed it.
 */
static void
classify(struct ms_worker *w, const struct ms_tables *t, struct rte_mbuf **pkts, uint16_t n,
	 struct ms_key *keys, int *l4, uint32_t *match)
{
	const uint8_t *kp[2][MS_BURST_MAX];
	uint16_t idx[2][MS_BURST_MAX], nk[2] = { 0, 0 };
	uint32_t res[2][MS_BURST_MAX];

	for (uint16_t i = 0; i < n; i++) {
		int f;

		if (parse_inner(w, &t->path, pkts[i], &keys[i], &l4[i]) != V_IP) {
			pkts[i] = NULL;
			continue;
		}
		f = keys[i].af == MS_AF_INET6;
		kp[f][nk[f]] = (const uint8_t *)&keys[i];
		idx[f][nk[f]++] = i;
	}
	ms_spd_classify(&t->spd, MS_SPD_OUT4, kp[0], res[0], nk[0]);
	ms_spd_classify(&t->spd, MS_SPD_OUT6, kp[1], res[1], nk[1]);
	/* Back in arrival order, so that one SA's packets stay in sequence. */
	for (int f = 0; f < 2; f++)
		for (uint16_t j = 0; j < nk[f]; j++)
			match[idx[f][j]] = res[f][j];
}

/*
 * No ports to match: a non-first fragment (ms_key_extract gives it ports
 * 0), or a first one too short to hold them. No real TCP, UDP or SCTP
 * packet has port 0 at both ends. The protocol byte leads both layouts.
 */
static inline bool
ports_unknown(const struct ms_key *k)
{
	uint8_t proto = k->v4.proto;
	uint32_t ports = k->af == MS_AF_INET ? (uint32_t)k->v4.sport | k->v4.dport
					     : (uint32_t)k->v6.sport | k->v6.dport;

	return ports == 0 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP);
}

/*
 * Could an outbound SA whose selector limits ports own this packet, had it
 * ports? Then it must not go out in plaintext (rare: fragments only).
 */
static bool
frag_protected(const struct ms_tables *t, const struct ms_key *k)
{
	const uint8_t *kp = (const uint8_t *)k;
	uint32_t res;

	ms_spd_classify(&t->spd, k->af == MS_AF_INET ? MS_SPD_FRAG4 : MS_SPD_FRAG6, &kp, &res, 1);
	return res != 0;
}

/*
 * One classified packet (target r): the SA to seal it with, or NULL when it
 * was sent in the clear, handed to the slow path or dropped here.
 */
static struct ms_sa_rt *
dispatch(struct ms_worker *w, const struct ms_tables *t, struct rte_mbuf *m,
	 const struct ms_key *k, int l4, uint32_t r)
{
	const struct ms_target *tg = r == 0 || r > t->nb_tg ? NULL : &t->tg[r - 1];
	/* Worker w seals with lane w of a group: no sequence counter is shared. */
	struct ms_sa_rt *rt = tg == NULL ? NULL : tg->rt[tg->nb == 1 ? 0 : w->idx % tg->nb];

	if ((rt == NULL || rt->dir == MS_DIR_BYPASS) && unlikely(ports_unknown(k)) &&
	    frag_protected(t, k)) {
		ms_drop(w, m, -1, MS_DROP_FRAGMENT_UNCOVERED);
		return NULL;
	}
	if (rt == NULL) {
		if (t->path.bypass)
			bypass(w, &t->path, m, k);
		else
			ms_drop(w, m, -1, MS_DROP_NO_POLICY);
		return NULL;
	}
	if (rt->dir == MS_DIR_BYPASS) {
		bypass_rule(w, m, rt);
		return NULL;
	}
	if (unlikely(m->pkt_len - RTE_ETHER_HDR_LEN > rt->max_inner)) {
		too_big(w, m, rt);
		return NULL;
	}
	if (t->path.mss_clamp &&
	    ms_mss_clamp(rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN),
			 m->pkt_len - RTE_ETHER_HDR_LEN, (uint32_t)l4, rt->mss_max))
		ms_ctr_add(&w->dp->stats.lc[w->idx].mss_clamped, 1);
	return rt;
}

/* The snapshot is loaded once: every packet of the burst sees the same one. */
void
ms_outbound_burst(struct ms_worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	const struct ms_tables *t = ms_sadb_tables(&w->dp->sadb);
	struct ms_key keys[MS_BURST_MAX];
	struct rte_mbuf *sm[MS_BURST_MAX];
	struct ms_sa_rt *srt[MS_BURST_MAX];
	uint32_t match[MS_BURST_MAX];
	int l4[MS_BURST_MAX];
	uint16_t ns = 0;

	classify(w, t, pkts, n, keys, l4, match);
	for (uint16_t i = 0; i < n; i++) {
		struct ms_sa_rt *rt;

		if (pkts[i] == NULL)
			continue;
		rt = dispatch(w, t, pkts[i], &keys[i], l4[i], match[i]);
		if (rt == NULL)
			continue;
		sm[ns] = pkts[i];
		srt[ns++] = rt;
	}
	ms_crypto_submit(w, sm, srt, ns, ms_out_prepare);
}
