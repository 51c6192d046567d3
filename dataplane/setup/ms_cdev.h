/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CDEV_H
#define MS_CDEV_H

/* Crypto device set-up: checked completely at start, never on the fast path. */
#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "ms_profile.h"

struct ms_cdev {
	uint8_t dev_id;			/* what the workers use */
	uint16_t nb_qp;
	bool failover;			/* dev_id is a fail-over scheduler over: */
	uint8_t member_id[MS_MEMBERS];	/* primary, secondary */
	bool primary_stopped;		/* taken out of service (ms_failover_run) */
	bool failed;			/* lost ops, stopped for good (ms_failover_watch) */
	struct rte_mempool *sess_pool;
	struct rte_mempool *op_pool;
};

/*
 * Open the profile's device (for a fail-over profile: both members, then
 * the scheduler over them), check that each offers AES-256-GCM with a
 * 16-byte ICV, 12-byte IV and 8/12-byte AAD and at least nb_qp queue pairs,
 * then configure and start it. Errors say which device, what is missing and
 * what to do.
 */
int __rte_warn_unused_result
ms_cdev_setup(const struct ms_profile *p, uint16_t nb_qp, uint32_t sessions, uint32_t ops,
	      int socket, struct ms_cdev *cd, char *err, unsigned int errlen);
/* Only the capability check (used by the unit tests too). */
int ms_cdev_check_caps(uint8_t dev_id, char *err, unsigned int errlen);
void ms_cdev_close(struct ms_cdev *cd);

#endif
