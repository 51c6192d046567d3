/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "ms_neigh.h"

int
ms_neigh_init(struct ms_neigh *n, uint32_t cap, int socket)
{
	n->cap = rte_align32pow2(cap);
	n->count = 0;
	n->e = rte_zmalloc_socket("ms_neigh", sizeof(*n->e) * n->cap, RTE_CACHE_LINE_SIZE, socket);
	return n->e == NULL ? -ENOMEM : 0;
}

void
ms_neigh_free(struct ms_neigh *n)
{
	if (n->e == NULL)
		return;
	for (uint32_t i = 0; i < n->cap; i++)
		rte_pktmbuf_free_bulk(n->e[i].held, n->e[i].nb_held);
	rte_free(n->e);
	n->e = NULL;
}

static uint32_t
hash_of(uint8_t port, const struct ms_ip *ip)
{
	uint32_t h = rte_hash_crc_4byte(port, 0x9e3779b9);
	uint64_t v6[2];

	if (ip->af == MS_AF_INET)
		return rte_hash_crc_4byte(ip->v4, h);
	/* rte_hash_crc() loads 8 bytes at a time; ip->v6 is only 4-byte aligned. */
	memcpy(v6, ip->v6, sizeof(v6));
	return rte_hash_crc(v6, sizeof(v6), h);
}

static bool
entry_is(const struct ms_neigh_entry *e, uint8_t port, const struct ms_ip *ip)
{
	return e->port == port && ms_ip_eq(&e->ip, ip);
}

struct ms_neigh_entry *
ms_neigh_lookup(const struct ms_neigh *n, uint8_t port, const struct ms_ip *ip)
{
	uint32_t mask = n->cap - 1, i = hash_of(port, ip) & mask;

	for (uint32_t probes = 0; probes < n->cap; probes++, i = (i + 1) & mask) {
		struct ms_neigh_entry *e = &n->e[i];

		if (!__atomic_load_n(&e->used, __ATOMIC_ACQUIRE))
			return NULL;
		if (entry_is(e, port, ip))
			return e;
	}
	return NULL;
}

struct ms_neigh_entry *
ms_neigh_get(struct ms_neigh *n, uint8_t port, const struct ms_ip *ip)
{
	uint32_t mask = n->cap - 1, i = hash_of(port, ip) & mask;

	/* Keep the table at most 3/4 full so probes stay short. */
	for (uint32_t probes = 0; probes < n->cap; probes++, i = (i + 1) & mask) {
		struct ms_neigh_entry *e = &n->e[i];

		if (__atomic_load_n(&e->used, __ATOMIC_RELAXED)) {
			if (entry_is(e, port, ip))
				return e;
			continue;
		}
		if (n->count >= n->cap / 4 * 3)
			return NULL;
		e->ip = *ip;
		e->port = port;
		e->mac = 0;
		__atomic_store_n(&e->used, 1, __ATOMIC_RELEASE);
		n->count++;
		return e;
	}
	return NULL;
}

void
ms_neigh_set_mac(struct ms_neigh_entry *e, const struct rte_ether_addr *mac)
{
	uint64_t v = 0;

	memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	__atomic_store_n(&e->mac, v | MS_NEIGH_VALID, __ATOMIC_RELEASE);
}
