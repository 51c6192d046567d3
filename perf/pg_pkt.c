/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The page format: Ethernet | IPv4 | UDP | struct pg_hdr | pattern. The
 * pattern is a function of (flow, page) alone, so a sink that knows nothing
 * of the sender checks every byte. One add per 8 bytes: the generator must
 * not be the thing being measured.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_udp.h>

#include "pg.h"

#define STEP 0x9E3779B97F4A7C15ULL

static inline uint64_t
seed_of(uint32_t flow, uint64_t page)
{
	uint64_t z = ((uint64_t)flow << 40) ^ page ^ 0x6d69677365630000ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

void
pg_fill(uint8_t *p, uint32_t len, uint32_t flow, uint64_t page)
{
	uint64_t w = seed_of(flow, page);
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8, w += STEP)
		memcpy(p + i, &w, 8);
	if (i < len)
		memcpy(p + i, &w, len - i);
}

bool
pg_check(const uint8_t *p, uint32_t len, uint32_t flow, uint64_t page)
{
	uint64_t w = seed_of(flow, page), v, bad = 0;
	uint32_t i = 0;

	for (; i + 8 <= len; i += 8, w += STEP) {
		memcpy(&v, p + i, 8);
		bad |= v ^ w;
	}
	if (i < len) {
		v = 0;
		memcpy(&v, p + i, len - i);
		bad |= v ^ (w & (UINT64_MAX >> (8 * (8 - (len - i)))));
	}
	return bad == 0;
}

void
pg_build(struct rte_mbuf *m, const struct pg_gen_conf *g, const struct rte_ether_addr *smac,
	 uint32_t flow, uint64_t seq)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	struct pg_hdr *h = (struct pg_hdr *)(udp + 1);
	uint32_t plen = g->size - PG_SIZE_MIN;
	uint64_t page = seq % g->pages;

	m->data_len = m->pkt_len = RTE_ETHER_HDR_LEN + g->size;
	rte_ether_addr_copy(&g->dmac, &eth->dst_addr);
	rte_ether_addr_copy(smac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)g->size);
	ip->packet_id = rte_cpu_to_be_16((uint16_t)seq);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = g->src;
	ip->dst_addr = g->dst;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	/* Flow f: destination port base + f (so selectors can tell migrations apart). */
	udp->src_port = rte_cpu_to_be_16((uint16_t)(20000 + flow / 40000));
	udp->dst_port = rte_cpu_to_be_16((uint16_t)(g->dport_base + flow % 40000));
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(g->size - 20));
	udp->dgram_cksum = 0;
	h->magic = PG_MAGIC;
	h->len = (uint16_t)plen;
	h->flow = flow;
	h->page = page;
	h->seq = seq;
	h->tsc = 0;		/* stamped just before transmission */
	pg_fill((uint8_t *)(h + 1), plen, flow, page);
}

const struct pg_hdr *
pg_parse(const struct rte_mbuf *m, uint32_t *iplen)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct pg_hdr *h;
	uint32_t len;

	if (m->data_len != m->pkt_len || m->pkt_len < RTE_ETHER_HDR_LEN + PG_SIZE_MIN ||
	    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->version_ihl != RTE_IPV4_VHL_DEF || ip->next_proto_id != IPPROTO_UDP)
		return NULL;
	if (rte_ipv4_cksum(ip) != 0)
		return NULL;
	len = rte_be_to_cpu_16(ip->total_length);
	h = (const struct pg_hdr *)((const uint8_t *)eth + PG_HDR_OFF);
	*iplen = len;
	if (len < PG_SIZE_MIN || len + RTE_ETHER_HDR_LEN > m->pkt_len ||
	    h->magic != PG_MAGIC || h->len != len - PG_SIZE_MIN)
		return NULL;
	return h;
}
