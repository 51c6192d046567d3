/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SADB_INT_H
#define MS_SADB_INT_H

/* Inside the SA database (ms_sadb.c, ms_sadb_tables.c): control thread only. */
#include "ms_sadb.h"

/* A lane of an outbound lane group? */
static inline bool
ms_sadb_in_group(const struct ms_sa *sa)
{
	return sa != NULL && sa->spec.dir == MS_DIR_OUT && sa->spec.group != 0;
}

/* Wait until no worker can still see what was unpublished before this call. */
void ms_sadb_grace(struct rte_rcu_qsbr *rcu);
/* A snapshot of every SA in db and of the configuration as it is now, or NULL. */
struct ms_tables *ms_sadb_tables_build(struct ms_sadb *db, char *err, unsigned int errlen);
/* Publish t, wait until no worker can still see the old snapshot, free it. */
void ms_sadb_tables_swap(struct ms_sadb *db, struct ms_tables *t);
void ms_sadb_tables_free(struct ms_tables *t);

#endif
