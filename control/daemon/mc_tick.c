/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Once a second (mc_tick, from mc_server.c's poll loop, migsec-control's one
 * thread): a migration whose SAs the data plane lost, whose lifetime or byte
 * limit is reached, ends; automatic rekeys by time and bytes; the inbound
 * side follows the peer's rekey; drained SAs are retired; tamper drops are
 * audited.
 */
#include <stdio.h>
#include <string.h>

#include "mc_audit.h"
#include "mc_mig_int.h"

/* Every SA of g is still in the data plane's list. */
static bool
gen_present(const struct mc_gen *g, json_t *byid)
{
	char key[16];

	for (unsigned int l = 0; l < g->nb; l++) {
		snprintf(key, sizeof(key), "%u", g->lane[l].id);
		if (g->lane[l].id != 0 && json_object_get(byid, key) == NULL)
			return false;
	}
	return true;
}

static void
advance_inbound(struct mc_state *st, struct mc_mig *m, uint64_t now)
{
	char err[256];
	struct mc_gen next;

	if (m->in_next.nb == 0 || mc_gen_sum(&m->in_next, false) == 0)
		return;
	/* The peer switched to in_next: keep the old one drain_s, open the one after. */
	if (mc_gen_install(st, m, MC_K_IN, m->in_next.gen + 1, &next, err, sizeof(err)) != 0) {
		mc_audit("rekey_failed", json_pack("{s:s,s:s}", "migration", m->id, "reason", err));
		return;
	}
	mc_gen_remove(st, m, &m->in_drain, false);
	m->in_drain = m->in_cur;
	m->drain_until = now + st->conf->drain_s;
	m->in_cur = m->in_next;
	m->in_next = next;
	mc_audit("peer_rekeyed", json_pack("{s:s,s:{s:I,s:I},s:{s:I,s:I}}", "migration", m->id,
		 "from", "generation", (json_int_t)m->in_drain.gen, "spi",
		 (json_int_t)m->in_drain.lane[0].spi, "to", "generation", (json_int_t)m->in_cur.gen,
		 "spi", (json_int_t)m->in_cur.lane[0].spi));
}

static void
report_drops(struct mc_state *st, struct mc_mig *m, uint64_t now)
{
	struct mc_gen *gens[] = { &m->out, &m->out_prev, &m->in_cur, &m->in_next, &m->in_drain,
				  &m->bypass };

	if (now - m->last_report < st->conf->drop_report_s)
		return;
	m->last_report = now;
	for (unsigned int i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		for (unsigned int l = 0; l < gens[i]->nb; l++) {
			struct mc_sa *sa = &gens[i]->lane[l];

			if (sa->id == 0 || sa->tamper <= sa->reported)
				continue;
			mc_audit("tamper_drops", json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "migration",
				 m->id, "sa", (json_int_t)sa->id, "spi", (json_int_t)sa->spi,
				 "lane", (json_int_t)l, "dropped", (json_int_t)(sa->tamper - sa->reported),
				 "interval_s", (json_int_t)st->conf->drop_report_s));
			sa->reported = sa->tamper;
		}
	}
}

/* If cond, m ends with that audit event. */
static bool
end_if(struct mc_state *st, struct mc_mig *m, bool cond, const char *event, const char *by)
{
	if (cond)
		mc_mig_end(st, m, event, by);
	return cond;
}

/* Lost SAs (the data plane restarted, or expired them), lifetime, byte limit. */
static bool
ended(struct mc_state *st, struct mc_mig *m, json_t *byid, uint64_t now)
{
	bool lost = !gen_present(&m->out, byid) || !gen_present(&m->in_cur, byid) ||
		    !gen_present(&m->bypass, byid);

	return end_if(st, m, lost, "sas_lost", "dataplane") ||
	       end_if(st, m, now >= m->expires, "timeout", "lifetime") ||
	       end_if(st, m, m->max_bytes && m->gone_out_bytes + mc_gen_sum(&m->out, true) +
			     mc_gen_sum(&m->bypass, true) >= m->max_bytes, "limit", "max_bytes");
}

/* Rekeys by time or bytes, and the inbound side after the peer's (keys needed). */
static void
rekeys(struct mc_state *st, struct mc_mig *m, uint64_t now)
{
	char err[256];

	if (m->prk == NULL)
		return;
	if (m->rekey_s && now - m->gen_since >= m->rekey_s)
		mc_mig_rekey(st, m, "lifetime", "timer", err, sizeof(err));
	else if (m->rekey_bytes && mc_gen_sum(&m->out, true) >= m->rekey_bytes)
		mc_mig_rekey(st, m, "bytes", "counter", err, sizeof(err));
	advance_inbound(st, m, now);
}

void
mc_tick(struct mc_state *st)
{
	json_t *byid = mc_refresh(st);
	uint64_t now = mc_now_s();

	for (int i = 0; byid != NULL && i < MC_MIG_MAX; i++) {
		struct mc_mig *m = &st->m[i];

		if (!m->used || ended(st, m, byid, now))
			continue;
		rekeys(st, m, now);
		if (m->in_drain.nb != 0 && now >= m->drain_until) {
			mc_audit("sa_retired", json_pack("{s:s,s:I,s:I}", "migration", m->id,
				 "generation", (json_int_t)m->in_drain.gen, "spi",
				 (json_int_t)m->in_drain.lane[0].spi));
			mc_gen_remove(st, m, &m->in_drain, false);
		}
		report_drops(st, m, now);
	}
	json_decref(byid);
}
