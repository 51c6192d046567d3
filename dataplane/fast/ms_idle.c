/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Adaptive polling, on each worker lcore: bounded sleeps once idle for a
 * while (lib/power's part is set up by setup/ms_power.c); interrupt
 * polling's waits instead (ms_intr.c).
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "ms_idle.h"
#include "ms_log.h"

void
ms_idle_init(struct ms_worker *w, struct ms_idle *id, const struct ms_poll_conf *pc,
	     uint64_t tsc_hz)
{
	id->mode = pc->mode;
	id->last_work = rte_rdtsc();
	id->sleep_tsc = tsc_hz * pc->sleep_after_us / 1000000;
	id->sleep_us = 1;
	id->sleep_max_us = pc->sleep_max_us;
	/*
	 * The kernel's default timer slack (50 us) would stretch every short
	 * sleep; a sleeping worker should wake when asked. Per thread.
	 */
	if (id->mode == MS_POLL_ADAPTIVE && prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) != 0)
		MS_LOG(WARNING, "worker: cannot lower the timer slack; sleeps will be longer");
	if (id->mode == MS_POLL_INTERRUPT)
		ms_intr_init(w, &id->intr, pc);
}

void
ms_idle_fini(struct ms_worker *w, struct ms_idle *id)
{
	if (id->mode == MS_POLL_INTERRUPT)
		ms_intr_fini(w, &id->intr);
}

void
ms_idle_after_poll(struct ms_worker *w, struct ms_idle *id, unsigned int work, uint64_t now)
{
	struct ms_lcore_stats *st = &w->dp->stats.lc[w->idx];
	uint64_t t0, t1;

	if (work || w->inflight) {
		id->last_work = now;
		id->sleep_us = 1;
		if (id->mode == MS_POLL_INTERRUPT)
			ms_intr_disarm(w, &id->intr);
		return;
	}
	if (now - id->last_work < id->sleep_tsc)
		return;
	if (id->mode == MS_POLL_INTERRUPT) {
		/*
		 * Arm, poll once more, then wait: nothing that came meanwhile
		 * waits. Woken by an event: poll sleep_after_us again before the
		 * next wait, as after work, even if the first poll finds nothing
		 * (a driver may see the frame a little after its descriptor woke
		 * the wait, and an edge-triggered interrupt does not fire again
		 * for a frame already waiting).
		 */
		if (!id->intr.armed)
			ms_intr_arm(w, &id->intr);
		else if (ms_intr_wait(w, &id->intr))
			id->last_work = rte_rdtsc();
		return;
	}
	/* Nothing in flight, no SA referenced: safe to leave RCU while asleep. */
	rte_rcu_qsbr_thread_offline(w->dp->rcu, w->idx);
	t0 = rte_rdtsc();
	rte_delay_us_sleep(id->sleep_us);
	t1 = rte_rdtsc();
	rte_rcu_qsbr_thread_online(w->dp->rcu, w->idx);
	ms_ctr_add(&st->idle_cycles, t1 - t0);
	ms_ctr_add(&st->sleep_cycles, t1 - t0);
	ms_ctr_add(&st->sleeps, 1);
	if (id->sleep_us < id->sleep_max_us)
		id->sleep_us = id->sleep_us * 2 < id->sleep_max_us ? id->sleep_us * 2
								    : id->sleep_max_us;
}
