/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Main lcore, set-up and tear-down: DPDK's lib/power on the workers' RX
 * queues for poll.mode adaptive (the first stage of fast/ms_idle.h).
 */
#include <stdio.h>
#include <string.h>

#include <rte_power_pmd_mgmt.h>

#include "ms_log.h"
#include "ms_power.h"

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
ms_power_enable(struct ms_dp *dp, char *err, unsigned int errlen)
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
		ms_power_disable(dp);
		rc = enable_all(dp, RTE_POWER_MGMT_TYPE_PAUSE);
		if (rc != 0) {
			ms_power_disable(dp);
			snprintf(err, errlen, "poll.mode adaptive: lib/power refused the RX queues: %s",
				 strerror(-rc));
			return rc;
		}
		dp->pmgmt = MS_PMGMT_PAUSE;
	}
	MS_LOG(INFO, "adaptive polling: lib/power %s after %u empty polls, sleeps after %u us "
	       "idle (up to %u us)", ms_power_name(dp), dp->conf->poll.spin_polls,
	       dp->conf->poll.sleep_after_us, dp->conf->poll.sleep_max_us);
	return 0;
}

void
ms_power_disable(struct ms_dp *dp)
{
	/* Queues not enabled answer -EINVAL; harmless. */
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		for (int p = 0; p < MS_PORT_MAX; p++)
			(void)rte_power_ethdev_pmgmt_queue_disable(dp->workers[i].lcore,
								   dp->port[p].port_id, (uint16_t)i);
	dp->pmgmt = MS_PMGMT_OFF;
}

const char *
ms_power_name(const struct ms_dp *dp)
{
	return dp->pmgmt == MS_PMGMT_MONITOR ? "monitor" :
	       dp->pmgmt == MS_PMGMT_PAUSE ? "pause" : "off";
}
