/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_WORKER_H
#define MS_WORKER_H

#include "ms_dp.h"

/* rte_eal_remote_launch() entry: poll until dp->stop. arg: struct ms_worker *. */
int ms_worker_main(void *arg);
/*
 * One loop iteration (RX both ports, crypto, TX, quiescent report).
 * Returns how many packets and crypto ops it moved; w->loop_tsc is its end.
 */
unsigned int ms_worker_poll_once(struct ms_worker *w);

/*
 * Control thread: ask every worker to stop taking packets and to finish its
 * crypto ops; returns 0 once none has an op in flight, -ETIMEDOUT (and
 * releases them) if that takes longer than timeout_ms. Packets wait in the
 * ports' RX queues meanwhile. ms_workers_release() lets them go on.
 */
int __rte_warn_unused_result ms_workers_hold(struct ms_dp *dp, unsigned int timeout_ms);
void ms_workers_release(struct ms_dp *dp);

#endif
