/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * After a restart of migsec-control: rebuild its migrations from the data
 * plane's SAs, read back from their "mc1|" tags (written by mc_mig_sa.c).
 * The keys are gone: a recovered migration runs on until it ends, without
 * rekey. Its owner comes back from the tags' mark if that identity is still
 * configured (not as an observer); otherwise only an admin may end it.
 * Runs once, on migsec-control's one thread, before it serves.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mc_audit.h"
#include "mc_authz.h"
#include "mc_dpc.h"
#include "mc_mig_int.h"

struct tag {
	char id[MC_ID_MAX + 1];
	char role, policy, kind;
	unsigned int gen, lane, nb;
	unsigned long long expires;
	char owner[MC_OWNER_TAG_LEN + 1];	/* "": none, or a tag of an older version */
};

static int
parse_tag(const char *t, struct tag *g)
{
	_Static_assert(MC_ID_MAX == 32, "the format's width");
	_Static_assert(MC_OWNER_TAG_LEN == 16, "the format's width");
	if (t == NULL || strncmp(t, MC_TAG_PREFIX, strlen(MC_TAG_PREFIX)) != 0)
		return -1;
	g->owner[0] = '\0';
	if (sscanf(t, MC_TAG_FMT_IN, g->id, &g->role, &g->policy, &g->kind, &g->gen, &g->lane,
		   &g->nb, &g->expires, g->owner) < 8 ||
	    g->nb == 0 || g->nb > MC_LANES_MAX || g->lane >= g->nb)
		return -1;
	return 0;
}

/* Selectors as the source sees them: an SA of the other way is mirrored. */
static void
sels_recover(struct mc_mig *m, const struct tag *g, json_t *sels)
{
	char err[128];

	for (size_t i = 0; i < json_array_size(sels) && m->nb_sel < MC_SEL_MAX; i++) {
		struct ms_sel s;

		if (ms_sel_parse(json_string_value(json_array_get(sels, i)), &s, err, sizeof(err)))
			continue;
		if (g->kind == 'b' && i % 2)
			continue;	/* a bypass rule holds both ways: keep the first */
		if (g->kind != 'b' && (g->kind == 'o') != (m->role == MC_ROLE_SOURCE))
			ms_sel_mirror(&s, &m->sel[m->nb_sel++]);
		else
			m->sel[m->nb_sel++] = s;
	}
}

/* The migration of this tag: found, or a new one from the SA's addresses. */
static struct mc_mig *
recovered(struct mc_state *st, const struct tag *g, json_t *sa)
{
	struct mc_mig *m = mc_mig_find(st, g->id);
	const char *owner;

	if (m != NULL)
		return m;
	m = mc_mig_free_slot(st);
	if (m == NULL)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->used = true;
	snprintf(m->id, sizeof(m->id), "%s", g->id);
	snprintf(m->vm, sizeof(m->vm), "(recovered)");
	m->role = g->role == 's' ? MC_ROLE_SOURCE : MC_ROLE_DESTINATION;
	m->policy = g->policy == 'r' ? MC_POL_REQUIRED : g->policy == 'o' ? MC_POL_OPPORTUNISTIC
									 : MC_POL_DISABLED;
	m->expires = g->expires;
	/* Its owner, if it is still a configured operator or admin; else admins only. */
	owner = mc_authz_owner_by_tag(st->conf, g->owner);
	snprintf(m->owner, sizeof(m->owner), "%s", owner ? owner : "");
	m->lanes = g->kind == 'b' ? 1 : g->nb;
	m->started = m->gen_since = mc_now_s();
	ms_ip_parse(json_string_value(json_object_get(sa, "peer")), &m->peer);
	ms_ip_parse(json_string_value(json_object_get(sa, "local")), &m->local);
	sels_recover(m, g, json_object_get(sa, "selectors"));
	return m;
}

#define NEW_SET UINT_MAX

/*
 * Keep a migration's sets of one kind ordered by generation, the newest in
 * the last place: slots[0..n). Returns the set of generation gen, a new one
 * (nb = NEW_SET) if it was not there; an older set beyond n is forgotten.
 */
static struct mc_gen *
gen_slot(struct mc_gen **slots, int n, unsigned int gen)
{
	struct mc_gen all[4];
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (slots[i]->nb && slots[i]->gen == gen)
			return slots[i];
		if (slots[i]->nb)
			all[k++] = *slots[i];
	}
	memset(&all[k], 0, sizeof(all[k]));
	all[k].gen = gen;
	all[k++].nb = NEW_SET;
	for (int i = 1; i < k; i++)	/* by generation */
		for (int j = i; j > 0 && all[j].gen < all[j - 1].gen; j--) {
			struct mc_gen t = all[j];

			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	for (int i = 0; i < n; i++)
		memset(slots[i], 0, sizeof(*slots[i]));
	for (int i = 0; i < n && i < k; i++)
		*slots[n - 1 - i] = all[k - 1 - i];
	for (int i = 0; i < n; i++)
		if (slots[i]->nb == NEW_SET)
			return slots[i];
	return NULL;	/* older than every set kept */
}

static struct mc_gen *
slot_for(struct mc_mig *m, const struct tag *g)
{
	struct mc_gen *out[] = { &m->out_prev, &m->out };
	struct mc_gen *in[] = { &m->in_drain, &m->in_cur, &m->in_next };

	if (g->kind == 'b')
		return &m->bypass;
	return g->kind == 'o' ? gen_slot(out, 2, g->gen) : gen_slot(in, 3, g->gen);
}

/* One SA of the data plane's list into its migration; 1 if it was ours. */
static int
recover_sa(struct mc_state *st, json_t *sa)
{
	uint32_t id = (uint32_t)json_integer_value(json_object_get(sa, "id"));
	uint32_t grp = (uint32_t)json_integer_value(json_object_get(sa, "group"));
	struct mc_mig *m;
	struct mc_gen *set;
	struct tag g;

	if (id >= st->next_id)
		st->next_id = id + 1;
	if (grp >= st->next_group)
		st->next_group = grp + 1;
	if (parse_tag(json_string_value(json_object_get(sa, "tag")), &g) != 0)
		return 0;
	m = recovered(st, &g, sa);
	if (m == NULL)
		return 0;
	set = slot_for(m, &g);
	if (set == NULL)
		return 0;	/* an SA older than any kept: it expires with the migration */
	set->gen = g.gen;
	set->group = grp;
	set->nb = g.nb;
	set->lane[g.lane].id = id;
	set->lane[g.lane].spi = (uint32_t)json_integer_value(json_object_get(sa, "spi"));
	return 1;
}

int
mc_recover(struct mc_state *st)
{
	char err[256];
	json_t *list = mc_dp_list(st->conf->dp_socket, err, sizeof(err)), *sa;
	size_t i;
	int n = 0;

	if (list == NULL)
		return -ENOTCONN;
	json_array_foreach(list, i, sa)
		n += recover_sa(st, sa);
	json_decref(list);
	for (int k = 0; k < MC_MIG_MAX; k++) {
		if (!st->m[k].used)
			continue;
		if (st->m[k].in_drain.nb)
			st->m[k].drain_until = mc_now_s() + st->conf->drain_s;
		mc_audit("recovered", mc_mig_json(st, &st->m[k]));
	}
	return n;
}
