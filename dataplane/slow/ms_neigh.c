/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour table's storage (ms_neigh.h): hash chains over a fixed pool,
 * a FIFO of free entries (each reusable once the grace period of its
 * unlinking is over) and the eviction clock. What is learned, asked for and
 * aged is the slow path's decision (ms_arp_nd.c, ms_slow.c).
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "ms_neigh.h"

int
ms_neigh_init(struct ms_neigh *n, uint32_t cap, int socket, struct rte_rcu_qsbr *rcu)
{
	memset(n, 0, sizeof(*n));
	n->cap = rte_align32pow2(cap);
	n->seed = (uint32_t)rte_rand();
	n->rcu = rcu;
	n->e = rte_zmalloc_socket("ms_neigh", sizeof(*n->e) * n->cap, RTE_CACHE_LINE_SIZE, socket);
	n->head = rte_malloc_socket("ms_neigh_head", sizeof(*n->head) * n->cap, 0, socket);
	n->fifo = rte_malloc_socket("ms_neigh_fifo", sizeof(*n->fifo) * n->cap, 0, socket);
	if (n->e == NULL || n->head == NULL || n->fifo == NULL) {
		ms_neigh_free(n);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n->cap; i++) {
		n->head[i] = MS_NEIGH_NONE;
		n->fifo[i] = i;
	}
	n->fifo_len = n->cap;
	return 0;
}

void
ms_neigh_free(struct ms_neigh *n)
{
	for (uint32_t i = 0; n->e != NULL && i < n->cap; i++)
		if (n->e[i].state == MS_NEIGH_LIVE)
			rte_pktmbuf_free_bulk(n->e[i].held, n->e[i].nb_held);
	rte_free(n->e);
	rte_free(n->head);
	rte_free(n->fifo);
	n->e = NULL;
	n->head = n->fifo = NULL;
}

static uint32_t
chain_of(const struct ms_neigh *n, uint8_t port, const struct ms_ip *ip)
{
	uint32_t h = rte_hash_crc_4byte(port, n->seed);
	uint64_t v6[2];

	if (ip->af == MS_AF_INET)
		return rte_hash_crc_4byte(ip->v4, h) & (n->cap - 1);
	/* rte_hash_crc() loads 8 bytes at a time; ip->v6 is only 4-byte aligned. */
	memcpy(v6, ip->v6, sizeof(v6));
	return rte_hash_crc(v6, sizeof(v6), h) & (n->cap - 1);
}

struct ms_neigh_entry *
ms_neigh_lookup(const struct ms_neigh *n, uint8_t port, const struct ms_ip *ip)
{
	uint32_t i = __atomic_load_n(&n->head[chain_of(n, port, ip)], __ATOMIC_ACQUIRE);

	/* Bounded even if a chain were ever corrupt: no chain is longer than the pool. */
	for (uint32_t hops = 0; i != MS_NEIGH_NONE && hops < n->cap; hops++) {
		struct ms_neigh_entry *e = &n->e[i];

		if (e->port == port && ms_ip_eq(&e->ip, ip))
			return e;
		i = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE);
	}
	return NULL;
}

/* Second chance: the first live entry that may go and was not confirmed since the last pass. */
static struct ms_neigh_entry *
clock_victim(struct ms_neigh *n)
{
	for (uint32_t steps = 0; steps < 2 * n->cap; steps++) {
		struct ms_neigh_entry *e = &n->e[n->hand];

		n->hand = (n->hand + 1) & (n->cap - 1);
		if (e->state != MS_NEIGH_LIVE || e->wanted || e->nb_held > 0)
			continue;
		if (e->recent) {
			e->recent = 0;
			continue;
		}
		return e;
	}
	return NULL;
}

void
ms_neigh_evict(struct ms_neigh *n, struct ms_neigh_entry *e)
{
	uint32_t idx = (uint32_t)(e - n->e), *link = &n->head[chain_of(n, e->port, &e->ip)];

	while (*link != idx && *link != MS_NEIGH_NONE)
		link = &n->e[*link].next;
	if (*link == idx)	/* readers already on e still follow e->next */
		__atomic_store_n(link, e->next, __ATOMIC_RELEASE);
	e->state = MS_NEIGH_DEAD;
	e->token = n->rcu != NULL ? rte_rcu_qsbr_start(n->rcu) : 0;
	n->fifo[(n->fifo_head + n->fifo_len++) & (n->cap - 1)] = idx;
	n->count--;
	n->evicted++;
}

/* A free entry, once no reader can still see what it was; NULL if none can be had. */
static struct ms_neigh_entry *
take_free(struct ms_neigh *n)
{
	struct ms_neigh_entry *e, *victim;

	if (n->fifo_len == 0) {
		victim = clock_victim(n);
		if (victim == NULL)
			return NULL;
		ms_neigh_evict(n, victim);
	}
	e = &n->e[n->fifo[n->fifo_head]];
	n->fifo_head = (n->fifo_head + 1) & (n->cap - 1);
	n->fifo_len--;
	/* Usually long over: workers report a quiescent state every loop. */
	if (e->state == MS_NEIGH_DEAD && n->rcu != NULL)
		rte_rcu_qsbr_check(n->rcu, e->token, true);
	return e;
}

struct ms_neigh_entry *
ms_neigh_get(struct ms_neigh *n, uint8_t port, const struct ms_ip *ip)
{
	struct ms_neigh_entry *e = ms_neigh_lookup(n, port, ip);
	uint32_t c;

	if (e != NULL)
		return e;
	e = take_free(n);
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->ip = *ip;
	e->port = port;
	e->state = MS_NEIGH_LIVE;
	e->recent = 1;
	c = chain_of(n, port, ip);
	e->next = n->head[c];
	__atomic_store_n(&n->head[c], (uint32_t)(e - n->e), __ATOMIC_RELEASE);
	n->count++;
	return e;
}

void
ms_neigh_set_mac(struct ms_neigh_entry *e, const struct rte_ether_addr *mac)
{
	uint64_t v = 0;

	memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	__atomic_store_n(&e->mac, v | MS_NEIGH_VALID, __ATOMIC_RELEASE);
}
