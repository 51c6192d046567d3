/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_DPC_H
#define MC_DPC_H

/* migsec-control's requests to its data plane (the local control socket). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ms_sa_spec.h"

/* Install an SA; the caller wipes spec. 0, or -errno with a message. */
int mc_dp_add(const char *sock, const struct ms_sa_spec *spec, char *err, size_t errlen);
/* n SAs (1 .. MS_CTL_BATCH_MAX) in one request: all or none, one table update. */
int mc_dp_add_batch(const char *sock, const struct ms_sa_spec *specs, unsigned int n, char *err,
		    size_t errlen);
int mc_dp_del(const char *sock, uint32_t id, char *err, size_t errlen);
/*
 * n SAs deleted with one SA_DEL_BATCH per MS_CTL_DEL_BATCH_MAX ids (one
 * table update each; one SA_DEL each from a data plane without it): what
 * the data plane holds is deleted, absent[i] says it did not hold ids[i].
 * 0, or the last -errno with a message (absent[] then says only what the
 * answered requests said).
 */
int mc_dp_del_batch(const char *sock, const uint32_t *ids, unsigned int n, bool *absent, char *err,
		    size_t errlen);
/* SA_LIST / PING / STATS / CRYPTO replies as JSON; NULL with a message if the data plane is down. */
json_t *mc_dp_list(const char *sock, char *err, size_t errlen);
json_t *mc_dp_ping(const char *sock, char *err, size_t errlen);
json_t *mc_dp_stats(const char *sock, char *err, size_t errlen);
json_t *mc_dp_crypto(const char *sock, char *err, size_t errlen);

/*
 * An SA_ADD or SA_DEL (or a batch of either) without an answer in time
 * leaves SAs the data plane may hold: they are deleted later, by
 * mc_dp_reconcile(), which mc_dp_list() runs first (so once a tick). mc_dp_pending(): how many are left.
 */
void mc_dp_reconcile(const char *sock);
unsigned int mc_dp_pending(void);
/* The deadline of each request, ms (tests); 0: the default, 5000. */
void mc_dp_set_timeout(int ms);

#endif
