/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_TELEMETRY_H
#define MS_TELEMETRY_H

/*
 * DPDK telemetry endpoints under /migsec/ (read with dpdk-telemetry.py):
 *   /migsec/info             appliance summary
 *   /migsec/stats            appliance counters
 *   /migsec/drops            every drop reason with its count
 *   /migsec/ports            per-port RX/TX counters
 *   /migsec/sa/list          ids of the installed SAs
 *   /migsec/sa/info,<id>     one SA and its counters
 */
#include "ms_dp.h"

/* rcu_id: this reader's thread id in dp->rcu (registered here). */
int ms_telemetry_init(struct ms_dp *dp, unsigned int rcu_id);

#endif
