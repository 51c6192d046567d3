/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker lcore: hand a packet to the control thread's slow path (ARP, ND,
 * ICMP errors, unresolved next hop) through the multi-producer ring that
 * slow/ms_slow.c drains.
 */
#include <rte_ring.h>

#include "ms_tx.h"

void
ms_to_slow(struct ms_worker *w, struct rte_mbuf *m, enum ms_slow_kind kind,
	   enum ms_port_idx port, int32_t slot)
{
	struct ms_mbuf_meta *meta = ms_meta(m);

	meta->slow_kind = (uint8_t)kind;
	meta->port = (uint8_t)port;
	meta->sa_slot = slot;
	if (unlikely(rte_ring_mp_enqueue(w->dp->slow_rx, m) != 0)) {
		ms_drop(w, m, slot, MS_DROP_SLOWPATH_FULL);
		return;
	}
	ms_ctr_add(&w->dp->stats.lc[w->idx].slowpath_pkts, 1);
}
