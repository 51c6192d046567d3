/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_REPORT_H
#define MS_REPORT_H

/*
 * The counters and the appliance summary written into either kind of
 * report: a JSON object (the control socket's replies, ms_ops*.c) or a
 * telemetry dict (ms_telemetry.c). The names come from common/ms_counters.h,
 * so both kinds say the same thing under the same name. Readers only: any
 * thread, the blocks are read with relaxed loads.
 */
#include <stdbool.h>
#include <time.h>

#include <jansson.h>
#include <rte_telemetry.h>

#include "ms_dp.h"

/* Where a report goes: a JSON object, or (j == NULL) a telemetry dict. */
struct ms_out {
	json_t *j;
	struct rte_tel_data *t;
};

void ms_out_u64(const struct ms_out *o, const char *name, uint64_t v);
void ms_out_str(const struct ms_out *o, const char *name, const char *v);
/* JSON only: a telemetry dict drops (and frees) v. */
void ms_out_json(const struct ms_out *o, const char *name, json_t *v);

/* The appliance's MS_REP_TOTAL counters of a sum of blocks (ms_stats_sum). */
void ms_report_totals(const struct ms_out *o, const struct ms_lcore_stats *sum);
/* Every drop of a sum: the total. */
uint64_t ms_report_dropped(const struct ms_lcore_stats *sum);
/* Drops by reason; nonzero_only leaves out the reasons that never happened. */
void ms_report_drops(const struct ms_out *o, const uint64_t *drop, bool nonzero_only);
/* Worker w: its lcore and MS_REP_WORKER counters, read from its live block. */
void ms_report_worker(const struct ms_out *o, const struct ms_dp *dp, unsigned int w);
/* Every worker's ms_report_worker() as a JSON array. */
json_t *ms_report_workers_json(const struct ms_dp *dp);
/* Port p: its counters in a sum of blocks, then what the port itself lost. */
void ms_report_port(const struct ms_out *o, const struct ms_dp *dp,
		    const struct ms_lcore_stats *sum, enum ms_port_idx p);
/* An SA's MS_SA_COUNTERS (not its drops) of a sum (ms_stats_sum_sa). */
void ms_report_sa(const struct ms_out *o, const struct ms_sa_stats *sum);

/* What the appliance summary's values are read from. */
struct ms_info_src {
	const struct ms_dp *dp;
	time_t started;		/* for uptime_s */
};

/* The summary fields f[0..n-1] (common/ms_counters.h MS_INFO_FIELDS), in that order. */
void ms_report_info(const struct ms_out *o, const struct ms_info_src *c,
		    const enum ms_info *f, unsigned int n);

#endif
