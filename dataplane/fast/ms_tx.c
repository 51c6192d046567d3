/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcore: leaving the appliance. TX batching per port, the next hop
 * and its Ethernet addresses, delivery of opened packets to the inner port.
 */
#include <rte_ethdev.h>

#include <rte_cycles.h>

#include "ms_tx.h"

void
ms_tx_flush(struct ms_worker *w, enum ms_port_idx p)
{
	struct ms_txq *q = &w->tx[p];
	struct ms_lcore_stats *st = &w->dp->stats.lc[w->idx];
	uint64_t bytes = 0, t0;
	uint16_t sent;

	if (q->n == 0)
		return;
	for (uint16_t i = 0; i < q->n; i++)
		bytes += q->m[i]->pkt_len;
	t0 = rte_rdtsc();
	sent = rte_eth_tx_burst(w->dp->port[p].port_id, (uint16_t)w->idx, q->m, q->n);
	w->io_tsc += rte_rdtsc() - t0;
	if (unlikely(sent < q->n)) {
		for (uint16_t i = sent; i < q->n; i++)
			bytes -= q->m[i]->pkt_len;
		ms_count_drop(&w->dp->stats, w->idx, -1, MS_DROP_TX_FULL, q->n - sent);
		rte_pktmbuf_free_bulk(&q->m[sent], q->n - sent);
	}
	ms_ctr_add(&st->port[p].tx_pkts, sent);
	ms_ctr_add(&st->port[p].tx_bytes, bytes);
	q->n = 0;
}

bool
ms_nexthop(const struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *dst,
	   struct ms_ip *nh)
{
	const struct ms_tables *t = ms_sadb_tables(&dp->sadb);

	return t != NULL && ms_hop_next(&t->path.hop[p], dst, nh);
}

void
ms_send_l2(struct ms_worker *w, struct rte_mbuf *m, enum ms_port_idx p,
	   const struct ms_neigh_entry *nh, const struct ms_ip *nh_ip, int32_t slot)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (unlikely(!ms_neigh_mac(nh, &eth->dst_addr))) {
		ms_meta(m)->nh = *nh_ip;
		ms_to_slow(w, m, MS_SLOW_HOLD, p, slot);
		return;
	}
	rte_ether_addr_copy(&w->dp->port[p].mac, &eth->src_addr);
	ms_tx(w, p, m);
}

void
ms_deliver_inner(struct ms_worker *w, const struct ms_hop *hop, struct rte_mbuf *m,
		 const struct ms_ip *dst, int32_t slot)
{
	struct ms_dp *dp = w->dp;
	struct rte_ether_hdr *eth;
	struct ms_ip nh;

	if (unlikely(!ms_hop_next(hop, dst, &nh))) {
		ms_drop(w, m, slot, MS_DROP_NO_ROUTE);
		return;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
	if (unlikely(eth == NULL)) {
		ms_drop(w, m, slot, MS_DROP_NO_MBUF);
		return;
	}
	eth->ether_type = rte_cpu_to_be_16(dst->af == MS_AF_INET ? RTE_ETHER_TYPE_IPV4
								: RTE_ETHER_TYPE_IPV6);
	ms_send_l2(w, m, MS_PORT_INNER, ms_neigh_lookup(&dp->neigh, MS_PORT_INNER, &nh), &nh, slot);
}
