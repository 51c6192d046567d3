/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>

#include "ms_log.h"
#include "ms_sadb_int.h"

int
ms_sadb_init(struct ms_sadb *db, const struct ms_sa_env *env, struct ms_stats *stats,
	     struct rte_rcu_qsbr *rcu, uint32_t max_sa, const struct ms_sadb_ops *ops)
{
	memset(db, 0, sizeof(*db));
	db->nb_workers = stats->nb_blocks - 1;
	db->env = *env;
	db->stats = stats;
	db->rcu = rcu;
	db->max_sa = max_sa;
	db->ops = *ops;
	db->prio_next = 1;
	db->sa = rte_zmalloc_socket("ms_sadb", sizeof(*db->sa) * max_sa, 0, env->socket);
	if (db->sa == NULL)
		return -ENOMEM;
	return 0;
}

static int
find_slot(const struct ms_sadb *db, uint32_t id)
{
	for (uint32_t s = 0; s < db->max_sa; s++)
		if (db->sa[s] != NULL && db->sa[s]->spec.id == id)
			return (int)s;
	return -1;
}

const struct ms_sa *
ms_sadb_find(const struct ms_sadb *db, uint32_t id)
{
	int s = find_slot(db, id);

	return s < 0 ? NULL : db->sa[s];
}

static int
check_unique(const struct ms_sadb *db, const struct ms_sa_spec *spec, char *err,
	     unsigned int errlen)
{
	if (spec->dir == MS_DIR_OUT && spec->group != 0 && spec->nb_lanes < db->nb_workers) {
		snprintf(err, errlen, "a group of %u lanes cannot serve %u workers (one lane each)",
			 spec->nb_lanes, db->nb_workers);
		return -EINVAL;
	}
	for (uint32_t s = 0; spec->dir == MS_DIR_OUT && spec->group && s < db->max_sa; s++) {
		const struct ms_sa *o = db->sa[s];

		if (ms_sadb_in_group(o) && o->spec.group == spec->group &&
		    (o->spec.lane == spec->lane || o->spec.nb_lanes != spec->nb_lanes)) {
			snprintf(err, errlen, "group %u already has lane %u, or another lane count",
				 spec->group, spec->lane);
			return -EEXIST;
		}
	}
	if (find_slot(db, spec->id) >= 0) {
		snprintf(err, errlen, "SA id %u already exists", spec->id);
		return -EEXIST;
	}
	for (uint32_t s = 0; s < db->max_sa; s++) {
		const struct ms_sa *o = db->sa[s];

		if (o != NULL && spec->dir != MS_DIR_BYPASS && o->spec.dir == spec->dir &&
		    o->spec.spi == spec->spi) {
			snprintf(err, errlen, "SPI 0x%x is already used by %s SA %u", spec->spi,
				 spec->dir == MS_DIR_IN ? "inbound" : "outbound", o->spec.id);
			return -EEXIST;
		}
	}
	return 0;
}

int
ms_sadb_publish(struct ms_sadb *db, char *err, unsigned int errlen)
{
	struct ms_tables *t = ms_sadb_tables_build(db, err, errlen);

	if (t == NULL)
		return -ENOMEM;
	ms_sadb_tables_swap(db, t);
	return 0;
}

/* One SA into a free slot of db (not yet published): its slot, or -errno. */
static int
place(struct ms_sadb *db, const struct ms_sa_spec *spec, char *err, unsigned int errlen)
{
	struct ms_sa *sa;
	int rc, slot = -1;

	rc = check_unique(db, spec, err, errlen);
	if (rc != 0)
		return rc;
	for (uint32_t s = 0; s < db->max_sa && slot < 0; s++)
		if (db->sa[s] == NULL)
			slot = (int)s;
	if (slot < 0) {
		snprintf(err, errlen, "SA table full (limits.max_sa = %u)", db->max_sa);
		return -ENOSPC;
	}
	rc = ms_sa_create(&db->env, spec, (uint32_t)slot, &sa, err, errlen);
	if (rc != 0)
		return rc;
	if (spec->dir != MS_DIR_IN) {	/* sealed or bypassed towards the peer */
		sa->rt->nh = db->ops.nexthop(db->ops.arg, &spec->peer);
		if (sa->rt->nh == NULL) {
			snprintf(err, errlen, "no next hop towards the peer (outer prefix/gateway?) "
				 "or neighbour table full");
			ms_sa_destroy(sa);
			return -EHOSTUNREACH;
		}
	}
	/* A slot's counters were zeroed when its last SA was removed. */
	sa->prio = db->prio_next;
	db->prio_next = db->prio_next % RTE_ACL_MAX_PRIORITY + 1;
	db->sa[slot] = sa;
	return slot;
}

int
ms_sadb_add_batch(struct ms_sadb *db, const struct ms_sa_spec *specs, unsigned int n,
		  char *err, unsigned int errlen)
{
	struct ms_tables *t = NULL;
	unsigned int k;
	int rc = 0, one, *slot;

	if (n == 0 || n > db->max_sa - db->count) {
		snprintf(err, errlen, "a batch of %u SAs: %u more fit (limits.max_sa = %u)", n,
			 db->max_sa - db->count, db->max_sa);
		return n == 0 ? -EINVAL : -ENOSPC;
	}
	slot = n > 1 ? calloc(n, sizeof(*slot)) : &one;
	if (slot == NULL) {
		snprintf(err, errlen, "out of memory for a batch of %u SAs", n);
		return -ENOMEM;
	}
	for (k = 0; k < n && rc >= 0; k++) {
		rc = place(db, &specs[k], err, errlen);
		slot[k] = rc;
	}
	if (rc >= 0) {
		t = ms_sadb_tables_build(db, err, errlen);
		rc = t != NULL ? 0 : -ENOMEM;
	} else if (n > 1) {	/* say which one */
		char why[192];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "SA %u of the batch (id %u): %s; none added", k, specs[k - 1].id,
			 why);
	}
	if (rc != 0) {	/* all or nothing: nothing was published */
		for (unsigned int i = 0; i < k; i++)
			if (slot[i] >= 0) {
				ms_sa_destroy(db->sa[slot[i]]);
				db->sa[slot[i]] = NULL;
			}
	} else {
		db->count += n;
		ms_sadb_tables_swap(db, t);
	}
	if (slot != &one)
		free(slot);
	return rc;
}

int
ms_sadb_add(struct ms_sadb *db, const struct ms_sa_spec *spec, char *err, unsigned int errlen)
{
	return ms_sadb_add_batch(db, spec, 1, err, errlen);
}

int
ms_sadb_del_batch(struct ms_sadb *db, const uint32_t *ids, unsigned int n, bool *absent,
		  char *err, unsigned int errlen)
{
	struct ms_tables *t;
	struct ms_sa **gone;
	int *slot, one_slot, rc;
	struct ms_sa *one_sa;
	unsigned int k = 0;

	if (n == 0) {
		snprintf(err, errlen, "a batch of 0 SAs to delete");
		return -EINVAL;
	}
	slot = n > 1 ? calloc(n, sizeof(*slot)) : &one_slot;
	gone = n > 1 ? calloc(n, sizeof(*gone)) : &one_sa;
	if (slot == NULL || gone == NULL) {
		snprintf(err, errlen, "out of memory for a batch of %u SAs to delete", n);
		rc = -ENOMEM;
		goto out;
	}
	/* Taken out of the database (not yet of the published snapshot). */
	for (unsigned int i = 0; i < n; i++) {
		int s = find_slot(db, ids[i]);	/* an id listed twice: absent the second time */

		absent[i] = s < 0;
		if (s < 0)
			continue;
		slot[k] = s;
		gone[k++] = db->sa[s];
		db->sa[s] = NULL;
	}
	rc = 0;
	if (k == 0)
		goto out;	/* nothing to change: no snapshot */
	t = ms_sadb_tables_build(db, err, errlen);
	if (t == NULL) {	/* none deleted */
		for (unsigned int i = 0; i < k; i++)
			db->sa[slot[i]] = gone[i];
		for (unsigned int i = 0; i < n; i++)
			absent[i] = false;
		rc = -ENOMEM;
		goto out;
	}
	ms_sadb_tables_swap(db, t);	/* after this no worker holds any of them */
	for (unsigned int i = 0; i < k; i++) {
		ms_sa_destroy(gone[i]);	/* the key schedule zeroed */
		ms_stats_reset_sa(db->stats, (uint32_t)slot[i]);
	}
	db->count -= k;
	rc = (int)k;
out:
	if (slot != &one_slot)
		free(slot);
	if (gone != &one_sa)
		free(gone);
	return rc;
}

int
ms_sadb_del(struct ms_sadb *db, uint32_t id, char *err, unsigned int errlen)
{
	bool absent;
	int rc = ms_sadb_del_batch(db, &id, 1, &absent, err, errlen);

	if (rc < 0)
		return rc;
	if (absent) {
		snprintf(err, errlen, "no SA with id %u", id);
		return -ENOENT;
	}
	return 0;
}

unsigned int
ms_sadb_expire(struct ms_sadb *db, uint64_t now)
{
	uint32_t *ids = NULL;
	unsigned int n = 0;
	bool *absent;
	char err[128];
	int rc;

	for (uint32_t s = 0; s < db->max_sa; s++) {
		const struct ms_sa *sa = db->sa[s];

		if (sa == NULL || sa->spec.expires == 0 || sa->spec.expires > now)
			continue;
		if (ids == NULL && (ids = malloc(db->max_sa * (sizeof(*ids) + 1))) == NULL)
			return 0;	/* the next tick tries again */
		ids[n++] = sa->spec.id;
	}
	if (n == 0)
		return 0;
	absent = (bool *)(ids + db->max_sa);
	rc = ms_sadb_del_batch(db, ids, n, absent, err, sizeof(err));	/* one snapshot */
	for (unsigned int i = 0; rc > 0 && i < n; i++)
		if (!absent[i])
			MS_LOG(NOTICE, "SA %u expired (lifetime over): deleted, its keys wiped", ids[i]);
	free(ids);
	return rc > 0 ? (unsigned int)rc : 0;
}

void
ms_sadb_fini(struct ms_sadb *db)
{
	struct ms_tables *old = db->cur;

	if (db->sa == NULL)
		return;
	__atomic_store_n(&db->cur, NULL, __ATOMIC_RELEASE);
	if (db->rcu != NULL)
		ms_sadb_grace(db->rcu);
	ms_sadb_tables_free(old);
	for (uint32_t s = 0; s < db->max_sa; s++) {
		ms_sa_destroy(db->sa[s]);
		db->sa[s] = NULL;
	}
	db->count = 0;
	rte_free(db->sa);
	db->sa = NULL;
}
