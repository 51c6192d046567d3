/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_FAILOVER_H
#define MS_FAILOVER_H

/*
 * Fail-over crypto: the crypto scheduler PMD in fail-over mode over a
 * primary and a secondary device. The scheduler sends every burst to the
 * primary and what the primary refuses to the secondary; migsec sees one
 * device. Set-up and the operator's switch run in the control thread.
 */
#include "ms_cdev.h"
#include "ms_dp.h"

/* The workers hold their traffic this long at most while the primary stops. */
#define FAILOVER_HOLD_MS 1000

/* Attach primary, then secondary, to the scheduler cd->dev_id; check the order and mode. */
int __rte_warn_unused_result
ms_failover_attach(const struct ms_profile *p, struct ms_cdev *cd, char *err,
		   unsigned int errlen);

/*
 * Detach and close both members of a stopped scheduler. The EAL's clean-up
 * removes the members' vdevs before the scheduler's, whose removal would
 * then detach members that are gone.
 */
void ms_failover_detach(struct ms_cdev *cd);

/*
 * Take the primary out of service for good (until restart): hold the
 * workers' crypto traffic until no op is in flight, stop the primary, let
 * them go on. From then on the scheduler finds the primary refusing and
 * sends everything to the secondary; no packet is lost or reordered.
 * Returns -EOPNOTSUPP without a fail-over profile, -EALREADY if done,
 * -ETIMEDOUT if the workers do not drain within timeout_ms (nothing changed).
 */
int __rte_warn_unused_result
ms_failover_run(struct ms_dp *dp, struct ms_cdev *cd, unsigned int timeout_ms, char *err,
		unsigned int errlen);

/*
 * Control thread, every tick: if workers wrote off ops their crypto device
 * never returned (crypto_lost, *seen: the count already handled), say so.
 * Such a worker holds (lost_hold) until the device that lost the ops can
 * no longer return them: with a fail-over profile whose primary is in
 * service, the primary is taken out of service (ms_failover_run) and the
 * secondary takes everything; otherwise the device is stopped for good
 * (fail closed: crypto_enqueue drops until restart). Either way no op can
 * come back pointing at an SA freed since.
 */
void ms_failover_watch(struct ms_dp *dp, struct ms_cdev *cd, uint64_t *seen);

/* The stop itself: no op may be in flight on the primary. */
void ms_failover_stop_primary(struct ms_cdev *cd);

#endif
