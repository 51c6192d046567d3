/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "ms_stats.h"

#define MS_DROP_NAME(e, name, tamper, help) name,
#define MS_DROP_HELP(e, name, tamper, help) help,
static const char *const drop_names[] = { MS_DROP_REASONS(MS_DROP_NAME) };
static const char *const drop_help[] = { MS_DROP_REASONS(MS_DROP_HELP) };

const char *
ms_drop_name(enum ms_drop r)
{
	return r < MS_DROP_MAX ? drop_names[r] : "?";
}

const char *
ms_drop_help(enum ms_drop r)
{
	return r < MS_DROP_MAX ? drop_help[r] : "?";
}

int
ms_stats_init(struct ms_stats *st, unsigned int nb_workers, unsigned int max_sa, int socket)
{
	memset(st, 0, sizeof(*st));
	st->nb_blocks = nb_workers + 1;
	st->max_sa = max_sa;
	st->lc = rte_zmalloc_socket("ms_lcore_stats", sizeof(*st->lc) * st->nb_blocks,
				    RTE_CACHE_LINE_SIZE, socket);
	st->sa = rte_zmalloc_socket("ms_sa_stats",
				    sizeof(*st->sa) * st->nb_blocks * (size_t)max_sa,
				    RTE_CACHE_LINE_SIZE, socket);
	if (st->lc == NULL || st->sa == NULL) {
		ms_stats_free(st);
		return -ENOMEM;
	}
	return 0;
}

void
ms_stats_free(struct ms_stats *st)
{
	rte_free(st->lc);
	rte_free(st->sa);
	st->lc = NULL;
	st->sa = NULL;
}

static void
add_u64s(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void
ms_stats_sum(const struct ms_stats *st, struct ms_lcore_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int b = 0; b < st->nb_blocks; b++)
		add_u64s((uint64_t *)out, (const uint64_t *)&st->lc[b],
			 offsetof(struct ms_lcore_stats, drop) / 8 + MS_DROP_MAX);
}

void
ms_stats_sum_sa(const struct ms_stats *st, uint32_t slot, struct ms_sa_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int b = 0; b < st->nb_blocks; b++)
		add_u64s((uint64_t *)out, (const uint64_t *)ms_sa_stats(st, b, slot),
			 offsetof(struct ms_sa_stats, drop) / 8 + MS_DROP_MAX);
}

void
ms_stats_reset_sa(struct ms_stats *st, uint32_t slot)
{
	for (unsigned int b = 0; b < st->nb_blocks; b++)
		memset(ms_sa_stats(st, b, slot), 0, sizeof(struct ms_sa_stats));
}
