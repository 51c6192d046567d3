/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PG_OPTS_H
#define PG_OPTS_H

/* Command line of migsec-pktgen (pg_opts.c); usage text there. */
#include "pg.h"

struct pg_opts {
	unsigned int cpu;
	char prefix[64];
	unsigned int mem_mb;
	int huge;			/* -1 auto, 0 no, 1 yes */
	char log_level[16];
	char port[PG_PORTS_MAX][512];
	unsigned int nb_ports;
	unsigned int queues;
	unsigned int mbufs;
	double run_s;			/* 0: until done or signal */
	double idle_exit_s;		/* 0: off */
	double interval_s;
	double arp_timeout_s;
	bool quiet, json;
	bool linger;			/* keep the ports open until stdin ends */
	char csv[256];
};

/* Fills o and the role settings in pg; returns 0, or -EINVAL after a message. */
int pg_opts_parse(int argc, char **argv, struct pg_opts *o, struct pg *pg);

#endif
