/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ARP for the pktgen's ports (answer for our addresses, learn the next hop's
 * MAC), the mirror (send ESP back with addresses swapped, so one appliance
 * seals and opens its own traffic) and counted transmission.
 */

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ms_arp.h"
#include "pg.h"

/* common/ms_arp writes the frame byte by byte: it must be DPDK's layout. */
_Static_assert(MS_ARP_FRAME_LEN == sizeof(struct rte_ether_hdr) + sizeof(struct rte_arp_hdr),
	       "ARP frame length");

void
pg_tx_all(struct pg_port *pt, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	uint16_t sent = rte_eth_tx_burst(pt->id, q, m, n);

	if (unlikely(sent < n)) {
		pg_add(&pt->tx_full, n - sent);
		rte_pktmbuf_free_bulk(&m[sent], n - sent);
	}
}

void
pg_ctl_send(struct pg_port *pt, struct rte_mbuf *m)
{
	pg_add(&pt->arp_out, 1);
	if (pt->nctl == PG_CTL_MAX) {
		pg_add(&pt->tx_full, 1);
		rte_pktmbuf_free(m);
		return;
	}
	pt->ctl[pt->nctl++] = m;
	pg_ctl_flush(pt);
}

void
pg_ctl_flush(struct pg_port *pt)
{
	uint16_t sent;

	if (pt->nctl == 0)
		return;
	sent = rte_eth_tx_burst(pt->id, 0, pt->ctl, pt->nctl);
	for (uint16_t i = sent; i < pt->nctl; i++)
		pt->ctl[i - sent] = pt->ctl[i];
	pt->nctl -= sent;
}

static bool
ours(const struct pg_port *pt, uint32_t ip)
{
	for (unsigned int i = 0; i < pt->nb_addr; i++)
		if (pt->addr[i] == ip)
			return true;
	return false;
}

void
pg_arp_request(struct pg *pg, struct pg_port *pt, uint32_t sip, uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pg->pool);
	uint8_t *frame;

	if (m == NULL)
		return;
	frame = (uint8_t *)rte_pktmbuf_append(m, MS_ARP_FRAME_LEN);
	if (frame == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	ms_arp_request(frame, MS_ARP_FRAME_LEN, pt->mac.addr_bytes, sip, tip);
	pg_ctl_send(pt, m);
}

bool
pg_arp_input(struct pg *pg, struct pg_port *pt, struct rte_mbuf *m,
	     uint32_t want_ip, struct rte_ether_addr *learned, bool *got)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	uint32_t sip, tip;

	RTE_SET_USED(pg);
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return false;
	pg_add(&pt->arp_in, 1);
	if (m->data_len < sizeof(*eth) + sizeof(*arp)) {
		rte_pktmbuf_free(m);
		return true;
	}
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	if (want_ip != 0 && sip == want_ip && learned != NULL) {
		rte_ether_addr_copy(&arp->arp_data.arp_sha, learned);
		*got = true;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    !ours(pt, tip)) {
		rte_pktmbuf_free(m);
		return true;
	}
	/* Turn the request into the reply, in place, back to the frame's source. */
	ms_arp_to_reply((uint8_t *)arp, pt->mac.addr_bytes);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&pt->mac, &eth->src_addr);
	pg_ctl_send(pt, m);
	return true;
}

/*
 * Mirror: IPv4 frames go back where they came from with MACs, addresses and
 * UDP ports swapped (the IPv4 checksum does not change). With the same SPI
 * and key installed in both directions, the appliance opens what it sealed.
 */
void
pg_mirror_input(struct pg *pg, uint16_t q, struct rte_mbuf **m, uint16_t n)
{
	struct pg_port *pt = &pg->port[pg->mirror_port];
	struct rte_mbuf *out[PG_BURST * 2];
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m[i], struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint32_t a;

		if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		    m[i]->data_len < RTE_ETHER_HDR_LEN + 28) {
			pg_add(&pt->other_in, 1);
			rte_pktmbuf_free(m[i]);
			continue;
		}
		rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
		rte_ether_addr_copy(&pt->mac, &eth->src_addr);
		a = ip->src_addr;
		ip->src_addr = ip->dst_addr;
		ip->dst_addr = a;
		if (ip->next_proto_id == IPPROTO_UDP && (ip->version_ihl & 0xf) == 5) {
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
			uint16_t p = udp->src_port;

			udp->src_port = udp->dst_port;
			udp->dst_port = p;
		}
		out[k++] = m[i];
	}
	pg_add(&pg->mirrored, k);
	if (k)
		pg_tx_all(pt, q, out, k);
}
