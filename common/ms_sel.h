/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SEL_H
#define MS_SEL_H

/*
 * Flow selectors (RFC 4301 style: addresses, protocol, port ranges) and the
 * flow key that is extracted from a packet to match them.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ms_addr.h"

struct ms_sel {
	struct ms_prefix src;
	struct ms_prefix dst;
	uint8_t proto;		/* 0: any protocol */
	uint8_t pad;
	uint16_t sport_lo;	/* host order, inclusive */
	uint16_t sport_hi;
	uint16_t dport_lo;
	uint16_t dport_hi;
	uint16_t pad2;
};

/*
 * Flow key. The layout is what rte_acl reads (see ms_spd.c): the first field
 * is one byte, then groups of four bytes. Addresses and ports are in network
 * order, as on the wire.
 */
struct ms_key4 {
	uint8_t proto;
	uint8_t pad[3];
	uint32_t src;
	uint32_t dst;
	uint16_t sport;
	uint16_t dport;
};

struct ms_key6 {
	uint8_t proto;
	uint8_t pad[3];
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
};

struct ms_key {
	union {
		struct ms_key4 v4;
		struct ms_key6 v6;
	};
	uint8_t af;		/* MS_AF_INET / MS_AF_INET6 */
};

/*
 * Extract the flow key of an IP packet starting at l3 (len bytes available).
 * Walks IPv4 options and a bounded chain of IPv6 extension headers.
 * Returns the L4 offset (>= 20) on success, -1 if the packet is malformed.
 * Non-first fragments get ports 0.
 */
int ms_key_extract(const uint8_t *l3, uint32_t len, struct ms_key *k);

/* Does the selector match the key? (The naive reference matcher.) */
bool ms_sel_match(const struct ms_sel *s, const struct ms_key *k);

/* The selector that matches the traffic s matches, seen from the other side. */
void ms_sel_mirror(const struct ms_sel *s, struct ms_sel *m);

/*
 * Parse "src=PFX,dst=PFX[,proto=tcp|udp|icmp|icmp6|any|N][,sport=A[-B]][,dport=A[-B]]".
 * Returns 0, or -EINVAL with a message in err.
 */
int ms_sel_parse(const char *s, struct ms_sel *sel, char *err, unsigned int errlen);
/* Render as the text ms_sel_parse() accepts. */
const char *ms_sel_str(const struct ms_sel *sel, char *buf, unsigned int len);
/* 0 if consistent (same family, ranges ordered), else -EINVAL + message. */
int ms_sel_check(const struct ms_sel *sel, char *err, unsigned int errlen);

#endif
