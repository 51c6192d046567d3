/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SA database's snapshots (ms_sadb_int.h): built from every SA and the
 * configuration, published with one release store, the old one freed after
 * a grace period. Control thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>

#include "ms_sadb_int.h"

/*
 * Wait until no worker can still see what was unpublished before this call.
 * rte_rcu_qsbr_synchronize() is exactly these two calls, but it lives in
 * librte_rcu, which a ThreadSanitizer build does not instrument: inlined
 * here, its acquire loads of the readers' counters are seen, and so is the
 * order between a worker's last read of a snapshot and its free.
 */
void
ms_sadb_grace(struct rte_rcu_qsbr *rcu)
{
	rte_rcu_qsbr_check(rcu, rte_rcu_qsbr_start(rcu), true);
}

void
ms_sadb_tables_free(struct ms_tables *t)
{
	if (t == NULL)
		return;
	rte_ipsec_sad_destroy(t->sad);
	ms_spd_free(&t->spd);
	rte_free(t);
}

static bool
limits_ports(const struct ms_sel *s)
{
	return s->sport_lo != 0 || s->sport_hi != UINT16_MAX || s->dport_lo != 0 ||
	       s->dport_hi != UINT16_MAX;
}

/*
 * An SA's selectors as ACL rules; a bypass rule's go to both directions. An
 * outbound selector that limits ports also goes, ports ignored, to the
 * fragment tables: a packet without ports it could own is never sent in
 * plaintext (ms_outbound.c). At most two rules per selector.
 */
static void
add_rules(const struct ms_sa *sa, uint32_t target, uint32_t prio, struct ms_spd_rule *rules,
	  unsigned int *n)
{
	for (unsigned int s = 0; s < sa->spec.nb_sel; s++) {
		for (int k = 0; k < 3; k++) {	/* out, in, fragments */
			struct ms_spd_rule *r;

			if (k == 2 ? sa->spec.dir != MS_DIR_OUT || !limits_ports(&sa->spec.sel[s])
				   : sa->spec.dir != MS_DIR_BYPASS &&
				     k != (sa->spec.dir == MS_DIR_IN))
				continue;
			r = &rules[(*n)++];
			r->sel = sa->spec.sel[s];
			r->userdata = target + 1;
			r->priority = prio;
			r->inbound = (uint8_t)(k == 1);
			r->frag = (uint8_t)(k == 2);
		}
	}
}


/*
 * The lanes of group g as one target, if every lane is there; an incomplete
 * group (being installed or removed) gets no rule, so its traffic still
 * meets the previous generation or the default policy.
 */
static bool
group_target(const struct ms_sadb *db, uint32_t g, struct ms_target *tg, uint32_t *prio)
{
	const struct ms_sa *first = NULL;
	unsigned int count = 0;

	memset(tg, 0, sizeof(*tg));
	*prio = 0;
	for (uint32_t s = 0; s < db->max_sa; s++) {
		const struct ms_sa *sa = db->sa[s];

		if (!ms_sadb_in_group(sa) || sa->spec.group != g)
			continue;
		if (first == NULL)
			first = sa;
		if (sa->spec.nb_lanes != first->spec.nb_lanes || tg->rt[sa->spec.lane] != NULL)
			return false;
		tg->rt[sa->spec.lane] = sa->rt;
		*prio = RTE_MAX(*prio, sa->prio);
		count++;
	}
	if (first == NULL || count != first->spec.nb_lanes)
		return false;
	tg->nb = first->spec.nb_lanes;
	return true;
}

/* An empty snapshot with its SAD (named for generation db->gen), or NULL. */
static struct ms_tables *
tables_alloc(const struct ms_sadb *db, char *err, unsigned int errlen)
{
	struct rte_ipsec_sad_conf sc = { 0 };
	struct ms_tables *t;
	char name[32];

	t = rte_zmalloc_socket("ms_tables", sizeof(*t) + (sizeof(t->rt[0]) + sizeof(t->tg[0])) *
			       db->max_sa, RTE_CACHE_LINE_SIZE, db->env.socket);
	if (t == NULL) {
		snprintf(err, errlen, "out of memory building SA tables");
		return NULL;
	}
	t->tg = (struct ms_target *)(t + 1);
	t->rt = (struct ms_sa_rt **)(t->tg + db->max_sa);
	/* Targets by slot, so that rules (and an ACL built from them) stay
	 * the same while their SAs do. */
	t->nb_tg = db->max_sa;
	snprintf(name, sizeof(name), "mssad%" PRIu64, db->gen);
	sc.socket_id = db->env.socket;
	sc.max_sa[RTE_IPSEC_SAD_SPI_ONLY] = db->max_sa;
	t->sad = rte_ipsec_sad_create(name, &sc);
	if (t->sad == NULL) {
		snprintf(err, errlen, "rte_ipsec_sad_create failed: %s", rte_strerror(rte_errno));
		rte_free(t);
		return NULL;
	}
	return t;
}

/* One SA into a snapshot being built: its SPI if inbound, its selectors as rules. */
static int
tables_add(const struct ms_sadb *db, struct ms_tables *t, uint32_t slot,
	   struct ms_spd_rule *rules, unsigned int *nr, char *err, unsigned int errlen)
{
	const struct ms_sa *sa = db->sa[slot];
	struct ms_target *tg = &t->tg[slot];
	uint32_t prio = sa->prio;

	t->rt[t->nb_rt++] = sa->rt;
	if (sa->spec.dir == MS_DIR_IN) {
		union rte_ipsec_sad_key key = { 0 };
		int rc;

		key.v4.spi = rte_cpu_to_be_32(sa->spec.spi);
		rc = rte_ipsec_sad_add(t->sad, &key, RTE_IPSEC_SAD_SPI_ONLY, sa->rt);
		if (rc != 0) {
			snprintf(err, errlen, "rte_ipsec_sad_add failed: %s", strerror(-rc));
			return rc;
		}
	}
	if (!ms_sadb_in_group(sa)) {
		tg->nb = 1;
		tg->rt[0] = sa->rt;
		add_rules(sa, slot, prio, rules, nr);
	} else if (sa->spec.lane == 0 && group_target(db, sa->spec.group, tg, &prio)) {
		/* A group once, at its lane 0, with that lane's selectors. */
		add_rules(sa, slot, prio, rules, nr);
	}
	return 0;
}

/* Build a snapshot of every SA in db and of the configuration as it is now. */
struct ms_tables *
ms_sadb_tables_build(struct ms_sadb *db, char *err, unsigned int errlen)
{
	struct ms_spd_rule *rules;
	struct ms_tables *t;
	unsigned int nr = 0, nsel = 0;
	char name[32];
	int rc = -ENOMEM;

	db->gen++;
	t = tables_alloc(db, err, errlen);
	/* At most two rules per selector (add_rules); every field written there. */
	for (uint32_t slot = 0; slot < db->max_sa; slot++)
		if (db->sa[slot] != NULL)
			nsel += db->sa[slot]->spec.nb_sel;
	rules = malloc(sizeof(*rules) * RTE_MAX(2 * nsel, 1u));
	if (t == NULL || rules == NULL) {
		if (t != NULL)	/* else tables_alloc() said why */
			snprintf(err, errlen, "out of memory building SA tables");
		goto fail;
	}
	rc = db->ops.path != NULL ? db->ops.path(db->ops.arg, &t->path, err, errlen) : 0;
	for (uint32_t slot = 0; rc == 0 && slot < db->max_sa; slot++)
		if (db->sa[slot] != NULL)
			rc = tables_add(db, t, slot, rules, &nr, err, errlen);
	if (rc == 0) {
		snprintf(name, sizeof(name), "msacl%" PRIu64, db->gen);
		rc = ms_spd_build_from(&t->spd, db->cur != NULL ? &db->cur->spd : NULL, name, rules,
				       nr, db->env.socket, err, errlen);
	}
	if (rc != 0)
		goto fail;
	free(rules);
	return t;
fail:
	free(rules);
	ms_sadb_tables_free(t);
	return NULL;
}

/* Publish a new snapshot, wait until no worker can still see the old one. */
void
ms_sadb_tables_swap(struct ms_sadb *db, struct ms_tables *t)
{
	struct ms_tables *old = db->cur;

	__atomic_store_n(&db->cur, t, __ATOMIC_RELEASE);
	ms_sadb_grace(db->rcu);
	ms_sadb_tables_free(old);
	db->changes++;
}

