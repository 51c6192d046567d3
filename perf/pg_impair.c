/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Impairer: a wire between ports a and b that drops, corrupts, duplicates,
 * reorders, replays and delays IPv4 frames at set rates, from a seed, so a
 * run can be repeated exactly (for one arrival order). Other frames (ARP)
 * pass untouched. Copies come from the mempool; nothing else is allocated.
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "pg.h"

#define HELD_MAX 1024		/* reordered / replayed frames waiting, per direction */
#define DELAY_MAX 16384		/* frames in the delay line, per direction */
#define HELD_MAX_MS 10		/* a held frame leaves after this even without traffic */
#define MILLION 1000000u

struct held {
	struct rte_mbuf *m;
	uint64_t after;		/* leave once this many frames went out */
	uint64_t until;		/* ... or at this TSC */
};

struct dir {
	uint16_t out_port;	/* index into pg->port */
	uint64_t sent;		/* frames passed on in this direction */
	unsigned int nb_held;
	struct held held[HELD_MAX];
	unsigned int dhead, dtail;	/* delay line: FIFO of (m, release TSC) */
	struct rte_mbuf *dm[DELAY_MAX];
	uint64_t dt[DELAY_MAX];
	struct rte_mbuf *out[PG_BURST * 4];
	uint16_t nout;
};

struct pg_impair {
	uint64_t rng;
	struct dir d[2];	/* 0: a -> b, 1: b -> a */
};

int
pg_impair_init(struct pg *pg)
{
	struct pg_impair *im = rte_zmalloc("pg_impair", sizeof(*im), RTE_CACHE_LINE_SIZE);

	if (im == NULL)
		return -ENOMEM;
	im->rng = pg->imp.seed ? pg->imp.seed : 1;
	im->d[0].out_port = (uint16_t)pg->imp.b;
	im->d[1].out_port = (uint16_t)pg->imp.a;
	pg->is = im;
	return 0;
}

static void
flush_out(struct pg *pg, struct dir *d)
{
	if (d->nout == 0)
		return;
	pg_tx_all(&pg->port[d->out_port], 0, d->out, d->nout);
	pg_add(&pg->ist.fwd, d->nout);
	d->sent += d->nout;
	d->nout = 0;
}

/* Pass a frame on now (through the delay line if there is one). */
static void
emit(struct pg *pg, struct dir *d, struct rte_mbuf *m, uint64_t now)
{
	if (pg->imp.delay_us != 0) {
		if (d->dtail - d->dhead < DELAY_MAX) {
			d->dm[d->dtail % DELAY_MAX] = m;
			d->dt[d->dtail % DELAY_MAX] = now + pg->hz * pg->imp.delay_us / 1000000;
			d->dtail++;
			pg_add(&pg->ist.delayed, 1);
			return;
		}
		pg_add(&pg->ist.overflow, 1);
	}
	if (d->nout == RTE_DIM(d->out))
		flush_out(pg, d);
	d->out[d->nout++] = m;
}

static void
hold(struct pg *pg, struct dir *d, struct rte_mbuf *m, uint32_t gap, uint64_t now)
{
	if (d->nb_held == HELD_MAX) {
		pg_add(&pg->ist.overflow, 1);
		emit(pg, d, m, now);
		return;
	}
	d->held[d->nb_held].m = m;
	d->held[d->nb_held].after = d->sent + d->nout + gap;
	d->held[d->nb_held].until = now + pg->hz * HELD_MAX_MS / 1000;
	d->nb_held++;
}

static void
release(struct pg *pg, struct dir *d, uint64_t now, bool all)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < d->nb_held; i++) {
		struct held *h = &d->held[i];

		if (all || d->sent + d->nout >= h->after || now >= h->until)
			emit(pg, d, h->m, now);
		else
			d->held[k++] = *h;
	}
	d->nb_held = k;
	while (d->dhead != d->dtail && (all || d->dt[d->dhead % DELAY_MAX] <= now)) {
		if (d->nout == RTE_DIM(d->out))
			flush_out(pg, d);
		d->out[d->nout++] = d->dm[d->dhead % DELAY_MAX];
		d->dhead++;
	}
}

static inline bool
chance(struct pg_impair *im, uint32_t per_million)
{
	return per_million != 0 && pg_rand(&im->rng) % MILLION < per_million;
}

static void
impair_one(struct pg *pg, struct dir *d, struct rte_mbuf *m, uint64_t now)
{
	struct pg_impair *im = pg->is;
	const struct pg_impair_conf *c = &pg->imp;
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	struct rte_mbuf *copy;

	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || m->data_len <= RTE_ETHER_HDR_LEN) {
		emit(pg, d, m, now);
		return;
	}
	if (chance(im, c->drop)) {
		pg_add(&pg->ist.dropped, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (chance(im, c->corrupt)) {
		uint32_t off = RTE_ETHER_HDR_LEN +
			(uint32_t)(pg_rand(&im->rng) % (m->data_len - RTE_ETHER_HDR_LEN));
		uint8_t x = (uint8_t)(pg_rand(&im->rng) % 255 + 1);

		*rte_pktmbuf_mtod_offset(m, uint8_t *, off) ^= x;
		pg_add(&pg->ist.corrupted, 1);
	}
	if (chance(im, c->dup)) {
		copy = rte_pktmbuf_copy(m, pg->pool, 0, UINT32_MAX);
		if (copy != NULL) {
			pg_add(&pg->ist.duplicated, 1);
			emit(pg, d, copy, now);
		}
	}
	if (chance(im, c->replay)) {
		copy = rte_pktmbuf_copy(m, pg->pool, 0, UINT32_MAX);
		if (copy != NULL) {
			pg_add(&pg->ist.replayed, 1);
			hold(pg, d, copy, c->replay_gap, now);
		}
	}
	if (chance(im, c->reorder)) {
		pg_add(&pg->ist.reordered, 1);
		hold(pg, d, m, c->reorder_gap, now);
		return;
	}
	emit(pg, d, m, now);
}

unsigned int
pg_impair_poll(struct pg *pg)
{
	struct pg_impair *im = pg->is;
	unsigned int moved = 0;
	uint64_t now = rte_rdtsc();

	for (int side = 0; side < 2; side++) {
		struct pg_port *in = &pg->port[side == 0 ? pg->imp.a : pg->imp.b];
		struct dir *d = &im->d[side];
		struct rte_mbuf *m[PG_BURST];

		for (uint16_t q = 0; q < in->nq; q++) {
			uint16_t n = rte_eth_rx_burst(in->id, q, m, PG_BURST);

			for (uint16_t i = 0; i < n; i++)
				impair_one(pg, d, m[i], now);
			moved += n;
		}
		release(pg, d, now, false);
		flush_out(pg, d);
	}
	return moved;
}

/* At the end: everything held or delayed goes out. */
void
pg_impair_flush(struct pg *pg)
{
	for (int side = 0; side < 2; side++) {
		release(pg, &pg->is->d[side], rte_rdtsc(), true);
		flush_out(pg, &pg->is->d[side]);
	}
}
