/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Slow path, in the control thread: ARP and IPv6 neighbour discovery on both
 * ports (answers for our own and proxied addresses, resolution of next hops,
 * packets held until their next hop resolves) and ICMP "too big" errors.
 * Replies leave through worker 0 (ring slow_tx), so ports need no extra queue.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "ms_tx.h"
#include "ms_log.h"
#include "ms_slow.h"

#define RESOLVE_RETRY_MS 1000
#define HOLD_TRIES 3
#define ICMP_PER_SEC 100
#define ICMP4_QUOTE 548		/* error message stays within 576 bytes */
#define ICMP6_QUOTE (1280 - 40 - 8)

static void
ctl_drop(struct ms_dp *dp, struct rte_mbuf *m, int32_t slot, enum ms_drop r)
{
	ms_count_drop(&dp->stats, ms_ctl_block(dp), slot, r, 1);
	rte_pktmbuf_free(m);
}

static void
ctl_tx(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
{
	ms_meta(m)->port = (uint8_t)p;
	if (rte_ring_sp_enqueue(dp->slow_tx, m) != 0)
		ctl_drop(dp, m, -1, MS_DROP_SLOWPATH_FULL);
}

static const struct ms_prefix *
own_prefix(const struct ms_dp *dp, enum ms_port_idx p, uint8_t af)
{
	const struct ms_port_conf *pc = dp->port[p].conf;

	return af == MS_AF_INET ? &pc->addr4 : &pc->addr6;
}

/* Do we answer ARP/NS for ip on port p? Our address, or a proxied remote host. */
static bool
answers_for(const struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip, bool *proxy)
{
	const struct ms_prefix *own = own_prefix(dp, p, ip->af);

	*proxy = false;
	if (own->ip.af == ip->af && ms_ip_eq(&own->ip, ip))
		return true;
	if (p != MS_PORT_INNER)
		return false;
	for (unsigned int i = 0; i < dp->conf->nb_remote; i++)
		if (dp->conf->remote[i].proxy && ms_prefix_has(&dp->conf->remote[i].prefix, ip)) {
			*proxy = true;
			return true;
		}
	return false;
}

static struct rte_mbuf *
alloc_frame(struct ms_dp *dp, uint16_t len)
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

static void
send_arp_request(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *target)
{
	const struct ms_prefix *own = own_prefix(dp, p, MS_AF_INET);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;
	struct rte_mbuf *m;

	if (own->ip.af != MS_AF_INET)
		return;
	m = alloc_frame(dp, sizeof(*eth) + sizeof(*arp));
	if (m == NULL)
		return;
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&dp->port[p].mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&dp->port[p].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = own->ip.v4;
	arp->arp_data.arp_tip = target->v4;
	ctl_tx(dp, m, p);
}

/* Neighbour solicitation / advertisement with a link-layer address option. */
static void
fill_nd(struct rte_mbuf *m, const struct rte_ether_addr *src_mac, const uint8_t *dst_mac,
	const uint8_t *src_ip, const uint8_t *dst_ip, uint8_t type, uint32_t flags,
	const uint8_t *target)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	uint16_t ck;

	memcpy(&eth->dst_addr, dst_mac, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(src_mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16(32);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 255;
	memcpy(ip->src_addr, src_ip, 16);
	memcpy(ip->dst_addr, dst_ip, 16);
	memset(icmp, 0, 32);
	icmp[0] = type;
	flags = rte_cpu_to_be_32(flags);
	memcpy(icmp + 4, &flags, 4);
	memcpy(icmp + 8, target, 16);
	icmp[24] = type == 135 ? 1 : 2;	/* source / target link-layer address */
	icmp[25] = 1;
	memcpy(icmp + 26, src_mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	ck = rte_ipv6_udptcp_cksum(ip, icmp);
	memcpy(icmp + 2, &ck, 2);
}

static void
send_ns(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *target)
{
	const struct ms_prefix *own = own_prefix(dp, p, MS_AF_INET6);
	uint8_t dip[16] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };
	uint8_t dmac[6] = { 0x33, 0x33, 0xff };
	struct rte_mbuf *m;

	if (own->ip.af != MS_AF_INET6)
		return;
	memcpy(dip + 13, target->v6 + 13, 3);	/* solicited-node multicast */
	memcpy(dmac + 3, target->v6 + 13, 3);
	m = alloc_frame(dp, RTE_ETHER_HDR_LEN + 40 + 32);
	if (m == NULL)
		return;
	fill_nd(m, &dp->port[p].mac, dmac, own->ip.v6, dip, 135, 0, target->v6);
	ctl_tx(dp, m, p);
}

static void
solicit(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	e->last_req = rte_get_timer_cycles();
	if (e->ip.af == MS_AF_INET)
		send_arp_request(dp, e->port, &e->ip);
	else
		send_ns(dp, e->port, &e->ip);
}

/* Release packets held for e, now resolved. */
static void
release_held(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	for (uint8_t i = 0; i < e->nb_held; i++) {
		struct rte_mbuf *m = e->held[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		ms_neigh_mac(e, &eth->dst_addr);
		rte_ether_addr_copy(&dp->port[e->port].mac, &eth->src_addr);
		ctl_tx(dp, m, e->port);
	}
	e->nb_held = 0;
	e->tries = 0;
}

/* A neighbour told us its MAC. Create the entry only if asked to. */
static void
learn(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip,
      const struct rte_ether_addr *mac, bool create)
{
	const struct ms_prefix *own = own_prefix(dp, p, ip->af);
	struct ms_neigh_entry *e;

	if (own->ip.af != ip->af || !ms_prefix_has(own, ip) || ms_ip_eq(&own->ip, ip) ||
	    !rte_is_unicast_ether_addr(mac))
		return;
	e = create ? ms_neigh_get(&dp->neigh, p, ip) : ms_neigh_lookup(&dp->neigh, p, ip);
	if (e == NULL)
		return;
	ms_neigh_set_mac(e, mac);
	release_held(dp, e);
}

static void
handle_arp(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct ms_ip sip = { .af = MS_AF_INET }, tip = { .af = MS_AF_INET };
	bool ours, proxy;

	if (m->pkt_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		ctl_drop(dp, m, -1, p == MS_PORT_INNER ? MS_DROP_INNER_MALFORMED
						      : MS_DROP_OUTER_MALFORMED);
		return;
	}
	sip.v4 = arp->arp_data.arp_sip;
	tip.v4 = arp->arp_data.arp_tip;
	ours = answers_for(dp, p, &tip, &proxy);
	learn(dp, p, &sip, &arp->arp_data.arp_sha, ours);
	if (!ours || arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    ms_ip_eq(&sip, &tip)) {
		rte_pktmbuf_free(m);
		return;
	}
	/* Answer in place. */
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &eth->dst_addr);
	rte_ether_addr_copy(&dp->port[p].mac, &eth->src_addr);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = sip.v4;
	rte_ether_addr_copy(&dp->port[p].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip.v4;
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - sizeof(*eth) - sizeof(*arp)));
	ctl_tx(dp, m, p);
}

/* Link-layer address option (type want) of an ND message, or NULL. */
static const struct rte_ether_addr *
nd_lladdr(const uint8_t *opt, uint32_t len, uint8_t want)
{
	while (len >= 8) {
		uint32_t olen = (uint32_t)opt[1] * 8;

		if (olen == 0 || olen > len)
			return NULL;
		if (opt[0] == want && olen == 8)
			return (const struct rte_ether_addr *)(opt + 2);
		opt += olen;
		len -= olen;
	}
	return NULL;
}

static void
handle_nd(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	static const uint8_t unspec[16], all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	const struct rte_ether_addr *ll;
	struct ms_ip src = { .af = MS_AF_INET6 }, tgt = { .af = MS_AF_INET6 };
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);
	struct rte_ether_addr reply_mac;
	bool ours, proxy;

	/* RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes, valid checksum. */
	if (m->pkt_len < sizeof(*eth) + sizeof(*ip) + 24 || ip->proto != IPPROTO_ICMPV6 ||
	    plen < 24 || sizeof(*eth) + sizeof(*ip) + plen > m->pkt_len || ip->hop_limits != 255 ||
	    icmp[1] != 0 || rte_ipv6_udptcp_cksum_verify(ip, icmp) != 0 ||
	    (icmp[0] != 135 && icmp[0] != 136)) {
		rte_pktmbuf_free(m);	/* RS/RA/redirects and invalid ND are not ours */
		return;
	}
	memcpy(src.v6, ip->src_addr, 16);
	memcpy(tgt.v6, icmp + 8, 16);
	ll = nd_lladdr(icmp + 24, plen - 24, icmp[0] == 135 ? 1 : 2);
	ours = answers_for(dp, p, &tgt, &proxy);
	if (icmp[0] == 136) {
		if (ll != NULL)
			learn(dp, p, &tgt, ll, false);
		rte_pktmbuf_free(m);
		return;
	}
	if (!ours || memcmp(ip->src_addr, unspec, 16) == 0) {	/* not ours, or DAD */
		rte_pktmbuf_free(m);
		return;
	}
	if (ll != NULL)
		learn(dp, p, &src, ll, true);
	reply_mac = ll ? *ll : eth->src_addr;
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - (sizeof(*eth) + sizeof(*ip) + 32)));
	/* Solicited; a proxy does not override (RFC 4861 7.2.8). */
	fill_nd(m, &dp->port[p].mac, reply_mac.addr_bytes, tgt.v6,
		memcmp(src.v6, unspec, 16) ? src.v6 : all_nodes, 136,
		0x40000000u | (proxy ? 0 : 0x20000000u), tgt.v6);
	ctl_tx(dp, m, p);
}

static void
handle_hold(struct ms_dp *dp, struct rte_mbuf *m)
{
	struct ms_mbuf_meta *meta = ms_meta(m);
	struct ms_neigh_entry *e = ms_neigh_get(&dp->neigh, meta->port, &meta->nh);

	if (e == NULL) {
		ctl_drop(dp, m, meta->sa_slot, MS_DROP_NO_NEIGHBOR);
		return;
	}
	if (e->mac & MS_NEIGH_VALID) {	/* resolved while the packet travelled */
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

		ms_neigh_mac(e, &eth->dst_addr);
		rte_ether_addr_copy(&dp->port[e->port].mac, &eth->src_addr);
		ctl_tx(dp, m, e->port);
		return;
	}
	if (e->nb_held == MS_NEIGH_HOLD) {
		ctl_drop(dp, m, meta->sa_slot, MS_DROP_NO_NEIGHBOR);
		return;
	}
	e->held[e->nb_held++] = m;
	if (rte_get_timer_cycles() - e->last_req > dp->tsc_hz * RESOLVE_RETRY_MS / 1000 ||
	    e->last_req == 0)
		solicit(dp, e);
}

/* Token bucket so a flood of oversized packets cannot flood the host back. */
static bool
icmp_allowed(struct ms_slow *s, uint64_t now, uint64_t hz)
{
	uint64_t add = (now - s->icmp_last) * ICMP_PER_SEC / hz;

	if (add > 0) {
		s->icmp_tokens = RTE_MIN(s->icmp_tokens + add, (uint64_t)ICMP_PER_SEC);
		s->icmp_last = now;
	}
	if (s->icmp_tokens == 0)
		return false;
	s->icmp_tokens--;
	return true;
}

/* Turn the oversized packet itself into the ICMP error about it. */
static bool
build_too_big(struct ms_dp *dp, struct rte_mbuf *m, uint16_t mtu)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr host = eth->src_addr;
	const uint8_t *orig = (const uint8_t *)(eth + 1);
	bool v4 = (orig[0] >> 4) == 4;
	const struct ms_prefix *own = own_prefix(dp, MS_PORT_INNER, v4 ? MS_AF_INET : MS_AF_INET6);
	uint32_t quote = m->pkt_len - RTE_ETHER_HDR_LEN, hl = v4 ? 28 : 48;
	uint8_t osrc[16];
	uint8_t *l3;

	if (own->ip.af == MS_AF_NONE)
		return false;
	/* Never an error about an ICMP error (RFC 1812 4.3.2.7, RFC 4443 2.4). */
	if (v4 ? (orig[9] == IPPROTO_ICMP && orig[20] != 8 && orig[20] != 0)
	       : (orig[6] == IPPROTO_ICMPV6 && orig[40] < 128))
		return false;
	memcpy(osrc, v4 ? orig + 12 : orig + 8, v4 ? 4 : 16);
	quote = RTE_MIN(quote, v4 ? (uint32_t)ICMP4_QUOTE : (uint32_t)ICMP6_QUOTE);
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - RTE_ETHER_HDR_LEN - quote));
	eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, (uint16_t)hl);
	if (eth == NULL)
		return false;
	memmove(eth, (uint8_t *)eth + hl, RTE_ETHER_HDR_LEN);
	eth->dst_addr = host;
	rte_ether_addr_copy(&dp->port[MS_PORT_INNER].mac, &eth->src_addr);
	l3 = (uint8_t *)(eth + 1);
	memset(l3, 0, hl);
	if (v4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
		struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(hl + quote));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_ICMP;
		ip->src_addr = own->ip.v4;
		memcpy(&ip->dst_addr, osrc, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		ic->icmp_type = 3;	/* destination unreachable */
		ic->icmp_code = 4;	/* fragmentation needed and DF set */
		ic->icmp_seq_nb = rte_cpu_to_be_16(mtu);
		ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + quote);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
		uint8_t *ic = (uint8_t *)(ip + 1);
		uint32_t be_mtu = rte_cpu_to_be_32(mtu);
		uint16_t ck;

		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
		ip->proto = IPPROTO_ICMPV6;
		ip->hop_limits = 64;
		memcpy(ip->src_addr, own->ip.v6, 16);
		memcpy(ip->dst_addr, osrc, 16);
		ic[0] = 2;	/* packet too big */
		memcpy(ic + 4, &be_mtu, 4);
		ck = rte_ipv6_udptcp_cksum(ip, ic);
		memcpy(ic + 2, &ck, 2);
	}
	return true;
}

static void
handle_too_big(struct ms_dp *dp, struct ms_slow *s, struct rte_mbuf *m)
{
	/* The drop itself was counted by the worker as too_big. */
	if (!icmp_allowed(s, rte_get_timer_cycles(), dp->tsc_hz) ||
	    !build_too_big(dp, m, ms_meta(m)->mtu)) {
		rte_pktmbuf_free(m);
		return;
	}
	ms_ctr_add(&dp->stats.lc[ms_ctl_block(dp)].icmp_sent, 1);
	ctl_tx(dp, m, MS_PORT_INNER);
}

void
ms_slow_init(struct ms_slow *s, struct ms_dp *dp)
{
	memset(s, 0, sizeof(*s));
	s->dp = dp;
	s->icmp_tokens = ICMP_PER_SEC;
	s->icmp_last = rte_get_timer_cycles();
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
			handle_arp(s->dp, m[i], meta->port);
			break;
		case MS_SLOW_ND:
			handle_nd(s->dp, m[i], meta->port);
			break;
		case MS_SLOW_HOLD:
			handle_hold(s->dp, m[i]);
			break;
		case MS_SLOW_TOO_BIG:
			handle_too_big(s->dp, s, m[i]);
			break;
		default:
			rte_pktmbuf_free(m[i]);
		}
	}
	return n;
}

void
ms_slow_tick(struct ms_slow *s)
{
	struct ms_dp *dp = s->dp;
	uint64_t now = rte_get_timer_cycles(), retry = dp->tsc_hz * RESOLVE_RETRY_MS / 1000;

	for (uint32_t i = 0; i < dp->neigh.cap; i++) {
		struct ms_neigh_entry *e = &dp->neigh.e[i];

		if (!e->used || (e->mac & MS_NEIGH_VALID) || now - e->last_req < retry)
			continue;
		if (e->nb_held > 0 && ++e->tries > HOLD_TRIES) {
			for (uint8_t h = 0; h < e->nb_held; h++)
				ctl_drop(dp, e->held[h], ms_meta(e->held[h])->sa_slot,
					 MS_DROP_NO_NEIGHBOR);
			e->nb_held = 0;
			e->tries = 0;
		}
		if (e->nb_held > 0 || e->wanted)
			solicit(dp, e);
	}
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
	if (e == NULL)
		return NULL;
	e->wanted = 1;
	if (!(e->mac & MS_NEIGH_VALID))
		solicit(dp, e);
	return e;
}
