/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The one poll loop: receive on every port (ARP answered, the rest to the
 * port's role), generate, impair. Loops that moved packets count their
 * cycles as busy. No syscalls, no allocation besides mempools, no logs.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "pg.h"

static void
dispatch(struct pg *pg, unsigned int p, uint16_t q, struct rte_mbuf **m, uint16_t n, uint64_t now)
{
	struct pg_port *pt = &pg->port[p];
	struct rte_mbuf *rest[PG_BURST];
	bool gen_here = pg->gen.port == (int)p;
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		uint32_t want = gen_here && !pg->gen.have_dmac ? pg->gen.nexthop : 0;

		if (!pg_arp_input(pg, pt, m[i], want, &pg->gen.dmac, &pg->gen.have_dmac))
			rest[k++] = m[i];
	}
	if (k == 0)
		return;
	if (pg->sink_port == (int)p) {
		pg_sink_input(pg, rest, k, now);
	} else if (pg->mirror_port == (int)p) {
		pg_mirror_input(pg, q, rest, k);
	} else {
		pg_add(&pt->other_in, k);
		rte_pktmbuf_free_bulk(rest, k);
	}
}

int
pg_loop(void *arg)
{
	struct pg *pg = arg;

	while (!__atomic_load_n(&pg->stop, __ATOMIC_RELAXED)) {
		uint64_t t0 = rte_rdtsc();
		unsigned int moved = 0;

		for (unsigned int p = 0; p < pg->nb_ports; p++) {
			struct pg_port *pt = &pg->port[p];

			if ((int)p == pg->imp.a || (int)p == pg->imp.b)
				continue;
			pg_ctl_flush(pt);
			for (uint16_t q = 0; q < pt->nq; q++) {
				struct rte_mbuf *m[PG_BURST];
				uint16_t n = rte_eth_rx_burst(pt->id, q, m, PG_BURST);

				if (n) {
					dispatch(pg, p, q, m, n, rte_rdtsc());
					moved += n;
				}
			}
		}
		if (pg->gen.port >= 0)
			moved += pg_gen_poll(pg);
		if (pg->imp.a >= 0)
			moved += pg_impair_poll(pg);
		if (moved) {
			pg_add(&pg->loops_busy, 1);
			pg_add(&pg->busy_cycles, rte_rdtsc() - t0);
		}
	}
	if (pg->imp.a >= 0)
		pg_impair_flush(pg);
	return 0;
}
