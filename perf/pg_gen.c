/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generator: pages of many flows, round robin, at a set rate or flat out,
 * until a count or a duration. Flow f leaves on queue f % nq (so a
 * receiver with one worker per queue sees its flows spread). What the port
 * does not take is kept and offered again: the generator never drops.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "pg.h"

#define ARP_RETRY_MS 100

struct pg_gen {
	uint64_t *seq;				/* next sequence number per flow */
	uint32_t next_flow[PG_QUEUES_MAX];
	uint32_t lo[PG_QUEUES_MAX], hi[PG_QUEUES_MAX];	/* queue q sends flows [lo, hi) */
	struct rte_mbuf *pend[PG_QUEUES_MAX][PG_BURST];
	uint16_t npend[PG_QUEUES_MAX];
	uint64_t next_arp;
	uint64_t t0, deadline;
	uint64_t sent;
	bool started;
};

int
pg_gen_init(struct pg *pg)
{
	struct pg_gen *g = rte_zmalloc("pg_gen", sizeof(*g), RTE_CACHE_LINE_SIZE);

	if (g == NULL)
		return -ENOMEM;
	g->seq = rte_zmalloc("pg_gen_seq", sizeof(uint64_t) * pg->gen.flows, RTE_CACHE_LINE_SIZE);
	if (g->seq == NULL) {
		rte_free(g);
		return -ENOMEM;
	}
	pg->gs = g;
	return 0;
}

/* After the ports exist: which flows each queue sends. */
void
pg_gen_assign(struct pg *pg)
{
	struct pg_gen *g = pg->gs;
	uint32_t nq = pg->port[pg->gen.port].nq, f = pg->gen.flows;

	for (uint32_t q = 0; q < nq; q++) {
		g->lo[q] = (uint32_t)((uint64_t)f * q / nq);
		g->hi[q] = (uint32_t)((uint64_t)f * (q + 1) / nq);
		g->next_flow[q] = g->lo[q];
	}
}

void
pg_gen_free(struct pg *pg)
{
	if (pg->gs == NULL)
		return;
	for (uint16_t q = 0; q < PG_QUEUES_MAX; q++)
		rte_pktmbuf_free_bulk(pg->gs->pend[q], pg->gs->npend[q]);
	rte_free(pg->gs->seq);
	rte_free(pg->gs);
	pg->gs = NULL;
}

/* Packets the rate allows now (flat out: a burst per queue). */
static uint64_t
budget(struct pg *pg, struct pg_gen *g, uint64_t now)
{
	uint64_t allowed;

	if (pg->gen.pps <= 0)
		allowed = UINT64_MAX;
	else
		allowed = (uint64_t)((double)(now - g->t0) * pg->gen.pps / (double)pg->hz) + 1;
	if (pg->gen.count != 0 && allowed > pg->gen.count)
		allowed = pg->gen.count;
	return allowed > g->sent ? allowed - g->sent : 0;
}

static void
stamp(struct rte_mbuf **m, uint16_t n, uint64_t tsc)
{
	for (uint16_t i = 0; i < n; i++) {
		struct pg_hdr *h = rte_pktmbuf_mtod_offset(m[i], struct pg_hdr *, PG_HDR_OFF);

		h->tsc = tsc;
	}
}

/* Offer q's pending packets to the port; returns how many it took. */
static uint16_t
push(struct pg *pg, struct pg_gen *g, uint16_t q)
{
	struct pg_port *pt = &pg->port[pg->gen.port];
	uint16_t n = g->npend[q], sent;
	uint64_t bytes = 0;

	stamp(g->pend[q], n, rte_rdtsc());
	sent = rte_eth_tx_burst(pt->id, q, g->pend[q], n);
	if (sent < n) {
		pg_add(&pg->gst.tx_retry, 1);
		for (uint16_t i = sent; i < n; i++)
			g->pend[q][i - sent] = g->pend[q][i];
	}
	g->npend[q] = n - sent;
	bytes = (uint64_t)sent * pg->gen.size;
	pg_add(&pg->gst.tx_pkts, sent);
	pg_add(&pg->gst.tx_bytes, bytes);
	return sent;
}

static bool
resolve(struct pg *pg, struct pg_gen *g, uint64_t now)
{
	if (pg->gen.have_dmac)
		return true;
	if (now >= g->next_arp) {
		pg_arp_request(pg, &pg->port[pg->gen.port], pg->gen.src, pg->gen.nexthop);
		g->next_arp = now + pg->hz * ARP_RETRY_MS / 1000;
	}
	return false;
}

static bool
finished(struct pg *pg, struct pg_gen *g, uint64_t now)
{
	for (uint16_t q = 0; q < PG_QUEUES_MAX; q++)
		if (g->npend[q])
			return false;
	return (pg->gen.count != 0 && g->sent >= pg->gen.count) ||
	       (g->deadline != 0 && now >= g->deadline);
}

unsigned int
pg_gen_poll(struct pg *pg)
{
	struct pg_gen *g = pg->gs;
	struct pg_port *pt = &pg->port[pg->gen.port];
	uint64_t now = rte_rdtsc(), room;
	unsigned int moved = 0;

	if (pg->gst.done || !resolve(pg, g, now))
		return 0;
	if (!g->started) {
		g->started = true;
		g->t0 = now;
		g->deadline = pg->gen.duration > 0 ? now + (uint64_t)(pg->gen.duration * pg->hz) : 0;
		__atomic_store_n(&pg->gst.start_tsc, now, __ATOMIC_RELAXED);
	}
	room = (g->deadline != 0 && now >= g->deadline) ? 0 : budget(pg, g, now);
	for (uint16_t q = 0; q < pt->nq; q++) {
		uint16_t want;

		if (g->lo[q] == g->hi[q])
			continue;
		if (g->npend[q] == 0 && room > 0) {
			want = (uint16_t)RTE_MIN(room, (uint64_t)PG_BURST);
			if (rte_pktmbuf_alloc_bulk(pg->pool, g->pend[q], want) != 0) {
				pg_add(&pg->gst.no_mbuf, 1);
				continue;
			}
			for (uint16_t i = 0; i < want; i++) {
				uint32_t f = g->next_flow[q];

				pg_build(g->pend[q][i], &pg->gen, &pt->mac, f, g->seq[f]++);
				g->next_flow[q] = f + 1 < g->hi[q] ? f + 1 : g->lo[q];
			}
			g->npend[q] = want;
			g->sent += want;
			room -= want;
		}
		if (g->npend[q])
			moved += push(pg, g, q);
	}
	if (moved)
		__atomic_store_n(&pg->gst.end_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
	if (finished(pg, g, now))
		__atomic_store_n(&pg->gst.done, 1, __ATOMIC_RELEASE);
	return moved;
}
