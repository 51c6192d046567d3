/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sink: every page is checked byte by byte against the pattern of its
 * (flow, page); per flow, a window of the last WIN sequence numbers tells
 * first arrivals from duplicates and late (reordered) ones. Loss is what
 * the highest sequence numbers promise minus what arrived once.
 */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "pg.h"

#define WIN 2048u
#define WORDS (WIN / 64)

struct flow_win {
	uint64_t top;			/* highest sequence seen + 1 */
	uint64_t bits[WORDS];		/* seq % WIN seen, for seq in [top - WIN, top) */
};

struct pg_sink {
	uint32_t flows;
	struct flow_win f[];
};

int
pg_sink_init(struct pg *pg)
{
	size_t sz = sizeof(struct pg_sink) + sizeof(struct flow_win) * pg->sink_flows;

	pg->ss = rte_zmalloc("pg_sink", sz, RTE_CACHE_LINE_SIZE);
	pg->hist = pg_hist_create();
	if (pg->ss == NULL || pg->hist == NULL)
		return -ENOMEM;
	pg->ss->flows = pg->sink_flows;
	return 0;
}

static inline bool
test_set(struct flow_win *w, uint64_t seq)
{
	uint64_t *word = &w->bits[(seq % WIN) / 64], bit = 1ULL << (seq % 64);
	bool was = (*word & bit) != 0;

	*word |= bit;
	return was;
}

/* Classify one arrival of (flow, seq). */
static void
track(struct pg *pg, struct flow_win *w, uint64_t seq)
{
	struct pg_sink_stats *st = &pg->sst;

	if (seq >= w->top) {
		uint64_t gap = seq - w->top;

		if (gap >= WIN) {
			memset(w->bits, 0, sizeof(w->bits));
		} else {
			for (uint64_t s = w->top; s < seq; s++)
				w->bits[(s % WIN) / 64] &= ~(1ULL << (s % 64));
		}
		w->bits[(seq % WIN) / 64] |= 1ULL << (seq % 64);
		pg_add(&st->expected, seq + 1 - w->top);
		w->top = seq + 1;
		pg_add(&st->unique, 1);
		return;
	}
	if (w->top - seq > WIN) {
		pg_add(&st->late, 1);
		return;
	}
	if (test_set(w, seq)) {
		pg_add(&st->dup, 1);
		return;
	}
	pg_add(&st->reordered, 1);
	pg_add(&st->unique, 1);
}

void
pg_sink_input(struct pg *pg, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	struct pg_sink_stats *st = &pg->sst;
	uint64_t pkts = 0, bytes = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t iplen;
		const struct pg_hdr *h = pg_parse(m[i], &iplen);

		if (h == NULL) {
			const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m[i], struct rte_ether_hdr *);

			if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
				pg_add(&st->corrupt, 1);
			else
				pg_add(&st->not_ours, 1);
			continue;
		}
		if (h->flow >= pg->ss->flows ||
		    !pg_check((const uint8_t *)(h + 1), h->len, h->flow, h->page)) {
			pg_add(&st->corrupt, 1);
			continue;
		}
		pkts++;
		bytes += iplen;
		if (h->tsc != 0 && h->tsc <= now)
			pg_hist_add(pg->hist, now - h->tsc);
		track(pg, &pg->ss->f[h->flow], h->seq);
	}
	rte_pktmbuf_free_bulk(m, n);
	if (pkts == 0)
		return;
	if (pg_get(&st->first_tsc) == 0)
		__atomic_store_n(&st->first_tsc, now, __ATOMIC_RELAXED);
	__atomic_store_n(&st->last_tsc, now, __ATOMIC_RELAXED);
	pg_add(&st->rx_pkts, pkts);
	pg_add(&st->rx_bytes, bytes);
}
