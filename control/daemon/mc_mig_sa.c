/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A migration's SAs towards the data plane: the spec of each lane (keys
 * from mc_kdf.c, selectors, the tag mc_recover.c reads back), install and
 * removal of whole generations. Runs on migsec-control's one thread.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mc_audit.h"
#include "mc_authz.h"
#include "mc_dpc.h"
#include "mc_kdf.h"
#include "mc_mig_int.h"

#define EXPIRY_GRACE_S 5	/* the data plane's own deadline, after ours */

/* Which way the keys of this SA's traffic go, and its selectors. */
static enum mc_kdir
kdir_of(const struct mc_mig *m, enum mc_sa_kind k)
{
	bool src = m->role == MC_ROLE_SOURCE;

	return (k == MC_K_OUT) == src ? MC_S2D : MC_D2S;
}

static void
sels_fill(const struct mc_mig *m, enum mc_sa_kind k, struct ms_sa_spec *s)
{
	bool s2d = k != MC_K_BYPASS && kdir_of(m, k) == MC_S2D;

	for (unsigned int i = 0; i < m->nb_sel; i++) {
		if (k == MC_K_BYPASS) {	/* both ways */
			s->sel[s->nb_sel++] = m->sel[i];
			ms_sel_mirror(&m->sel[i], &s->sel[s->nb_sel++]);
		} else if (s2d) {
			s->sel[s->nb_sel++] = m->sel[i];
		} else {
			ms_sel_mirror(&m->sel[i], &s->sel[s->nb_sel++]);
		}
	}
}

static void
spec_fill(struct mc_state *st, const struct mc_mig *m, enum mc_sa_kind k, const struct mc_gen *g,
	  unsigned int lane, struct ms_sa_spec *s)
{
	static const char kc[] = { 'o', 'i', 'b' };
	char owner[MC_OWNER_TAG_LEN + 1] = "";

	memset(s, 0, sizeof(*s));
	s->id = st->next_id++;
	s->dir = k == MC_K_OUT ? MS_DIR_OUT : k == MC_K_IN ? MS_DIR_IN : MS_DIR_BYPASS;
	s->inner_af = m->sel[0].src.ip.af;
	/* Lane l leaves from UDP port 4500 + l: the receiver's RSS spreads lanes. */
	s->sport = (uint16_t)(4500 + (k == MC_K_BYPASS ? 0 : lane));
	s->dport = 4500;
	s->replay_window = m->window;
	s->seq_start = 1;
	s->expires = m->expires + EXPIRY_GRACE_S;
	s->local = m->local;
	s->peer = m->peer;
	if (k == MC_K_OUT) {
		s->group = g->group;
		s->lane = (uint16_t)lane;
		s->nb_lanes = (uint16_t)g->nb;
	}
	sels_fill(m, k, s);
	if (m->owner[0] != '\0')
		mc_authz_owner_tag(m->owner, owner);
	snprintf(s->tag, sizeof(s->tag), MC_TAG_FMT_OUT, m->id,
		 m->role == MC_ROLE_SOURCE ? 's' : 'd', mc_policy_name(m->policy)[0], kc[k], g->gen,
		 lane, g->nb, (unsigned long long)m->expires, owner);
}

/* Lane lane's spec with its derived key (the caller wipes s). */
static int
spec_keyed(struct mc_state *st, struct mc_mig *m, enum mc_sa_kind k, const struct mc_gen *g,
	   unsigned int lane, struct ms_sa_spec *s, char *err, size_t errlen)
{
	struct mc_esp_keys keys;
	int rc;

	spec_fill(st, m, k, g, lane, s);
	if (k == MC_K_BYPASS)
		return 0;
	rc = mc_kdf_esp(m->prk, m->id, kdir_of(m, k), g->gen, lane, &keys);
	if (rc != 0) {
		snprintf(err, errlen, "key derivation failed");
		return rc;
	}
	memcpy(s->key, keys.key, sizeof(s->key));
	memcpy(s->salt, keys.salt, sizeof(s->salt));
	s->spi = keys.spi;
	OPENSSL_cleanse(&keys, sizeof(keys));
	return 0;
}

/*
 * Remove every lane of gens[0..n) in one request to the data plane (one
 * table update); their counters go to the migration's totals. An SA the
 * data plane no longer held (expired there, or deleted by an operator) is
 * audited but was no key left behind; the others are deleted all the same.
 */
static void
gens_remove(struct mc_state *st, struct mc_mig *m, struct mc_gen *const *gens,
	    const bool *outbound, unsigned int n)
{
	uint32_t ids[6 * MC_LANES_MAX];
	bool absent[6 * MC_LANES_MAX];
	unsigned int k = 0;
	char err[256] = "";
	int rc = 0;

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int l = 0; l < gens[i]->nb && k < sizeof(ids) / sizeof(ids[0]); l++)
			if (gens[i]->lane[l].id != 0)
				ids[k++] = gens[i]->lane[l].id;
	if (k > 0)
		rc = mc_dp_del_batch(st->conf->dp_socket, ids, k, absent, err, sizeof(err));
	for (unsigned int i = 0; st->dp_up && i < k; i++) {
		char why[300];

		if (rc == 0 && !absent[i])
			continue;
		snprintf(why, sizeof(why), "%s", rc != 0 ? err :
			 "the data plane no longer held it (expired or deleted there): no key left");
		mc_audit("sa_remove_failed", json_pack("{s:s,s:I,s:s}", "migration", m->id, "sa",
						       (json_int_t)ids[i], "reason", why));
	}
	for (unsigned int i = 0; i < n; i++) {
		for (unsigned int l = 0; l < gens[i]->nb; l++) {
			const struct mc_sa *sa = &gens[i]->lane[l];

			if (outbound[i]) {
				m->gone_out_pkts += sa->pkts;
				m->gone_out_bytes += sa->bytes;
			} else {
				m->gone_in_pkts += sa->pkts;
				m->gone_in_bytes += sa->bytes;
			}
		}
		memset(gens[i], 0, sizeof(*gens[i]));
	}
}

void
mc_gen_remove(struct mc_state *st, struct mc_mig *m, struct mc_gen *g, bool outbound)
{
	gens_remove(st, m, &g, &outbound, 1);
}

/* Every lane of generation gen (a bypass rule: one), or none. */
int
mc_gen_install(struct mc_state *st, struct mc_mig *m, enum mc_sa_kind k, uint32_t gen,
	       struct mc_gen *g, char *err, size_t errlen)
{
	struct ms_sa_spec s[MC_LANES_MAX];
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->gen = gen;
	g->nb = k == MC_K_BYPASS ? 1 : m->lanes;
	if (k == MC_K_OUT)
		g->group = st->next_group++;
	/*
	 * Every lane in one request: the data plane adds all or none, in one
	 * table update. A request that went unanswered leaves its SAs to
	 * the reconciliation (mc_dpc.c).
	 */
	for (unsigned int l = 0; l < g->nb && rc == 0; l++)
		rc = spec_keyed(st, m, k, g, l, &s[l], err, errlen);
	if (rc == 0)
		rc = mc_dp_add_batch(st->conf->dp_socket, s, g->nb, err, errlen);
	for (unsigned int l = 0; rc == 0 && l < g->nb; l++) {
		memset(&g->lane[l], 0, sizeof(g->lane[l]));
		g->lane[l].id = s[l].id;
		g->lane[l].spi = s[l].spi;
	}
	OPENSSL_cleanse(s, sizeof(s));
	if (rc != 0)
		memset(g, 0, sizeof(*g));
	return rc;
}

void
mc_gen_remove_all(struct mc_state *st, struct mc_mig *m)
{
	struct mc_gen *gens[] = { &m->out, &m->out_prev, &m->in_cur, &m->in_next, &m->in_drain,
				  &m->bypass };
	static const bool outbound[] = { true, true, false, false, false, true };

	gens_remove(st, m, gens, outbound, 6);	/* every SA of the migration in one update */
}

uint64_t
mc_gen_sum(const struct mc_gen *g, bool bytes)
{
	uint64_t n = 0;

	for (unsigned int l = 0; l < g->nb; l++)
		n += bytes ? g->lane[l].bytes : g->lane[l].pkts;
	return n;
}
