/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PG_REPORT_H
#define PG_REPORT_H

/* Live lines, CSV rows and the final summary (pg_report.c). Main lcore only. */
#include <stdio.h>

#include "pg.h"

struct pg_report {
	FILE *csv;
	double t;			/* seconds since start of the previous row */
	uint64_t tx_pkts, tx_bytes, rx_pkts, rx_bytes, fwd;	/* at the previous row */
	struct pg_hist *snap;
};

int pg_report_open(struct pg_report *r, const char *csv_path);
/* One live line (unless quiet) and one CSV row for the interval ending at t. */
void pg_report_tick(struct pg_report *r, const struct pg *pg, double t, bool quiet);
/* Final row, human summary, optional JSON line. */
void pg_report_final(struct pg_report *r, const struct pg *pg, double t, bool json);
void pg_report_close(struct pg_report *r);

#endif
