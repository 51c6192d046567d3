/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_ROUTE_H
#define MS_ROUTE_H

/*
 * Where a worker sends what it does not seal, decided when a snapshot is
 * built (control thread) and read by workers from it:
 *  - struct ms_hop: a port's own prefixes and gateways, for the next hop
 *    towards an address (itself when on-link, else the gateway);
 *  - struct ms_remotes: the configured remote prefixes (hosts behind a peer
 *    appliance) as sorted spans that cover the address space, each with the
 *    first remote, in configuration order, whose prefix holds it: the
 *    answer of a linear scan of the list, computed once per snapshot. A
 *    lookup is a binary search. The unit tests check it against the scan.
 * No DPDK, no allocation.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ms_addr.h"

#define MS_ROUTE_MAX 64			/* remote prefixes */
#define MS_SPANS_MAX (2 * MS_ROUTE_MAX + 1)

/* A port's next-hop inputs. */
struct ms_hop {
	struct ms_prefix own4, own6;	/* own address and on-link prefix (af 0: none) */
	struct ms_ip gw4, gw6;		/* next hop for off-link addresses (af 0: none) */
};

/* A remote prefix as configured: hosts behind the peer appliance at via. */
struct ms_remote {
	struct ms_prefix prefix;
	struct ms_ip via;
};

/* An address as a 128-bit number (IPv4: the low 32 bits). */
struct ms_u128 {
	uint64_t hi, lo;
};

#define MS_SPAN_NONE UINT8_MAX		/* a span no remote prefix holds */

/*
 * Per family ([0] IPv4, [1] IPv6): span s covers first[s] up to
 * first[s + 1] - 1 (the last one to the end); first[0] is 0. nh[to[s]] is
 * the next hop towards the remote's appliance, af MS_AF_NONE if it has none.
 */
struct ms_remotes {
	uint16_t nb[2];
	uint8_t to[2][MS_SPANS_MAX];
	struct ms_u128 first[2][MS_SPANS_MAX];
	struct ms_ip nh[MS_ROUTE_MAX];
};

/* The next hop towards dst: dst itself if on-link, else the gateway. */
static inline bool
ms_hop_next(const struct ms_hop *h, const struct ms_ip *dst, struct ms_ip *nh)
{
	const struct ms_prefix *own = dst->af == MS_AF_INET ? &h->own4 : &h->own6;
	const struct ms_ip *gw = dst->af == MS_AF_INET ? &h->gw4 : &h->gw6;

	if (own->ip.af == dst->af && ms_prefix_has(own, dst)) {
		*nh = *dst;
		return true;
	}
	if (gw->af == dst->af) {
		*nh = *gw;
		return true;
	}
	return false;
}

/*
 * Build r from the n remotes of list (n <= MS_ROUTE_MAX), their next hops
 * through the outer port's hop. 0, or -EINVAL with a message.
 */
int ms_remotes_build(struct ms_remotes *r, const struct ms_remote *list, unsigned int n,
		     const struct ms_hop *outer, char *err, unsigned int errlen);

/* The next hop for dst (IPv4 or IPv6), or NULL: no remote, or no next hop. */
const struct ms_ip *ms_remotes_find(const struct ms_remotes *r, const struct ms_ip *dst);

#endif
