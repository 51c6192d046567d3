/* SPDX-License-Identifier: BSD-3-Clause */
/* TCP MSS clamping, so that sealed segments fit the outer MTU without ICMP. */
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>

#include "ms_path.h"

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), values as stored in memory. */
static uint16_t
csum_replace(uint16_t csum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~csum + (uint32_t)(uint16_t)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

bool
ms_mss_clamp(uint8_t *l3, uint32_t len, uint32_t l4off, uint16_t mss_max)
{
	uint8_t proto, *tcp;
	uint32_t doff, o;

	if ((l3[0] >> 4) == 4)
		proto = l3[9];
	else
		proto = l4off == 40 ? l3[6] : 0;	/* extension headers: leave alone */
	if (proto != IPPROTO_TCP || l4off + 20 > len)
		return false;
	tcp = l3 + l4off;
	if (!(tcp[13] & 0x02))	/* SYN */
		return false;
	doff = (uint32_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || l4off + doff > len)
		return false;
	for (o = 20; o < doff;) {
		uint8_t kind = tcp[o], olen;
		uint16_t old, new, csum;

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= doff)
			break;
		olen = tcp[o + 1];
		if (olen < 2 || o + olen > doff)
			break;
		if (kind != 2 || olen != 4) {
			o += olen;
			continue;
		}
		if (((uint32_t)tcp[o + 2] << 8 | tcp[o + 3]) <= mss_max)
			return false;
		memcpy(&old, tcp + o + 2, 2);
		new = rte_cpu_to_be_16(mss_max);
		memcpy(tcp + o + 2, &new, 2);
		memcpy(&csum, tcp + 16, 2);
		if ((o + 2) & 1) {	/* field straddles checksum words */
			old = rte_bswap16(old);
			new = rte_bswap16(new);
		}
		csum = csum_replace(csum, old, new);
		memcpy(tcp + 16, &csum, 2);
		return true;
	}
	return false;
}
