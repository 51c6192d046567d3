/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow-path loop, run by the control thread: drain what the workers
 * handed off (ring slow_rx) to ARP/ND (ms_arp_nd.c), ICMP errors (ms_icmp.c)
 * or the packets held until their next hop resolves, which this file keeps,
 * re-sends and gives up on. Replies leave through worker 0 (ring slow_tx),
 * so ports need no extra queue.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "ms_tx.h"
#include "ms_log.h"
#include "ms_slow_priv.h"

#define HOLD_TRIES 3
#define PROBES 3		/* unanswered refreshes before an entry nobody needs goes */
#define REQ_PER_SEC 100		/* requests from unknown hosts answered, per port */

void
ms_slow_drop(struct ms_dp *dp, struct rte_mbuf *m, int32_t slot, enum ms_drop r)
{
	ms_count_drop(&dp->stats, ms_ctl_block(dp), slot, r, 1);
	rte_pktmbuf_free(m);
}

void
ms_slow_tx(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
{
	static const uint64_t one = 1;

	ms_meta(m)->port = (uint8_t)p;
	if (rte_ring_sp_enqueue(dp->slow_tx, m) != 0) {
		ms_slow_drop(dp, m, -1, MS_DROP_SLOWPATH_FULL);
		return;
	}
	/* EAGAIN: the counter is full, so worker 0 has been woken already. */
	if (dp->slow_tx_wake >= 0 && write(dp->slow_tx_wake, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		MS_LOG(WARNING, "slow path: cannot wake worker 0: %s", strerror(errno));
}

const struct ms_prefix *
ms_slow_own(const struct ms_dp *dp, enum ms_port_idx p, uint8_t af)
{
	const struct ms_port_conf *pc = dp->port[p].conf;

	return af == MS_AF_INET ? &pc->addr4 : &pc->addr6;
}

struct rte_mbuf *
ms_slow_alloc(struct ms_dp *dp, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp->mbuf_pool);

	if (m == NULL) {
		ms_count_drop(&dp->stats, ms_ctl_block(dp), -1, MS_DROP_NO_MBUF, 1);
		return NULL;
	}
	if (rte_pktmbuf_append(m, len) == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	memset(rte_pktmbuf_mtod(m, void *), 0, len);
	return m;
}

/* Address m to e's MAC from our own and send it. */
static void
send_resolved(struct ms_dp *dp, struct ms_neigh_entry *e, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	ms_neigh_mac(e, &eth->dst_addr);
	rte_ether_addr_copy(&dp->port[e->port].mac, &eth->src_addr);
	ms_slow_tx(dp, m, e->port);
}

void
ms_slow_release(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	for (uint8_t i = 0; i < e->nb_held; i++)
		send_resolved(dp, e, e->held[i]);
	e->nb_held = 0;
	e->tries = 0;
}

/* A worker had no MAC for m's next hop: hold m and ask, or send it if answered meanwhile. */
static void
handle_hold(struct ms_dp *dp, struct rte_mbuf *m)
{
	struct ms_mbuf_meta *meta = ms_meta(m);
	struct ms_neigh_entry *e = ms_neigh_get(&dp->neigh, meta->port, &meta->nh);

	if (e == NULL) {
		MS_SLOW_COUNT(dp, neigh_full, 1);
		ms_slow_drop(dp, m, meta->sa_slot, MS_DROP_NO_NEIGHBOR);
		return;
	}
	if (e->mac & MS_NEIGH_VALID) {	/* resolved while the packet travelled */
		send_resolved(dp, e, m);
		return;
	}
	if (e->nb_held == MS_NEIGH_HOLD) {
		ms_slow_drop(dp, m, meta->sa_slot, MS_DROP_NO_NEIGHBOR);
		return;
	}
	e->held[e->nb_held++] = m;
	if (rte_get_timer_cycles() - e->last_req > dp->tsc_hz * MS_RESOLVE_RETRY_MS / 1000 ||
	    e->last_req == 0)
		ms_slow_solicit(dp, e);
}

/* The gateway of port p, or (outer) the appliance of a configured remote? */
static bool
configured(const struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip)
{
	const struct ms_port_conf *pc = dp->port[p].conf;

	if (ms_ip_eq(ip->af == MS_AF_INET ? &pc->gw4 : &pc->gw6, ip))
		return true;
	for (unsigned int i = 0; p == MS_PORT_OUTER && i < dp->conf->nb_remote; i++)
		if (ms_ip_eq(&dp->conf->remote[i].via, ip))
			return true;
	return false;
}

bool
ms_slow_req_allowed(struct ms_slow *s, enum ms_port_idx p, const struct ms_ip *ip)
{
	struct ms_dp *dp = s->dp;
	uint64_t now = rte_get_timer_cycles(), add;

	if (ms_neigh_lookup(&dp->neigh, (uint8_t)p, ip) != NULL || configured(dp, p, ip))
		return true;
	add = (now - s->req_last[p]) * REQ_PER_SEC / dp->tsc_hz;
	if (add > 0) {
		s->req_tokens[p] = RTE_MIN(s->req_tokens[p] + add, (uint64_t)REQ_PER_SEC);
		s->req_last[p] = now;
	}
	if (s->req_tokens[p] == 0) {
		MS_SLOW_COUNT(dp, arp_nd_limited, 1);
		return false;
	}
	s->req_tokens[p]--;
	return true;
}

void
ms_slow_init(struct ms_slow *s, struct ms_dp *dp)
{
	memset(s, 0, sizeof(*s));
	s->dp = dp;
	ms_slow_icmp_init(s);
	for (int p = 0; p < MS_PORT_MAX; p++) {
		s->req_tokens[p] = REQ_PER_SEC;
		s->req_last[p] = rte_get_timer_cycles();
	}
}

/* Evictions the table made (on its own, for room) into the counters. */
static void
count_evicted(struct ms_dp *dp)
{
	MS_SLOW_COUNT(dp, neigh_evicted, dp->neigh.evicted - dp->neigh.evicted_counted);
	dp->neigh.evicted_counted = dp->neigh.evicted;
}

unsigned int
ms_slow_poll(struct ms_slow *s)
{
	struct rte_mbuf *m[32];
	unsigned int n = rte_ring_sc_dequeue_burst(s->dp->slow_rx, (void **)m, RTE_DIM(m), NULL);

	for (unsigned int i = 0; i < n; i++) {
		struct ms_mbuf_meta *meta = ms_meta(m[i]);

		switch (meta->slow_kind) {
		case MS_SLOW_ARP:
			ms_slow_arp(s, m[i], meta->port);
			break;
		case MS_SLOW_ND:
			ms_slow_nd(s, m[i], meta->port);
			break;
		case MS_SLOW_HOLD:
			handle_hold(s->dp, m[i]);
			break;
		case MS_SLOW_TOO_BIG:
			ms_slow_too_big(s, m[i]);
			break;
		default:
			rte_pktmbuf_free(m[i]);
		}
	}
	count_evicted(s->dp);
	return n;
}

/* Unresolved: ask again while someone waits, give up on held packets after a few tries. */
static void
age_unresolved(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	if (e->nb_held > 0 && ++e->tries > HOLD_TRIES) {
		for (uint8_t h = 0; h < e->nb_held; h++)
			ms_slow_drop(dp, e->held[h], ms_meta(e->held[h])->sa_slot,
				     MS_DROP_NO_NEIGHBOR);
		e->nb_held = 0;
		e->tries = 0;
	}
	if (e->nb_held == 0 && !e->wanted) {	/* nobody waits for it any more */
		ms_neigh_evict(&dp->neigh, e);
		return;
	}
	ms_slow_solicit(dp, e);
}

/*
 * Resolved: asked again once MS_REACHABLE_MS passed since its last answer (the
 * MAC stays in use meanwhile). One that PROBES requests did not bring back
 * goes, unless an SA needs it.
 */
static void
age_resolved(struct ms_dp *dp, struct ms_neigh_entry *e, uint64_t now)
{
	if (now - e->confirmed < dp->tsc_hz / 1000 * MS_REACHABLE_MS)
		return;
	if (e->tries >= PROBES && !e->wanted) {
		ms_neigh_evict(&dp->neigh, e);
		return;
	}
	if (e->tries < UINT8_MAX)
		e->tries++;
	ms_slow_solicit(dp, e);
}

void
ms_slow_tick(struct ms_slow *s)
{
	struct ms_dp *dp = s->dp;
	uint64_t now = rte_get_timer_cycles(), retry = dp->tsc_hz * MS_RESOLVE_RETRY_MS / 1000;

	for (uint32_t i = 0; i < dp->neigh.cap; i++) {
		struct ms_neigh_entry *e = &dp->neigh.e[i];

		if (e->state != MS_NEIGH_LIVE || now - e->last_req < retry)
			continue;
		if (e->mac & MS_NEIGH_VALID)
			age_resolved(dp, e, now);
		else
			age_unresolved(dp, e);
	}
	count_evicted(dp);
}

struct ms_neigh_entry *
ms_slow_nexthop(void *arg, const struct ms_ip *peer)
{
	struct ms_dp *dp = arg;
	struct ms_neigh_entry *e;
	struct ms_ip nh;

	if (!ms_nexthop(dp, MS_PORT_OUTER, peer, &nh))
		return NULL;
	e = ms_neigh_get(&dp->neigh, MS_PORT_OUTER, &nh);
	if (e == NULL) {
		MS_SLOW_COUNT(dp, neigh_full, 1);
		return NULL;
	}
	e->wanted = 1;
	if (!(e->mac & MS_NEIGH_VALID))
		ms_slow_solicit(dp, e);
	return e;
}
