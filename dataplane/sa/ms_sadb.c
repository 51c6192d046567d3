/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>

#include "ms_log.h"
#include "ms_sadb.h"

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

/*
 * Wait until no worker can still see what was unpublished before this call.
 * rte_rcu_qsbr_synchronize() is exactly these two calls, but it lives in
 * librte_rcu, which a ThreadSanitizer build does not instrument: inlined
 * here, its acquire loads of the readers' counters are seen, and so is the
 * order between a worker's last read of a snapshot and its free.
 */
static void
grace_period(struct rte_rcu_qsbr *rcu)
{
	rte_rcu_qsbr_check(rcu, rte_rcu_qsbr_start(rcu), true);
}

static void
tables_free(struct ms_tables *t)
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

static bool
in_group(const struct ms_sa *sa)
{
	return sa != NULL && sa->spec.dir == MS_DIR_OUT && sa->spec.group != 0;
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

		if (!in_group(sa) || sa->spec.group != g)
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
	if (!in_group(sa)) {
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
static struct ms_tables *
tables_build(struct ms_sadb *db, char *err, unsigned int errlen)
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
	tables_free(t);
	return NULL;
}

/* Publish a new snapshot, wait until no worker can still see the old one. */
static void
tables_swap(struct ms_sadb *db, struct ms_tables *t)
{
	struct ms_tables *old = db->cur;

	__atomic_store_n(&db->cur, t, __ATOMIC_RELEASE);
	grace_period(db->rcu);
	tables_free(old);
	db->changes++;
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

		if (in_group(o) && o->spec.group == spec->group &&
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
	struct ms_tables *t = tables_build(db, err, errlen);

	if (t == NULL)
		return -ENOMEM;
	tables_swap(db, t);
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
		t = tables_build(db, err, errlen);
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
		tables_swap(db, t);
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
ms_sadb_del(struct ms_sadb *db, uint32_t id, char *err, unsigned int errlen)
{
	struct ms_tables *t;
	struct ms_sa *sa;
	int slot = find_slot(db, id);

	if (slot < 0) {
		snprintf(err, errlen, "no SA with id %u", id);
		return -ENOENT;
	}
	sa = db->sa[slot];
	db->sa[slot] = NULL;
	t = tables_build(db, err, errlen);
	if (t == NULL) {
		db->sa[slot] = sa;
		return -ENOMEM;
	}
	tables_swap(db, t);	/* after this no worker holds sa->rt */
	ms_sa_destroy(sa);
	ms_stats_reset_sa(db->stats, (uint32_t)slot);
	db->count--;
	return 0;
}

unsigned int
ms_sadb_expire(struct ms_sadb *db, uint64_t now)
{
	unsigned int n = 0;
	char err[128];

	for (uint32_t s = 0; s < db->max_sa; s++) {
		const struct ms_sa *sa = db->sa[s];
		uint32_t id;

		if (sa == NULL || sa->spec.expires == 0 || sa->spec.expires > now)
			continue;
		id = sa->spec.id;
		if (ms_sadb_del(db, id, err, sizeof(err)) == 0) {
			MS_LOG(NOTICE, "SA %u expired (lifetime over): deleted, its keys wiped", id);
			n++;
		}
	}
	return n;
}

void
ms_sadb_fini(struct ms_sadb *db)
{
	struct ms_tables *old = db->cur;

	if (db->sa == NULL)
		return;
	__atomic_store_n(&db->cur, NULL, __ATOMIC_RELEASE);
	if (db->rcu != NULL)
		grace_period(db->rcu);
	tables_free(old);
	for (uint32_t s = 0; s < db->max_sa; s++) {
		ms_sa_destroy(db->sa[s]);
		db->sa[s] = NULL;
	}
	db->count = 0;
	rte_free(db->sa);
	db->sa = NULL;
}
