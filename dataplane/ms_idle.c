/* SPDX-License-Identifier: BSD-3-Clause */
/* Adaptive polling: lib/power while briefly idle, bounded sleeps after that. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <rte_cycles.h>
#include <rte_power_pmd_mgmt.h>
#include <rte_rcu_qsbr.h>

#include "ms_idle.h"
#include "ms_log.h"

static int
enable_all(struct ms_dp *dp, enum rte_power_pmd_mgmt_type mode)
{
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		for (int p = 0; p < MS_PORT_MAX; p++) {
			int rc = rte_power_ethdev_pmgmt_queue_enable(dp->workers[i].lcore,
								     dp->port[p].port_id,
								     (uint16_t)i, mode);
			if (rc != 0)
				return rc;
		}
	return 0;
}

int
ms_idle_pmgmt_enable(struct ms_dp *dp, char *err, unsigned int errlen)
{
	int rc;

	dp->pmgmt = MS_PMGMT_OFF;
	if (dp->conf->poll.mode != MS_POLL_ADAPTIVE)
		return 0;
	rte_power_pmd_mgmt_set_emptypoll_max(dp->conf->poll.spin_polls);
	/* MONITOR needs the PMD's monitor address and CPU support (UMWAIT/MWAITX). */
	rc = enable_all(dp, RTE_POWER_MGMT_TYPE_MONITOR);
	if (rc == 0) {
		dp->pmgmt = MS_PMGMT_MONITOR;
	} else {
		ms_idle_pmgmt_disable(dp);
		rc = enable_all(dp, RTE_POWER_MGMT_TYPE_PAUSE);
		if (rc != 0) {
			ms_idle_pmgmt_disable(dp);
			snprintf(err, errlen, "poll.mode adaptive: lib/power refused the RX queues: %s",
				 strerror(-rc));
			return rc;
		}
		dp->pmgmt = MS_PMGMT_PAUSE;
	}
	MS_LOG(INFO, "adaptive polling: lib/power %s after %u empty polls, sleeps after %u us "
	       "idle (up to %u us)", ms_idle_pmgmt_name(dp), dp->conf->poll.spin_polls,
	       dp->conf->poll.sleep_after_us, dp->conf->poll.sleep_max_us);
	return 0;
}

void
ms_idle_pmgmt_disable(struct ms_dp *dp)
{
	/* Queues not enabled answer -EINVAL; harmless. */
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		for (int p = 0; p < MS_PORT_MAX; p++)
			(void)rte_power_ethdev_pmgmt_queue_disable(dp->workers[i].lcore,
								   dp->port[p].port_id, (uint16_t)i);
	dp->pmgmt = MS_PMGMT_OFF;
}

const char *
ms_idle_pmgmt_name(const struct ms_dp *dp)
{
	return dp->pmgmt == MS_PMGMT_MONITOR ? "monitor" :
	       dp->pmgmt == MS_PMGMT_PAUSE ? "pause" : "off";
}

void
ms_idle_init(struct ms_idle *id, const struct ms_poll_conf *pc, uint64_t tsc_hz)
{
	id->adaptive = pc->mode == MS_POLL_ADAPTIVE;
	id->last_work = rte_rdtsc();
	id->sleep_tsc = tsc_hz * pc->sleep_after_us / 1000000;
	id->sleep_us = 1;
	id->sleep_max_us = pc->sleep_max_us;
	/*
	 * The kernel's default timer slack (50 us) would stretch every short
	 * sleep; a sleeping worker should wake when asked. Per thread.
	 */
	if (id->adaptive && prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0) != 0)
		MS_LOG(WARNING, "worker: cannot lower the timer slack; sleeps will be longer");
}

void
ms_idle_after_poll(struct ms_worker *w, struct ms_idle *id, unsigned int work, uint64_t now)
{
	struct ms_lcore_stats *st = &w->dp->stats.lc[w->idx];
	uint64_t t0, t1;

	if (work || w->inflight) {
		id->last_work = now;
		id->sleep_us = 1;
		return;
	}
	if (now - id->last_work < id->sleep_tsc)
		return;
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
