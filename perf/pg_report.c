/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reporting, on the main lcore: reads the worker's single-writer counters
 * with relaxed loads, once per interval, and at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pg_report.h"

#define CSV_HEADER "t_s,tx_pkts,tx_gbps,rx_pkts,rx_gbps,unique,lost,dup,reordered,late," \
		   "corrupt,p50_us,p99_us,p999_us,impair_fwd,impair_dropped,impair_corrupted," \
		   "impair_duplicated,impair_reordered,impair_replayed,impair_delayed\n"

int
pg_report_open(struct pg_report *r, const char *csv_path)
{
	memset(r, 0, sizeof(*r));
	r->snap = pg_hist_create();
	if (r->snap == NULL)
		return -ENOMEM;
	if (csv_path[0]) {
		r->csv = fopen(csv_path, "w");
		if (r->csv == NULL)
			return -errno;
		fputs(CSV_HEADER, r->csv);
	}
	return 0;
}

void
pg_report_close(struct pg_report *r)
{
	if (r->csv)
		fclose(r->csv);
	pg_hist_free(r->snap);
}

static double
us(const struct pg *pg, uint64_t cycles)
{
	return (double)cycles * 1e6 / (double)pg->hz;
}

static uint64_t
lost(const struct pg *pg)
{
	uint64_t e = pg_get(&pg->sst.expected), u = pg_get(&pg->sst.unique);

	return e > u ? e - u : 0;
}

static void
csv_row(struct pg_report *r, const struct pg *pg, const char *t, uint64_t txp, double txg,
	uint64_t rxp, double rxg)
{
	const struct pg_sink_stats *s = &pg->sst;
	const struct pg_impair_stats *i = &pg->ist;

	if (r->csv == NULL)
		return;
	fprintf(r->csv, "%s,%" PRIu64 ",%.3f,%" PRIu64 ",%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.2f,%.2f,%.2f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
		",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", t, txp, txg, rxp, rxg,
		pg_get(&s->unique), lost(pg), pg_get(&s->dup), pg_get(&s->reordered),
		pg_get(&s->late), pg_get(&s->corrupt),
		us(pg, pg_hist_quantile(r->snap, 0.5)), us(pg, pg_hist_quantile(r->snap, 0.99)),
		us(pg, pg_hist_quantile(r->snap, 0.999)), pg_get(&i->fwd), pg_get(&i->dropped),
		pg_get(&i->corrupted), pg_get(&i->duplicated), pg_get(&i->reordered),
		pg_get(&i->replayed), pg_get(&i->delayed));
	fflush(r->csv);
}

void
pg_report_tick(struct pg_report *r, const struct pg *pg, double t, bool quiet)
{
	uint64_t txp = pg_get(&pg->gst.tx_pkts), txb = pg_get(&pg->gst.tx_bytes);
	uint64_t rxp = pg_get(&pg->sst.rx_pkts), rxb = pg_get(&pg->sst.rx_bytes);
	uint64_t fwd = pg_get(&pg->ist.fwd);
	double dt = t - r->t, txg, rxg;
	char ts[32];

	if (dt <= 0)
		return;
	txg = (double)(txb - r->tx_bytes) * 8 / dt / 1e9;
	rxg = (double)(rxb - r->rx_bytes) * 8 / dt / 1e9;
	if (pg->hist)
		pg_hist_copy(pg->hist, r->snap);
	if (!quiet) {
		printf("[%6.1fs]", t);
		if (pg->gen.port >= 0)
			printf(" gen %.3f Mpps %.2f Gbit/s |", (double)(txp - r->tx_pkts) / dt / 1e6, txg);
		if (pg->sink_port >= 0)
			printf(" sink %.3f Mpps %.2f Gbit/s lost %" PRIu64 " dup %" PRIu64 " reord %"
			       PRIu64 " corrupt %" PRIu64 " lat p50 %.1f p99 %.1f p99.9 %.1f us |",
			       (double)(rxp - r->rx_pkts) / dt / 1e6, rxg, lost(pg),
			       pg_get(&pg->sst.dup), pg_get(&pg->sst.reordered),
			       pg_get(&pg->sst.corrupt), us(pg, pg_hist_quantile(r->snap, 0.5)),
			       us(pg, pg_hist_quantile(r->snap, 0.99)),
			       us(pg, pg_hist_quantile(r->snap, 0.999)));
		if (pg->imp.a >= 0)
			printf(" impair %.3f Mpps fwd, dropped %" PRIu64 " |",
			       (double)(fwd - r->fwd) / dt / 1e6, pg_get(&pg->ist.dropped));
		if (pg->mirror_port >= 0)
			printf(" mirrored %" PRIu64 " |", pg_get(&pg->mirrored));
		printf("\n");
		fflush(stdout);
	}
	snprintf(ts, sizeof(ts), "%.1f", t);
	csv_row(r, pg, ts, txp - r->tx_pkts, txg, rxp - r->rx_pkts, rxg);
	r->t = t;
	r->tx_pkts = txp;
	r->tx_bytes = txb;
	r->rx_pkts = rxp;
	r->rx_bytes = rxb;
	r->fwd = fwd;
}

static double
gbps(const struct pg *pg, uint64_t bytes, uint64_t t0, uint64_t t1)
{
	return t1 > t0 ? (double)bytes * 8 * (double)pg->hz / (double)(t1 - t0) / 1e9 : 0;
}

static double
mpps(const struct pg *pg, uint64_t pkts, uint64_t t0, uint64_t t1)
{
	return t1 > t0 ? (double)pkts * (double)pg->hz / (double)(t1 - t0) / 1e6 : 0;
}

static void
json_line(struct pg_report *r, const struct pg *pg)
{
	const struct pg_gen_stats *g = &pg->gst;
	const struct pg_sink_stats *s = &pg->sst;
	const struct pg_impair_stats *i = &pg->ist;

	printf("{\"hz\":%" PRIu64 ",\"busy_cycles\":%" PRIu64, pg->hz, pg_get(&pg->busy_cycles));
	if (pg->gen.port >= 0)
		printf(",\"gen\":{\"size\":%u,\"flows\":%u,\"tx_pkts\":%" PRIu64 ",\"tx_bytes\":%"
		       PRIu64 ",\"tx_retry\":%" PRIu64 ",\"no_mbuf\":%" PRIu64 ",\"seconds\":%.6f,"
		       "\"mpps\":%.6f,\"gbps\":%.6f,\"done\":%u}", pg->gen.size, pg->gen.flows,
		       g->tx_pkts, g->tx_bytes, g->tx_retry, g->no_mbuf,
		       g->end_tsc > g->start_tsc ? (double)(g->end_tsc - g->start_tsc) / (double)pg->hz : 0,
		       mpps(pg, g->tx_pkts, g->start_tsc, g->end_tsc),
		       gbps(pg, g->tx_bytes, g->start_tsc, g->end_tsc), g->done);
	if (pg->sink_port >= 0)
		printf(",\"sink\":{\"rx_pkts\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"unique\":%"
		       PRIu64 ",\"expected\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"dup\":%" PRIu64
		       ",\"reordered\":%" PRIu64 ",\"late\":%" PRIu64 ",\"corrupt\":%" PRIu64
		       ",\"not_ours\":%" PRIu64 ",\"seconds\":%.6f,\"mpps\":%.6f,\"gbps\":%.6f,"
		       "\"lat_samples\":%" PRIu64 ",\"p50_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f}",
		       s->rx_pkts, s->rx_bytes, s->unique, s->expected, lost(pg), s->dup,
		       s->reordered, s->late, s->corrupt, s->not_ours,
		       s->last_tsc > s->first_tsc ? (double)(s->last_tsc - s->first_tsc) / (double)pg->hz : 0,
		       mpps(pg, s->rx_pkts, s->first_tsc, s->last_tsc),
		       gbps(pg, s->rx_bytes, s->first_tsc, s->last_tsc), pg_hist_count(r->snap),
		       us(pg, pg_hist_quantile(r->snap, 0.5)), us(pg, pg_hist_quantile(r->snap, 0.99)),
		       us(pg, pg_hist_quantile(r->snap, 0.999)));
	if (pg->imp.a >= 0)
		printf(",\"impair\":{\"fwd\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"corrupted\":%"
		       PRIu64 ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"replayed\":%"
		       PRIu64 ",\"delayed\":%" PRIu64 ",\"overflow\":%" PRIu64 "}", i->fwd,
		       i->dropped, i->corrupted, i->duplicated, i->reordered, i->replayed,
		       i->delayed, i->overflow);
	if (pg->mirror_port >= 0)
		printf(",\"mirrored\":%" PRIu64, pg->mirrored);
	printf(",\"ports\":[");
	for (unsigned int p = 0; p < pg->nb_ports; p++)
		printf("%s{\"arp_in\":%" PRIu64 ",\"arp_out\":%" PRIu64 ",\"other_in\":%" PRIu64
		       ",\"tx_full\":%" PRIu64 "}", p ? "," : "", pg->port[p].arp_in,
		       pg->port[p].arp_out, pg->port[p].other_in, pg->port[p].tx_full);
	printf("]}\n");
}

void
pg_report_final(struct pg_report *r, const struct pg *pg, double t, bool json)
{
	const struct pg_sink_stats *s = &pg->sst;
	const struct pg_gen_stats *g = &pg->gst;

	if (pg->hist)
		pg_hist_copy(pg->hist, r->snap);
	csv_row(r, pg, "final", g->tx_pkts, gbps(pg, g->tx_bytes, g->start_tsc, g->end_tsc),
		s->rx_pkts, gbps(pg, s->rx_bytes, s->first_tsc, s->last_tsc));
	printf("summary after %.1f s:\n", t);
	if (pg->gen.port >= 0)
		printf("  gen:    %" PRIu64 " pages of %u B in %u flows, %.3f Mpps, %.2f Gbit/s\n",
		       g->tx_pkts, pg->gen.size, pg->gen.flows,
		       mpps(pg, g->tx_pkts, g->start_tsc, g->end_tsc),
		       gbps(pg, g->tx_bytes, g->start_tsc, g->end_tsc));
	if (pg->sink_port >= 0)
		printf("  sink:   %" PRIu64 " pages checked, %.3f Mpps, %.2f Gbit/s; lost %" PRIu64
		       ", duplicates %" PRIu64 ", reordered %" PRIu64 ", late %" PRIu64 ", corrupt %"
		       PRIu64 "; latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n", s->rx_pkts,
		       mpps(pg, s->rx_pkts, s->first_tsc, s->last_tsc),
		       gbps(pg, s->rx_bytes, s->first_tsc, s->last_tsc), lost(pg), s->dup,
		       s->reordered, s->late, s->corrupt, us(pg, pg_hist_quantile(r->snap, 0.5)),
		       us(pg, pg_hist_quantile(r->snap, 0.99)),
		       us(pg, pg_hist_quantile(r->snap, 0.999)));
	if (pg->imp.a >= 0)
		printf("  impair: %" PRIu64 " passed on; dropped %" PRIu64 ", corrupted %" PRIu64
		       ", duplicated %" PRIu64 ", reordered %" PRIu64 ", replayed %" PRIu64
		       ", delayed %" PRIu64 "\n", pg->ist.fwd, pg->ist.dropped, pg->ist.corrupted,
		       pg->ist.duplicated, pg->ist.reordered, pg->ist.replayed, pg->ist.delayed);
	if (pg->mirror_port >= 0)
		printf("  mirror: %" PRIu64 " sent back\n", pg->mirrored);
	if (json)
		json_line(r, pg);
	fflush(stdout);
}
