/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcore: the crypto device round trip. Before it, crypto ops for a
 * classified burst and one enqueue (ms_crypto_submit); after it, dequeue,
 * lib/ipsec's process step per SA with every failure counted under its
 * reason, then sealed packets out of the outer port and opened packets,
 * once checked against their SA's selectors, out of the inner port
 * (ms_crypto_drain).
 */
#include <netinet/in.h>

#include <rte_cryptodev.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ms_tx.h"
#include "ms_path.h"
#include "ms_replay.h"

/*
 * Ops back to the pool. lib/ipsec wrote salt || IV || counter into each
 * one's IV area: the salt is key material, and a free op must not keep it
 * (one 16-byte store per op, in a line the device just handed back).
 */
static inline void
ops_put(struct ms_worker *w, struct rte_crypto_op **cop, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		memset(rte_crypto_op_ctod_offset(cop[i], uint8_t *, MS_IV_OFFSET), 0, 16);
	rte_mempool_put_bulk(w->dp->cop_pool, (void **)cop, n);
}

void
ms_crypto_enqueue(struct ms_worker *w, struct rte_crypto_op **cop, uint16_t n)
{
	uint16_t enq;

	if (n == 0)
		return;
	enq = rte_cryptodev_enqueue_burst(w->dp->cdev_id, (uint16_t)w->idx, cop, n);
	w->inflight += enq;
	for (uint16_t i = enq; i < n; i++) {
		struct rte_mbuf *m = cop[i]->sym->m_src;

		ms_drop(w, m, ms_meta(m)->sa_slot, MS_DROP_CRYPTO_ENQUEUE);
	}
	if (enq < n)
		ops_put(w, &cop[enq], n - enq);
}

void
ms_crypto_submit(struct ms_worker *w, struct rte_mbuf **mb, struct ms_sa_rt **rt, uint16_t n,
		 ms_prepare_fn prepare)
{
	struct rte_crypto_op *cop[MS_BURST_MAX];
	uint16_t i = 0, nop = 0;

	if (n == 0)
		return;
	if (unlikely(rte_crypto_op_bulk_alloc(w->dp->cop_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC,
					      cop, n) == 0)) {
		for (uint16_t j = 0; j < n; j++)
			ms_drop(w, mb[j], (int32_t)rt[j]->slot, MS_DROP_NO_MBUF);
		return;
	}
	while (i < n) {		/* one prepare call per run of packets of one SA */
		uint16_t j = i + 1;

		while (j < n && rt[j] == rt[i])
			j++;
		nop += prepare(w, rt[i], &mb[i], j - i, &cop[nop]);
		i = j;
	}
	if (nop < n)
		ops_put(w, &cop[nop], n - nop);
	ms_crypto_enqueue(w, cop, nop);
}

/* Why did lib/ipsec refuse this inbound packet after decryption? */
static enum ms_drop
in_failure(struct rte_mbuf *m)
{
	if (m->ol_flags & RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED)
		return MS_DROP_ICV_FAIL;
	return MS_DROP_BAD_TRAILER;	/* padding or next header; it has no window */
}

/*
 * Record authenticated inbound packets in the SA's window, in arrival
 * order, with the 64-bit number their ICV covered: a duplicate within the
 * burst, or a packet that a newer one earlier in the burst pushed out of
 * the window, is dropped here. Returns how many remain (at the front).
 */
static uint16_t
in_window(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb, uint16_t k)
{
	uint16_t good = 0;

	for (uint16_t i = 0; i < k; i++)
		if (ms_replay_pass(w, mb[i], (int32_t)rt->slot,
				   ms_replay_update(rt->replay, ms_meta(mb[i])->sqn, rt->replay_win)))
			mb[good++] = mb[i];
	return good;
}

uint16_t
ms_sa_process(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb, uint16_t n)
{
	uint16_t k = rte_ipsec_pkt_process(&rt->ss, mb, n);

	if (rt->dir == MS_DIR_IN) {
		for (uint16_t i = k; i < n; i++)
			ms_drop(w, mb[i], (int32_t)rt->slot, in_failure(mb[i]));
		return in_window(w, rt, mb, k);
	}
	for (uint16_t i = k; i < n; i++)
		ms_drop(w, mb[i], (int32_t)rt->slot, MS_DROP_CRYPTO_FAILED);
	return k;
}

/* ck: the SA's choice at install (enum ms_outer_ck), the same for its every packet. */
static void
outer_checksum(struct rte_mbuf *m, uint8_t ck)
{
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, RTE_ETHER_HDR_LEN);
	struct rte_ipv6_hdr *ip6;
	struct rte_udp_hdr *udp;

	if (ck == MS_CK_IP4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;

		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		return;
	}
	/* IPv6 forbids a zero UDP checksum (RFC 8200): compute or offload. */
	ip6 = (struct rte_ipv6_hdr *)l3;
	udp = (struct rte_udp_hdr *)(ip6 + 1);
	udp->dgram_cksum = 0;
	if (ck == MS_CK_UDP6_OFFLOAD) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(*ip6);
		m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
	} else {
		udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip6, udp);
	}
}

static void
finish_out(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb, uint16_t n)
{
	struct ms_sa_stats *ss = ms_sa_stats(&w->dp->stats, w->idx, rt->slot);
	struct ms_lcore_stats *ls = &w->dp->stats.lc[w->idx];
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];

		m->ol_flags &= ~(RTE_MBUF_F_RX_SEC_OFFLOAD | RTE_MBUF_F_RX_SEC_OFFLOAD_FAILED);
		bytes += ms_meta(m)->inner_len;
		outer_checksum(m, rt->outer_ck);
		ms_send_l2(w, m, MS_PORT_OUTER, rt->nh, &rt->nh->ip, (int32_t)rt->slot);
	}
	ms_ctr_add(&ss->pkts, n);
	ms_ctr_add(&ss->bytes, bytes);
	ms_ctr_add(&ls->sealed_pkts, n);
	ms_ctr_add(&ls->sealed_bytes, bytes);
}

/* An opened packet must be well formed and inside one of its SA's selectors. */
static bool
inner_ok(const struct ms_sa_rt *rt, struct rte_mbuf *m, struct ms_ip *dst, enum ms_drop *why)
{
	struct ms_key k;
	uint32_t iplen;
	const uint8_t *l3 = rte_pktmbuf_mtod(m, const uint8_t *);

	if (ms_key_extract(l3, m->pkt_len, &k) < 0 || k.af != rt->inner_af) {
		*why = MS_DROP_DECAP_MALFORMED;
		return false;
	}
	iplen = k.af == MS_AF_INET ? ((uint32_t)l3[2] << 8 | l3[3])
				   : 40 + ((uint32_t)l3[4] << 8 | l3[5]);
	if (iplen != m->pkt_len) {
		*why = MS_DROP_DECAP_MALFORMED;
		return false;
	}
	for (unsigned int s = 0; s < rt->nb_sel; s++) {
		if (!ms_sel_match(&rt->sel[s], &k))
			continue;
		ms_key_dst(&k, dst);
		return true;
	}
	*why = MS_DROP_SELECTOR_MISMATCH;
	return false;
}

static void
finish_in(struct ms_worker *w, const struct ms_hop *hop, struct ms_sa_rt *rt,
	  struct rte_mbuf **mb, uint16_t n)
{
	struct ms_sa_stats *ss = ms_sa_stats(&w->dp->stats, w->idx, rt->slot);
	struct ms_lcore_stats *ls = &w->dp->stats.lc[w->idx];
	uint64_t bytes = 0, pkts = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = mb[i];
		enum ms_drop why;
		struct ms_ip dst;

		if (!inner_ok(rt, m, &dst, &why)) {
			ms_drop(w, m, (int32_t)rt->slot, why);
			continue;
		}
		pkts++;
		bytes += m->pkt_len;
		ms_deliver_inner(w, hop, m, &dst, (int32_t)rt->slot);
	}
	ms_ctr_add(&ss->pkts, pkts);
	ms_ctr_add(&ss->bytes, bytes);
	ms_ctr_add(&ls->opened_pkts, pkts);
	ms_ctr_add(&ls->opened_bytes, bytes);
}

unsigned int
ms_crypto_drain(struct ms_worker *w)
{
	struct rte_crypto_op *cop[MS_BURST_MAX];
	struct rte_ipsec_group grp[MS_BURST_MAX];
	struct rte_mbuf *mb[MS_BURST_MAX];
	const struct ms_hop *inner;
	uint16_t n, ng, grouped = 0;

	n = rte_cryptodev_dequeue_burst(w->dp->cdev_id, (uint16_t)w->idx, cop, w->dp->burst);
	if (n == 0)
		return 0;
	inner = &ms_sadb_tables(&w->dp->sadb)->path.hop[MS_PORT_INNER];
	/* more than in flight: ops a failed device returned after the write-off */
	w->inflight -= RTE_MIN((uint32_t)n, w->inflight);
	ng = rte_ipsec_pkt_crypto_group((const struct rte_crypto_op **)cop, mb, grp, n);
	ops_put(w, cop, n);
	for (uint16_t g = 0; g < ng; g++) {
		struct ms_sa_rt *rt = container_of(grp[g].id.ptr, struct ms_sa_rt, ss);
		uint16_t cnt = (uint16_t)grp[g].cnt, k;

		grouped += cnt;
		k = ms_sa_process(w, rt, grp[g].m, cnt);
		if (rt->dir == MS_DIR_OUT)
			finish_out(w, rt, grp[g].m, k);
		else
			finish_in(w, inner, rt, grp[g].m, k);
	}
	for (uint16_t i = grouped; i < n; i++)	/* ops that lost their session */
		ms_drop(w, mb[i], -1, MS_DROP_CRYPTO_FAILED);
	return n;
}
