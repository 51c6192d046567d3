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

/* An NS or NA as we send them: with the one link-layer address option. */
#define ND_LEN (RTE_ETHER_HDR_LEN + 40 + 32)

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
	m = ms_slow_alloc(dp, ND_LEN);
	if (m == NULL)
		return;
	fill_nd(m, &dp->port[p].mac, dmac, own->ip.v6, dip, 135, 0, target->v6);
	ms_slow_tx(dp, m, p);
}

void
ms_slow_solicit(struct ms_dp *dp, struct ms_neigh_entry *e)
{
	e->last_req = rte_get_timer_cycles();
	e->asked = 1;
	if (e->ip.af == MS_AF_INET)
		send_arp_request(dp, e->port, &e->ip);
	else
		send_ns(dp, e->port, &e->ip);
}

/* Have ms_slow_tick ask e again MS_RECHECK_MS from now, unless it will sooner. */
static void
recheck_soon(const struct ms_dp *dp, struct ms_neigh_entry *e, uint64_t now)
{
	uint64_t reach = dp->tsc_hz / 1000 * MS_REACHABLE_MS;
	uint64_t recheck = dp->tsc_hz / 1000 * MS_RECHECK_MS;

	if (now - e->confirmed + recheck < reach)	/* modular: confirmed may be "ahead" */
		e->confirmed = now + recheck - reach;
}

/*
 * A neighbour's frame says ip is at mac. Learned only into an entry that
 * asked (a next hop we resolve, within MS_RESOLVE_RETRY_MS of our request):
 * a host nobody asked about creates nothing (neigh_refused), and a resolved
 * entry is never overwritten by an unsolicited claim (neigh_conflict); it
 * takes a new MAC only from the answer to its next refresh, which such a
 * claim brings forward to MS_RECHECK_MS from now.
 */
static void
learn(struct ms_dp *dp, enum ms_port_idx p, const struct ms_ip *ip,
      const struct rte_ether_addr *mac)
{
	const struct ms_prefix *own = ms_slow_own(dp, p, ip->af);
	uint64_t now = rte_get_timer_cycles(), v = 0;
	struct ms_neigh_entry *e;

	if (own->ip.af != ip->af || !ms_prefix_has(own, ip) || ms_ip_eq(&own->ip, ip) ||
	    !rte_is_unicast_ether_addr(mac))
		return;
	e = ms_neigh_lookup(&dp->neigh, (uint8_t)p, ip);
	if (e == NULL) {
		MS_SLOW_COUNT(dp, neigh_refused, 1);
		return;
	}
	if (e->asked && now - e->last_req < dp->tsc_hz / 1000 * MS_RESOLVE_RETRY_MS) {
		ms_neigh_set_mac(e, mac);
		e->asked = 0;
		e->confirmed = now;
		e->recent = 1;
		ms_slow_release(dp, e);	/* also resets tries */
		return;
	}
	memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	if (!(e->mac & MS_NEIGH_VALID)) {
		MS_SLOW_COUNT(dp, neigh_refused, 1);
	} else if (e->mac != (v | MS_NEIGH_VALID)) {
		MS_SLOW_COUNT(dp, neigh_conflict, 1);
		recheck_soon(dp, e, now);
	}
}

void
ms_slow_arp(struct ms_slow *s, struct rte_mbuf *m, enum ms_port_idx p)
{
	struct ms_dp *dp = s->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct ms_ip sip = { .af = MS_AF_INET }, tip = { .af = MS_AF_INET };
	bool ours, proxy;

	if (rte_pktmbuf_data_len(m) < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		ms_slow_drop(dp, m, -1, p == MS_PORT_INNER ? MS_DROP_INNER_MALFORMED
							  : MS_DROP_OUTER_MALFORMED);
		return;
	}
	sip.v4 = arp->arp_data.arp_sip;
	tip.v4 = arp->arp_data.arp_tip;
	ours = answers_for(dp, p, &tip, &proxy) &&
	       arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && !ms_ip_eq(&sip, &tip);
	if (ours && !ms_slow_req_allowed(s, p, &sip)) {
		rte_pktmbuf_free(m);
		return;
	}
	learn(dp, p, &sip, &arp->arp_data.arp_sha);
	if (!ours) {
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
	uint32_t plen, have = rte_pktmbuf_data_len(m);	/* all of it is read from here */

	if (have < sizeof(*eth) + sizeof(*ip) + 24)
		return false;
	plen = rte_be_to_cpu_16(ip->payload_len);
	return ip->proto == IPPROTO_ICMPV6 && plen >= 24 &&
	       sizeof(*eth) + sizeof(*ip) + plen <= have && ip->hop_limits == 255 &&
	       icmp[1] == 0 && rte_ipv6_udptcp_cksum_verify(ip, icmp) == 0 &&
	       (icmp[0] == 135 || icmp[0] == 136);
}

/*
 * Answer a solicitation for tgt (ours, or proxied) from src, to reply_mac,
 * in a frame of its own: the request may be shorter than the answer (no
 * option: 78 bytes), and the answer must be exactly ND_LEN long.
 */
static void
send_na(struct ms_dp *dp, enum ms_port_idx p, const struct rte_ether_addr *reply_mac,
	const uint8_t *src, const uint8_t *tgt, bool proxy)
{
	struct rte_mbuf *r = ms_slow_alloc(dp, ND_LEN);

	if (r == NULL)
		return;
	/* Solicited; a proxy does not override (RFC 4861 7.2.8). */
	fill_nd(r, &dp->port[p].mac, reply_mac->addr_bytes, tgt, src, 136,
		0x40000000u | (proxy ? 0 : 0x20000000u), tgt);
	ms_slow_tx(dp, r, p);
}

void
ms_slow_nd(struct ms_slow *s, struct rte_mbuf *m, enum ms_port_idx p)
{
	struct ms_dp *dp = s->dp;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);
	uint8_t *icmp = (uint8_t *)(ip + 1);
	static const uint8_t unspec[16];
	const struct rte_ether_addr *ll;
	struct ms_ip src = { .af = MS_AF_INET6 }, tgt = { .af = MS_AF_INET6 };
	struct rte_ether_addr reply_mac;
	bool ours, proxy;

	if (!nd_valid(m)) {
		rte_pktmbuf_free(m);	/* RS/RA/redirects and invalid ND are not ours */
		return;
	}
	memcpy(src.v6, ip->src_addr, 16);
	memcpy(tgt.v6, icmp + 8, 16);
	ll = nd_lladdr(icmp + 24, rte_be_to_cpu_16(ip->payload_len) - 24u,
		       icmp[0] == 135 ? 1 : 2);
	if (icmp[0] == 136) {
		if (ll != NULL)
			learn(dp, p, &tgt, ll);
		rte_pktmbuf_free(m);
		return;
	}
	ours = answers_for(dp, p, &tgt, &proxy);
	/* not ours, DAD (unspecified source), or over the limit */
	if (!ours || memcmp(src.v6, unspec, 16) == 0 || !ms_slow_req_allowed(s, p, &src)) {
		rte_pktmbuf_free(m);
		return;
	}
	if (ll != NULL)
		learn(dp, p, &src, ll);
	reply_mac = ll ? *ll : eth->src_addr;
	rte_pktmbuf_free(m);
	send_na(dp, p, &reply_mac, src.v6, tgt.v6, proxy);
}
