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

#endif
