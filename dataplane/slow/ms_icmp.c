/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICMP errors, run by the control thread (slow path): a packet from the
 * inner host too big for the tunnel becomes, in its own mbuf, the IPv4
 * "fragmentation needed" or IPv6 "packet too big" error that tells the host
 * the MTU. Rate-limited, so a flood of such packets cannot flood the host back.
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "ms_slow_priv.h"

#define ICMP_PER_SEC 100
#define ICMP4_QUOTE 548		/* error message stays within 576 bytes */
#define ICMP6_QUOTE (1280 - 40 - 8)

void
ms_slow_icmp_init(struct ms_slow *s)
{
	s->icmp_tokens = ICMP_PER_SEC;
	s->icmp_last = rte_get_timer_cycles();
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

/* IPv4 header and ICMP "fragmentation needed" (28 bytes at l3) before quote bytes. */
static void
fill_icmp4(uint8_t *l3, uint32_t own, const uint8_t *osrc, uint32_t quote, uint16_t mtu)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)l3;
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(28 + quote));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = own;
	memcpy(&ip->dst_addr, osrc, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ic->icmp_type = 3;	/* destination unreachable */
	ic->icmp_code = 4;	/* fragmentation needed and DF set */
	ic->icmp_seq_nb = rte_cpu_to_be_16(mtu);
	ic->icmp_cksum = (uint16_t)~rte_raw_cksum(ic, 8 + quote);
}

/* IPv6 header and ICMPv6 "packet too big" (48 bytes at l3) before quote bytes. */
static void
fill_icmp6(uint8_t *l3, const uint8_t *own, const uint8_t *osrc, uint32_t quote, uint16_t mtu)
{
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)l3;
	uint8_t *ic = (uint8_t *)(ip + 1);
	uint32_t be_mtu = rte_cpu_to_be_32(mtu);
	uint16_t ck;

	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)(8 + quote));
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, own, 16);
	memcpy(ip->dst_addr, osrc, 16);
	ic[0] = 2;	/* packet too big */
	memcpy(ic + 4, &be_mtu, 4);
	ck = rte_ipv6_udptcp_cksum(ip, ic);
	memcpy(ic + 2, &ck, 2);
}

/* Turn the oversized packet itself into the ICMP error about it. */
static bool
build_too_big(struct ms_dp *dp, struct rte_mbuf *m, uint16_t mtu)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr host = eth->src_addr;
	const uint8_t *orig = (const uint8_t *)(eth + 1);
	bool v4 = (orig[0] >> 4) == 4;
	const struct ms_prefix *own = ms_slow_own(dp, MS_PORT_INNER, v4 ? MS_AF_INET : MS_AF_INET6);
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
	if (v4)
		fill_icmp4(l3, own->ip.v4, osrc, quote, mtu);
	else
		fill_icmp6(l3, own->ip.v6, osrc, quote, mtu);
	return true;
}

void
ms_slow_too_big(struct ms_slow *s, struct rte_mbuf *m)
{
	struct ms_dp *dp = s->dp;

	/* The drop itself was counted by the worker as too_big. */
	if (!icmp_allowed(s, rte_get_timer_cycles(), dp->tsc_hz) ||
	    !build_too_big(dp, m, ms_meta(m)->mtu)) {
		rte_pktmbuf_free(m);
		return;
	}
	ms_ctr_add(&dp->stats.lc[ms_ctl_block(dp)].icmp_sent, 1);
	ms_slow_tx(dp, m, MS_PORT_INNER);
}
