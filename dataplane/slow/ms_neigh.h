/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_NEIGH_H
#define MS_NEIGH_H

/*
 * Neighbour table (ARP / IPv6 ND results) for both ports: a fixed pool of
 * entries in hash chains, so its size is bounded whatever the links send.
 *
 * Single writer: only the control thread creates, changes and evicts
 * entries. Workers look entries up (walking a chain with acquire loads) and
 * read the MAC with one atomic load. An evicted entry is unlinked at once
 * and reused only after an RCU grace period (the workers' rte_rcu_qsbr), so
 * a worker that was reading it never sees it change under it. An entry an
 * SA points to (an outbound next hop: "wanted") is never evicted.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ms_addr.h"

#define MS_NEIGH_VALID (1ULL << 63)
#define MS_NEIGH_HOLD 16	/* packets held per unresolved neighbour */
#define MS_NEIGH_NONE UINT32_MAX

enum ms_neigh_state { MS_NEIGH_FREE = 0, MS_NEIGH_LIVE, MS_NEIGH_DEAD };

struct ms_neigh_entry {
	uint64_t mac;		/* MS_NEIGH_VALID | MAC bytes 0..5 in memory order */
	struct ms_ip ip;	/* immutable while linked */
	uint8_t port;
	uint32_t next;		/* chain: index of the next entry (atomic for readers) */
	/* Control thread only: */
	uint8_t state;		/* enum ms_neigh_state */
	uint8_t nb_held;
	uint8_t tries;		/* requests unanswered in a row */
	uint8_t wanted;		/* an SA's next hop: kept resolved, never evicted */
	uint8_t asked;		/* our request is unanswered: an answer may set the MAC */
	uint8_t recent;		/* eviction clock: confirmed since the hand passed */
	uint64_t last_req;	/* rte_get_timer_cycles() of the last request */
	uint64_t confirmed;	/* ... of the last answer to one of our requests */
	uint64_t token;		/* DEAD/FREE: RCU token of its unlinking */
	struct rte_mbuf *held[MS_NEIGH_HOLD];
};

struct ms_neigh {
	uint32_t cap;		/* entries and chains, a power of two */
	uint32_t count;		/* live entries */
	uint32_t seed;		/* hash seed, random: chains cannot be aimed at */
	uint32_t hand;		/* eviction clock */
	uint32_t *head;		/* [cap] first entry of each chain (atomic for readers) */
	struct ms_neigh_entry *e;
	uint32_t *fifo;		/* [cap] free entries, oldest unlinking first */
	uint32_t fifo_head, fifo_len;
	struct rte_rcu_qsbr *rcu;	/* the workers' (NULL: no concurrent readers) */
	uint64_t evicted;	/* evictions so far; the slow path counts them */
	uint64_t evicted_counted;
};

int ms_neigh_init(struct ms_neigh *n, uint32_t cap, int socket, struct rte_rcu_qsbr *rcu);
void ms_neigh_free(struct ms_neigh *n);

/* Any thread. NULL if absent. */
struct ms_neigh_entry *ms_neigh_lookup(const struct ms_neigh *n, uint8_t port,
				       const struct ms_ip *ip);
/*
 * Control thread only: find or create (unresolved, recent). When every entry
 * is live, the clock evicts one that is neither wanted nor holding packets
 * and was not confirmed since the hand last passed. NULL: none could go.
 */
struct ms_neigh_entry *ms_neigh_get(struct ms_neigh *n, uint8_t port, const struct ms_ip *ip);
/* Control thread only: unlink e (it must hold no packets); reused after a grace period. */
void ms_neigh_evict(struct ms_neigh *n, struct ms_neigh_entry *e);
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
