/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_ARP_H
#define MS_ARP_H

/*
 * Ethernet + ARP (IPv4 over Ethernet) frames, byte by byte and without DPDK
 * types, for the data plane's slow path and for migsec-pktgen, which both
 * ask for and answer MAC addresses the same way. Addresses are in network
 * order, MACs 6 bytes.
 */
#include <stddef.h>
#include <stdint.h>

#define MS_ARP_ETH_LEN 14	/* the Ethernet header before the ARP message */
#define MS_ARP_LEN 28		/* the ARP message for IPv4 over Ethernet */
#define MS_ARP_FRAME_LEN (MS_ARP_ETH_LEN + MS_ARP_LEN)

/*
 * Fill frame (len bytes) with a broadcast request from smac/sip for tip.
 * Returns the frame's length, MS_ARP_FRAME_LEN, or 0 if len is too short.
 */
size_t ms_arp_request(uint8_t *frame, size_t len, const uint8_t smac[6], uint32_t sip,
		      uint32_t tip);

/*
 * Turn the ARP message of a request (arp: MS_ARP_LEN bytes after the Ethernet
 * header) into the reply from mac: the target becomes the sender and the
 * sender the target. The Ethernet header is the caller's to rewrite.
 */
void ms_arp_to_reply(uint8_t *arp, const uint8_t mac[6]);

#endif
