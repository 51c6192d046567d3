/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_WORKER_H
#define MS_WORKER_H

#include "ms_dp.h"

/* rte_eal_remote_launch() entry: poll until dp->stop. arg: struct ms_worker *. */
int ms_worker_main(void *arg);
/* One loop iteration (RX both ports, crypto, TX, quiescent report). */
void ms_worker_poll_once(struct ms_worker *w);

#endif
