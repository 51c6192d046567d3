/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_TX_H
#define MS_TX_H

/*
 * Fast-path plumbing shared by the inbound and outbound paths: TX batching
 * and next hops (ms_tx.c), counted drops, hand-off to the control thread
 * (ms_punt.c). Worker context only (except ms_nexthop). Next hops come from
 * the snapshot's struct ms_hop, never from the parsed configuration.
 */
#include <string.h>

#include <rte_ethdev.h>

#include "ms_dp.h"

void ms_tx_flush(struct ms_worker *w, enum ms_port_idx p);

static inline void
ms_tx(struct ms_worker *w, enum ms_port_idx p, struct rte_mbuf *m)
{
	struct ms_txq *q = &w->tx[p];

	if (unlikely(q->n == MS_TXQ_MAX))
		ms_tx_flush(w, p);
	q->m[q->n++] = m;
}

static inline void
ms_drop(struct ms_worker *w, struct rte_mbuf *m, int32_t slot, enum ms_drop r)
{
	ms_count_drop(&w->dp->stats, w->idx, slot, r, 1);
	rte_pktmbuf_free(m);
}

/* The destination address of a classification key. */
static inline void
ms_key_dst(const struct ms_key *k, struct ms_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = k->af;
	if (k->af == MS_AF_INET)
		ip->v4 = k->v4.dst;
	else
		memcpy(ip->v6, k->v6.dst, 16);
}

/* A replay window's verdict: true to keep m, else m is dropped under its reason. */
static inline bool
ms_replay_pass(struct ms_worker *w, struct rte_mbuf *m, int32_t slot, enum ms_replay_verdict v)
{
	if (likely(v == MS_REPLAY_OK))
		return true;
	ms_drop(w, m, slot, v == MS_REPLAY_DUP ? MS_DROP_REPLAY : MS_DROP_OUTSIDE_WINDOW);
	return false;
}

/* Hand a packet to the control thread (ARP, ND, ICMP errors, unresolved next hop). */
void ms_to_slow(struct ms_worker *w, struct rte_mbuf *m, enum ms_slow_kind kind,
		enum ms_port_idx port, int32_t slot);

/*
 * Control thread (or another RCU reader): the next hop towards dst on a
 * port, from the published snapshot. Workers use ms_hop_next() on the
 * snapshot they loaded for the burst.
 */
bool ms_nexthop(const struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *dst,
		struct ms_ip *nh);

/*
 * m starts with an Ethernet header: set its addresses for next hop nh on port
 * p and queue it, or hold it for the control thread while nh is resolved.
 */
void ms_send_l2(struct ms_worker *w, struct rte_mbuf *m, enum ms_port_idx p,
		const struct ms_neigh_entry *nh, const struct ms_ip *nh_ip, int32_t slot);

/*
 * m starts at an IP header addressed to dst: deliver it on the inner port,
 * whose next-hop inputs are hop (from the burst's snapshot).
 */
void ms_deliver_inner(struct ms_worker *w, const struct ms_hop *hop, struct rte_mbuf *m,
		      const struct ms_ip *dst, int32_t slot);

#endif
