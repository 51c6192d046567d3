/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cryptodev.h>
#include <rte_cryptodev_scheduler.h>
#include <rte_log.h>

#include "ms_failover.h"
#include "ms_log.h"
#include "ms_worker.h"

static bool
attached_as_wanted(const struct ms_cdev *cd)
{
	uint8_t w[RTE_CRYPTODEV_SCHEDULER_MAX_NB_WORKERS];
	int n = rte_cryptodev_scheduler_workers_get(cd->dev_id, w);

	return n == MS_MEMBERS && w[0] == cd->member_id[MS_PRIMARY] &&
	       w[1] == cd->member_id[MS_SECONDARY];
}

/*
 * Attached through the API rather than the vdev's worker= arguments: the
 * 22.11 scheduler attaches those last-listed first, so the order that
 * decides which one is primary would be the reverse of what is written.
 */
int
ms_failover_attach(const struct ms_profile *p, struct ms_cdev *cd, char *err,
		   unsigned int errlen)
{
	uint8_t w[RTE_CRYPTODEV_SCHEDULER_MAX_NB_WORKERS];
	int n, rc;

	if (rte_cryptodev_scheduler_mode_get(cd->dev_id) != CDEV_SCHED_MODE_FAILOVER) {
		snprintf(err, errlen, "crypto profile %s: device %s is not a scheduler in %s mode",
			 p->name, p->dev.device, MS_FAILOVER_MODE);
		return -EINVAL;
	}
	if (attached_as_wanted(cd))	/* set up before in this process (tests) */
		return 0;
	n = rte_cryptodev_scheduler_workers_get(cd->dev_id, w);
	for (int i = 0; i < n; i++)
		rte_cryptodev_scheduler_worker_detach(cd->dev_id, w[i]);
	for (int m = 0; m < MS_MEMBERS; m++) {
		rc = rte_cryptodev_scheduler_worker_attach(cd->dev_id, cd->member_id[m]);
		if (rc < 0) {
			snprintf(err, errlen, "crypto profile %s: cannot attach %s to %s: %s",
				 p->name, p->member[m].device, p->dev.device, strerror(-rc));
			return rc;
		}
	}
	if (!attached_as_wanted(cd)) {
		snprintf(err, errlen, "crypto profile %s: %s did not keep %s as primary and %s as "
			 "secondary", p->name, p->dev.device, p->member[MS_PRIMARY].device,
			 p->member[MS_SECONDARY].device);
		return -EINVAL;
	}
	return 0;
}

void
ms_failover_detach(struct ms_cdev *cd)
{
	for (int m = 0; m < MS_MEMBERS; m++) {
		rte_cryptodev_scheduler_worker_detach(cd->dev_id, cd->member_id[m]);
		rte_cryptodev_close(cd->member_id[m]);
	}
	cd->failover = false;
}

void
ms_failover_stop_primary(struct ms_cdev *cd)
{
	/*
	 * A stopped device's enqueue is DPDK's dummy, which logs an error on
	 * every call; the scheduler tries the primary first on every burst, so
	 * that would be a log line per burst on the fast path. Errors of the
	 * cryptodev library are silenced from here on (critical ones remain).
	 */
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_CRIT);
	rte_cryptodev_stop(cd->member_id[MS_PRIMARY]);
	cd->primary_stopped = true;
}

int
ms_failover_run(struct ms_dp *dp, struct ms_cdev *cd, unsigned int timeout_ms, char *err,
		unsigned int errlen)
{
	const char *prim = rte_cryptodev_name_get(cd->member_id[MS_PRIMARY]);
	int rc;

	if (!cd->failover) {
		snprintf(err, errlen, "the crypto profile is not a fail-over profile");
		return -EOPNOTSUPP;
	}
	if (cd->primary_stopped) {
		snprintf(err, errlen, "primary %s is out of service already", prim);
		return -EALREADY;
	}
	rc = ms_workers_hold(dp, timeout_ms);
	if (rc != 0) {
		snprintf(err, errlen, "workers did not drain their crypto ops within %u ms; "
			 "primary %s left in service", timeout_ms, prim);
		return rc;
	}
	ms_failover_stop_primary(cd);
	ms_workers_release(dp);
	MS_LOG(WARNING, "crypto primary %s taken out of service: every operation goes to %s now",
	       prim, rte_cryptodev_name_get(cd->member_id[MS_SECONDARY]));
	return 0;
}

static bool
any_lost_hold(const struct ms_dp *dp)
{
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		if (__atomic_load_n(&dp->workers[i].lost_hold, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void
release_lost_hold(struct ms_dp *dp)
{
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		__atomic_store_n(&dp->workers[i].lost_hold, 0, __ATOMIC_RELEASE);
}

/*
 * Fail closed: with every worker held (nothing in flight), stop the device
 * the workers use. Its enqueue and dequeue become DPDK's dummies: whatever
 * it still holds can never come back, and every packet that needs crypto
 * is refused (crypto_enqueue) until the data plane restarts.
 */
static int
fail_device(struct ms_dp *dp, struct ms_cdev *cd)
{
	int rc = ms_workers_hold(dp, FAILOVER_HOLD_MS);

	if (rc != 0)
		return rc;
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_CRIT);	/* see stop_primary */
	rte_cryptodev_stop(cd->dev_id);
	cd->failed = true;
	ms_workers_release(dp);
	MS_LOG(CRIT, "crypto device %s failed and is out of service: every packet that needs "
	       "sealing or opening is dropped (crypto_enqueue) until migsec-dataplane restarts",
	       rte_cryptodev_name_get(cd->dev_id));
	return 0;
}

void
ms_failover_watch(struct ms_dp *dp, struct ms_cdev *cd, uint64_t *seen)
{
	struct ms_lcore_stats sum;
	char err[256];
	uint64_t lost;

	ms_stats_sum(&dp->stats, &sum);
	lost = sum.drop[MS_DROP_CRYPTO_LOST];
	if (lost != *seen) {
		MS_LOG(ERR, "crypto device %s did not return %" PRIu64 " operations (%" PRIu64
		       " in all): written off, their packets dropped",
		       rte_cryptodev_name_get(cd->dev_id), lost - *seen, lost);
		*seen = lost;
	}
	if (!any_lost_hold(dp))
		return;
	if (cd->failover && !cd->primary_stopped) {
		MS_LOG(WARNING, "taking the crypto primary %s out of service",
		       rte_cryptodev_name_get(cd->member_id[MS_PRIMARY]));
		if (ms_failover_run(dp, cd, FAILOVER_HOLD_MS, err, sizeof(err)) == 0) {
			release_lost_hold(dp);
			return;
		}
		MS_LOG(ERR, "crypto fail-over after lost operations failed: %s", err);
	}
	if (!cd->failed && fail_device(dp, cd) != 0) {
		MS_LOG(ERR, "crypto device %s lost operations but the workers did not stop; "
		       "retrying", rte_cryptodev_name_get(cd->dev_id));
		return;		/* the held workers stay held; next tick again */
	}
	release_lost_hold(dp);
}
