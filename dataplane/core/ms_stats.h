/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_STATS_H
#define MS_STATS_H

/*
 * Counters. Every worker owns its own cache-aligned block (single writer);
 * readers (control socket, telemetry) sum the blocks. Every dropped packet is
 * counted under exactly one reason. The counters and their names are
 * common/ms_counters.h's.
 */
#include <stdint.h>

#include <rte_common.h>

#include "ms_counters.h"

#define MS_DROP_ENUM(e, name, tamper, help) MS_DROP_ ## e,
enum ms_drop { MS_DROP_REASONS(MS_DROP_ENUM) MS_DROP_MAX };
#undef MS_DROP_ENUM

enum ms_port_idx { MS_PORT_INNER = 0, MS_PORT_OUTER = 1, MS_PORT_MAX };

/* The fields are ms_counters.h's; ms_stats_sum() adds them as uint64_t[]. */
#define MS_CTR_FIELD(field, ...) uint64_t field;

struct ms_port_ctr {
	MS_PORT_COUNTERS(MS_CTR_FIELD)
};

/* One per worker (and one for the control thread, index nb_workers). */
struct ms_lcore_stats {
	struct ms_port_ctr port[MS_PORT_MAX];
	MS_LCORE_COUNTERS(MS_CTR_FIELD)
	uint64_t drop[MS_DROP_MAX];
} __rte_cache_aligned;

/* One per SA slot per worker. */
struct ms_sa_stats {
	MS_SA_COUNTERS(MS_CTR_FIELD)
	uint64_t drop[MS_DROP_MAX];
} __rte_cache_aligned;

#undef MS_CTR_FIELD

struct ms_stats {
	unsigned int nb_blocks;		/* workers + 1 */
	unsigned int max_sa;
	struct ms_lcore_stats *lc;	/* [nb_blocks] */
	struct ms_sa_stats *sa;		/* [nb_blocks * max_sa] */
};

/* Relaxed single-writer add: a plain add, but a defined read for others. */
static inline void
ms_ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline struct ms_sa_stats *
ms_sa_stats(const struct ms_stats *st, unsigned int block, uint32_t slot)
{
	return &st->sa[(size_t)block * st->max_sa + slot];
}

static inline void
ms_count_drop(const struct ms_stats *st, unsigned int block, int32_t slot, enum ms_drop r,
	      uint64_t n)
{
	ms_ctr_add(&st->lc[block].drop[r], n);
	if (slot >= 0)
		ms_ctr_add(&ms_sa_stats(st, block, (uint32_t)slot)->drop[r], n);
}

int ms_stats_init(struct ms_stats *st, unsigned int nb_workers, unsigned int max_sa, int socket);
void ms_stats_free(struct ms_stats *st);
/* Sum of every block. */
void ms_stats_sum(const struct ms_stats *st, struct ms_lcore_stats *out);
void ms_stats_sum_sa(const struct ms_stats *st, uint32_t slot, struct ms_sa_stats *out);
/* Only after an RCU grace period since the slot's SA was unpublished. */
void ms_stats_reset_sa(struct ms_stats *st, uint32_t slot);

const char *ms_drop_name(enum ms_drop r);
const char *ms_drop_help(enum ms_drop r);

#endif
