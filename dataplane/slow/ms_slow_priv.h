/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SLOW_PRIV_H
#define MS_SLOW_PRIV_H

/*
 * Between the slow path's own files: the loop (ms_slow.c), ARP/ND
 * (ms_arp_nd.c) and ICMP errors (ms_icmp.c). Control thread only, like all
 * of the slow path; nothing here is for the workers.
 */
#include "ms_slow.h"

/* ms_slow.c: count the drop of m (against SA slot, or -1) and free it. */
void ms_slow_drop(struct ms_dp *dp, struct rte_mbuf *m, int32_t slot, enum ms_drop r);
/* Send m out of port p through worker 0 (ring slow_tx): ports need no extra queue. */
void ms_slow_tx(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p);
/* A zeroed frame of len bytes, or NULL (counted as no_mbuf). */
struct rte_mbuf *ms_slow_alloc(struct ms_dp *dp, uint16_t len);
/* Our own address of family af on port p, with its prefix (ip.af 0: none). */
const struct ms_prefix *ms_slow_own(const struct ms_dp *dp, enum ms_port_idx p, uint8_t af);
/* e resolved: send the packets held for it. */
void ms_slow_release(struct ms_dp *dp, struct ms_neigh_entry *e);

/* A neighbour's answer is taken within this long of our request; we ask again after it. */
#define MS_RESOLVE_RETRY_MS 1000
/*
 * A resolved neighbour is asked again this long after its last answer (a
 * MAC that changed is learned then), or MS_RECHECK_MS after something
 * claimed another MAC for it: soon, but not while the claimant's own
 * follow-up "answer" could still be in flight, and at most that often.
 */
#define MS_REACHABLE_MS 300000
#define MS_RECHECK_MS 5000

/* ms_slow.c: add n to the control thread's counter c (a field of struct ms_lcore_stats). */
#define MS_SLOW_COUNT(dp, c, n) ms_ctr_add(&(dp)->stats.lc[ms_ctl_block(dp)].c, (n))
/*
 * May a request from ip on port p be answered now? Always for a host we
 * know (an entry, the port's gateway, a remote's appliance); others share
 * a token bucket per port (arp_nd_limited).
 */
bool ms_slow_req_allowed(struct ms_slow *s, enum ms_port_idx p, const struct ms_ip *ip);

/* ms_arp_nd.c: answer, learn from, and consume an ARP or ND packet. */
void ms_slow_arp(struct ms_slow *s, struct rte_mbuf *m, enum ms_port_idx p);
void ms_slow_nd(struct ms_slow *s, struct rte_mbuf *m, enum ms_port_idx p);
/* Ask for e's MAC (ARP request or neighbour solicitation); an answer is then taken. */
void ms_slow_solicit(struct ms_dp *dp, struct ms_neigh_entry *e);

/* ms_icmp.c: a full bucket of ICMP tokens. */
void ms_slow_icmp_init(struct ms_slow *s);
/* Send the ICMP error about m, a packet too big for the tunnel, or free it. */
void ms_slow_too_big(struct ms_slow *s, struct rte_mbuf *m);

#endif
