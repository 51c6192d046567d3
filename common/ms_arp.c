/* SPDX-License-Identifier: BSD-3-Clause */
/* ARP requests and replies as bytes (RFC 826), shared by the data plane and migsec-pktgen. */
#include <string.h>

#include "ms_arp.h"

/* Offsets in the ARP message. */
#define HTYPE 0
#define PTYPE 2
#define HLEN 4
#define PLEN 5
#define OPER 6
#define SHA 8
#define SPA 14
#define THA 18
#define TPA 24

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t
ms_arp_request(uint8_t *frame, size_t len, const uint8_t smac[6], uint32_t sip, uint32_t tip)
{
	uint8_t *arp = frame + MS_ARP_ETH_LEN;

	if (len < MS_ARP_FRAME_LEN)
		return 0;
	memset(frame, 0, MS_ARP_FRAME_LEN);
	memset(frame, 0xff, 6);			/* broadcast */
	memcpy(frame + 6, smac, 6);
	put16(frame + 12, 0x0806);		/* ARP */
	put16(arp + HTYPE, 1);			/* Ethernet */
	put16(arp + PTYPE, 0x0800);		/* IPv4 */
	arp[HLEN] = 6;
	arp[PLEN] = 4;
	put16(arp + OPER, 1);			/* request */
	memcpy(arp + SHA, smac, 6);
	memcpy(arp + SPA, &sip, 4);
	memcpy(arp + TPA, &tip, 4);		/* target MAC stays zero */
	return MS_ARP_FRAME_LEN;
}

void
ms_arp_to_reply(uint8_t *arp, const uint8_t mac[6])
{
	uint8_t spa[4];

	memcpy(spa, arp + SPA, 4);
	put16(arp + OPER, 2);			/* reply */
	memcpy(arp + THA, arp + SHA, 6);
	memcpy(arp + SPA, arp + TPA, 4);
	memcpy(arp + TPA, spa, 4);
	memcpy(arp + SHA, mac, 6);
}
