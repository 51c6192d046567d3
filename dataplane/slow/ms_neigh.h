/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_NEIGH_H
#define MS_NEIGH_H

/*
 * Neighbour table (ARP / IPv6 ND results) for both ports.
 *
 * Single writer: only the control thread creates entries and stores MACs.
 * Workers look entries up and read the MAC with one atomic load; entries
 * are never freed while the process runs, so a pointer to one stays valid.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "ms_addr.h"

#define MS_NEIGH_VALID (1ULL << 63)
#define MS_NEIGH_HOLD 16	/* packets held per unresolved neighbour */

struct ms_neigh_entry {
	uint64_t mac;		/* MS_NEIGH_VALID | MAC bytes 0..5 in memory order */
	struct ms_ip ip;	/* immutable once used is set */
	uint8_t port;
	uint8_t used;		/* published with release */
	/* Control thread only: */
	uint8_t nb_held;
	uint8_t tries;
	uint8_t wanted;		/* an SA's next hop: keep resolving */
	uint64_t last_req;	/* rte_get_timer_cycles() of the last request */
	struct rte_mbuf *held[MS_NEIGH_HOLD];
};

struct ms_neigh {
	uint32_t cap;		/* power of two */
	uint32_t count;
	struct ms_neigh_entry *e;
};

int ms_neigh_init(struct ms_neigh *n, uint32_t cap, int socket);
void ms_neigh_free(struct ms_neigh *n);

/* Any thread. NULL if absent. */
struct ms_neigh_entry *ms_neigh_lookup(const struct ms_neigh *n, uint8_t port,
				       const struct ms_ip *ip);
/* Control thread only: find or create (unresolved). NULL if the table is full. */
struct ms_neigh_entry *ms_neigh_get(struct ms_neigh *n, uint8_t port, const struct ms_ip *ip);
/* Control thread only: store a resolved MAC. */
void ms_neigh_set_mac(struct ms_neigh_entry *e, const struct rte_ether_addr *mac);

/* Fast path: copy the MAC into dst if resolved. */
static inline bool
ms_neigh_mac(const struct ms_neigh_entry *e, struct rte_ether_addr *dst)
{
	uint64_t v;

	if (e == NULL)
		return false;
	v = __atomic_load_n(&e->mac, __ATOMIC_ACQUIRE);
	if (!(v & MS_NEIGH_VALID))
		return false;
	memcpy(dst->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
	return true;
}

#endif
