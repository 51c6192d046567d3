/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SLOW_H
#define MS_SLOW_H

/* Slow path (ARP, ND, held packets, ICMP errors). Control thread only. */
#include "ms_dp.h"

struct ms_slow {
	struct ms_dp *dp;
	uint64_t icmp_tokens;
	uint64_t icmp_last;
	uint64_t req_tokens[MS_PORT_MAX];	/* ARP/ND requests from unknown hosts */
	uint64_t req_last[MS_PORT_MAX];
};

void ms_slow_init(struct ms_slow *s, struct ms_dp *dp);
/* Handle what the workers queued; returns how many packets. */
unsigned int ms_slow_poll(struct ms_slow *s);
/* Retry resolutions, give up on held packets after a few tries. */
void ms_slow_tick(struct ms_slow *s);
/* ms_nexthop_fn for the SA database: the outer next hop for peer, resolving. */
struct ms_neigh_entry *ms_slow_nexthop(void *dp, const struct ms_ip *peer);

#endif
