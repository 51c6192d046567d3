/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_IDLE_H
#define MS_IDLE_H

#include <stdint.h>

#include "ms_dp.h"
#include "ms_intr.h"

/*
 * How a worker waits when it has nothing to do (conf "poll").
 *
 * busy: it spins. adaptive, in three stages:
 *  1. after spin_polls empty polls of all its RX queues, DPDK's lib/power
 *     (rte_power_ethdev_pmgmt_queue_enable) waits inside each empty RX
 *     poll: MONITOR where the PMD and the CPU support it, else PAUSE;
 *  2. after sleep_after_us without work it sleeps between loops (1 us,
 *     doubling up to sleep_max_us), RCU-offline so that SA changes never
 *     wait for it; the kernel gives the core to others meanwhile;
 *  3. the first packet or crypto op returns it to full polling.
 * interrupt: stage 2 waits in epoll for an RX interrupt or a readable
 * packet socket instead of sleeping (ms_intr.h), sleep_max_us at most;
 * lib/power stays off.
 * It never waits with crypto ops in flight.
 */
struct ms_idle {
	enum ms_poll_mode mode;
	uint64_t last_work;		/* TSC of the last loop that moved something */
	uint64_t sleep_tsc;		/* idle TSC before sleeping */
	uint32_t sleep_us;		/* next sleep */
	uint32_t sleep_max_us;
	struct ms_intr intr;		/* interrupt */
};

/* On the worker's lcore, before and after its loop. */
void ms_idle_init(struct ms_worker *w, struct ms_idle *id, const struct ms_poll_conf *pc,
		  uint64_t tsc_hz);
void ms_idle_fini(struct ms_worker *w, struct ms_idle *id);
/* Once per loop, after ms_worker_poll_once() returned `work` at TSC `now`. */
void ms_idle_after_poll(struct ms_worker *w, struct ms_idle *id, unsigned int work,
			uint64_t now);

#endif
