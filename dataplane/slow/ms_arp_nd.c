/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP and IPv6 neighbour discovery on both ports, run by the control thread
 * (slow path): answer for our own and proxied addresses, learn neighbours'
 * MACs into the table the workers read, and ask for the MACs of next hops.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>

#include "ms_arp.h"
#include "ms_slow_priv.h"

/* common/ms_arp writes the frame byte by byte: it must be DPDK's layout. */
_Static_assert(MS_ARP_FRAME_LEN == sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr),
	       "ARP frame length");

/* Do we answer ARP/NS for ip on port p? Our address, or a proxied remote host. */
static bool
answers_for(const struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip, bool *proxy)
{
	const struct ms_prefix *own = ms_slow_own(dp, p, ip->af);

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

static void
send_arp_request(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *target)
{
	const struct ms_prefix *own = ms_slow_own(dp, p, MS_AF_INET);
	struct rte_mbuf *m;

	if (own->ip.af != MS_AF_INET)
		return;
	m = ms_slow_alloc(dp, MS_ARP_FRAME_LEN);
	if (m == NULL)
		return;
	ms_arp_request(rte_pktmbuf_mtod(m, uint8_t *), MS_ARP_FRAME_LEN,
		       dp->port[p].mac.addr_bytes, own->ip.v4, target->v4);
	ms_slow_tx(dp, m, p);
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
	const struct ms_prefix *own = ms_slow_own(dp, p, MS_AF_INET6);
	uint8_t dip[16] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };
	uint8_t dmac[6] = { 0x33, 0x33, 0xff };
	struct rte_mbuf *m;

	if (own->ip.af != MS_AF_INET6)
		return;
	memcpy(dip + 13, target->v6 + 13, 3);	/* solicited-node multicast */
	memcpy(dmac + 3, target->v6 + 13, 3);
	m = ms_slow_alloc(dp, RTE_ETHER_HDR_LEN + 40 + 32);
	if (m == NULL)
		return;
	fill_nd(m, &dp->port[p].mac, dmac, own->ip.v6, dip, 135, 0, target->v6);
	ms_slow_tx(dp, m, p);
}

void
ms_slow_solicit(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	e->last_req = rte_get_timer_cycles();
	if (e->ip.af == MS_AF_INET)
		send_arp_request(dp, e->port, &e->ip);
	else
		send_ns(dp, e->port, &e->ip);
}

/* A neighbour told us its MAC. Create the entry only if asked to. */
static void
learn(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip,
      const struct rte_ether_addr *mac, bool create)
{
	const struct ms_prefix *own = ms_slow_own(dp, p, ip->af);
	struct ms_neigh_entry *e;

	if (own->ip.af != ip->af || !ms_prefix_has(own, ip) || ms_ip_eq(&own->ip, ip) ||
	    !rte_is_unicast_ether_addr(mac))
		return;
	e = create ? ms_neigh_get(&dp->neigh, p, ip) : ms_neigh_lookup(&dp->neigh, p, ip);
	if (e == NULL)
		return;
	ms_neigh_set_mac(e, mac);
	ms_slow_release(dp, e);
}

void
ms_slow_arp(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct ms_ip sip = { .af = MS_AF_INET }, tip = { .af = MS_AF_INET };
	bool ours, proxy;

	if (m->pkt_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		ms_slow_drop(dp, m, -1, p == MS_PORT_INNER ? MS_DROP_INNER_MALFORMED
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
	/* Answer in place, to the MAC the request says it came from. */
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &eth->dst_addr);
	rte_ether_addr_copy(&dp->port[p].mac, &eth->src_addr);
	ms_arp_to_reply((uint8_t *)arp, dp->port[p].mac.addr_bytes);
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - sizeof(*eth) - sizeof(*arp)));
	ms_slow_tx(dp, m, p);
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

/* RFC 4861 7.1.1: hop limit 255, code 0, at least 24 bytes, valid checksum; NS or NA. */
static bool
nd_valid(const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv6_hdr *ip = (const struct rte_ipv6_hdr *)(eth + 1);
	const uint8_t *icmp = (const uint8_t *)(ip + 1);
	uint32_t plen = rte_be_to_cpu_16(ip->payload_len);

	return m->pkt_len >= sizeof(*eth) + sizeof(*ip) + 24 && ip->proto == IPPROTO_ICMPV6 &&
	       plen >= 24 && sizeof(*eth) + sizeof(*ip) + plen <= m->pkt_len &&
	       ip->hop_limits == 255 && icmp[1] == 0 &&
	       rte_ipv6_udptcp_cksum_verify(ip, icmp) == 0 && (icmp[0] == 135 || icmp[0] == 136);
}

void
ms_slow_nd(struct ms_dp *dp, struct rte_mbuf *m, enum ms_port_idx p)
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

	if (!nd_valid(m)) {
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
	ms_slow_tx(dp, m, p);
}
