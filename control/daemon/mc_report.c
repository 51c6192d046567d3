/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What migsec-control reports: every SA's counters read from the data
 * plane's SA list (and the tamper drops among them), a migration as JSON
 * (status replies, audit events), and the status and health replies.
 * Runs on migsec-control's one thread.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/crypto.h>

#include "ms_counters.h"
#include "ms_json.h"
#include "mc_audit.h"
#include "mc_dpc.h"
#include "mc_mig_int.h"

/*
 * The drop reasons of an inbound SA that mean tampering or replay (audited as
 * tamper_drops): the ones the data plane's table marks so
 * (common/ms_counters.h), by the names of its SA list's "drops" object.
 */
static const char *const tamper_reasons[] = { MS_DROP_REASONS(MS_DROP_TAMPER_NAME) NULL };

static uint64_t
tamper_of(json_t *sa, json_t *acc)
{
	json_t *d = json_object_get(sa, "drops");
	uint64_t n = 0;

	for (int i = 0; tamper_reasons[i]; i++) {
		json_int_t v = json_integer_value(json_object_get(d, tamper_reasons[i]));

		n += (uint64_t)v;
	}
	if (acc != NULL) {
		const char *k;
		json_t *v;

		json_object_foreach(d, k, v) {
			json_int_t old = json_integer_value(json_object_get(acc, k));

			json_object_set_new(acc, k, json_integer(old + json_integer_value(v)));
		}
	}
	return n;
}

static void
sa_update(struct mc_sa *sa, json_t *byid, json_t *acc)
{
	char key[16];
	json_t *j;

	if (sa->id == 0)
		return;
	snprintf(key, sizeof(key), "%u", sa->id);
	j = json_object_get(byid, key);
	if (j == NULL)
		return;
	sa->pkts = (uint64_t)json_integer_value(json_object_get(j, "pkts"));
	sa->bytes = (uint64_t)json_integer_value(json_object_get(j, "bytes"));
	sa->tamper = tamper_of(j, acc);
}

static void
gen_update(struct mc_gen *g, json_t *byid, json_t *acc)
{
	for (unsigned int l = 0; l < g->nb; l++)
		sa_update(&g->lane[l], byid, acc);
}

/* Every SA's counters, and its drops summed by reason into m->drops. */
static void
mig_update(struct mc_mig *m, json_t *byid)
{
	json_decref(m->drops);
	m->drops = json_object();
	gen_update(&m->out, byid, m->drops);
	gen_update(&m->out_prev, byid, m->drops);
	gen_update(&m->in_cur, byid, m->drops);
	gen_update(&m->in_next, byid, m->drops);
	gen_update(&m->in_drain, byid, m->drops);
	gen_update(&m->bypass, byid, m->drops);
}

json_t *
mc_refresh(struct mc_state *st)
{
	char err[256], key[16];
	json_t *list = mc_dp_list(st->conf->dp_socket, err, sizeof(err)), *byid, *sa;
	size_t i;

	if (list == NULL) {
		if (st->dp_up)
			mc_audit("dataplane_down", json_pack("{s:s}", "reason", err));
		st->dp_up = false;
		return NULL;
	}
	if (!st->dp_up)
		mc_audit("dataplane_up", NULL);
	st->dp_up = true;
	byid = json_object();
	json_array_foreach(list, i, sa) {
		snprintf(key, sizeof(key), "%lld", json_integer_value(json_object_get(sa, "id")));
		json_object_set(byid, key, sa);
	}
	json_decref(list);
	for (int k = 0; k < MC_MIG_MAX; k++)
		if (st->m[k].used)
			mig_update(&st->m[k], byid);
	return byid;
}

json_t *
mc_mig_ref(const struct mc_mig *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "migration", json_string(m->id));
	json_object_set_new(o, "vm", json_string(m->vm));
	return o;
}

/* The current generation lane by lane (sealed migrations). */
static json_t *
lanes_json(const struct mc_mig *m)
{
	json_t *a = json_array();

	for (unsigned int l = 0; l < m->out.nb && m->policy != MC_POL_DISABLED; l++) {
		const struct mc_sa *o = &m->out.lane[l], *i = &m->in_cur.lane[l];

		json_array_append_new(a, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "lane", (json_int_t)l,
			"spi_out", (json_int_t)o->spi, "out_pkts", (json_int_t)o->pkts,
			"out_bytes", (json_int_t)o->bytes, "spi_in", (json_int_t)i->spi,
			"in_pkts", (json_int_t)i->pkts, "in_bytes", (json_int_t)i->bytes));
	}
	return a;
}

/* Traffic over the migration's life: removed SAs' last counters plus the live ones. */
static void
totals_json(json_t *o, const struct mc_mig *m)
{
	uint64_t out_pkts = mc_gen_sum(&m->out, false) + mc_gen_sum(&m->out_prev, false) +
			    mc_gen_sum(&m->bypass, false);
	uint64_t out_bytes = mc_gen_sum(&m->out, true) + mc_gen_sum(&m->out_prev, true) +
			     mc_gen_sum(&m->bypass, true);
	uint64_t in_pkts = mc_gen_sum(&m->in_cur, false) + mc_gen_sum(&m->in_next, false) +
			   mc_gen_sum(&m->in_drain, false);
	uint64_t in_bytes = mc_gen_sum(&m->in_cur, true) + mc_gen_sum(&m->in_next, true) +
			    mc_gen_sum(&m->in_drain, true);

	json_object_set_new(o, "out_pkts", json_integer((json_int_t)(m->gone_out_pkts + out_pkts)));
	json_object_set_new(o, "out_bytes", json_integer((json_int_t)(m->gone_out_bytes + out_bytes)));
	json_object_set_new(o, "in_pkts", json_integer((json_int_t)(m->gone_in_pkts + in_pkts)));
	json_object_set_new(o, "in_bytes", json_integer((json_int_t)(m->gone_in_bytes + in_bytes)));
}

json_t *
mc_mig_json(const struct mc_state *st, const struct mc_mig *m)
{
	json_t *o = mc_mig_ref(m), *sels = json_array();
	uint64_t now = mc_now_s();
	char b[256];

	for (unsigned int i = 0; i < m->nb_sel; i++)
		json_array_append_new(sels, json_string(ms_sel_str(&m->sel[i], b, sizeof(b))));
	json_object_set_new(o, "appliance", json_string(st->conf->name));
	json_object_set_new(o, "policy", json_string(mc_policy_name(m->policy)));
	json_object_set_new(o, "role", json_string(mc_role_name(m->role)));
	json_object_set_new(o, "owner", m->owner[0] ? json_string(m->owner) : json_null());
	json_object_set_new(o, "peer", ms_ip_json(&m->peer));
	json_object_set_new(o, "selectors", sels);
	json_object_set_new(o, "sealed", json_boolean(m->policy != MC_POL_DISABLED));
	json_object_set_new(o, "generation", json_integer(m->out.gen));
	json_object_set_new(o, "rekeys", json_integer(m->rekeys));
	json_object_set_new(o, "lanes", json_integer(m->lanes));
	json_object_set_new(o, "spi_out", json_integer(m->out.lane[0].spi));
	json_object_set_new(o, "spi_in", json_integer(m->in_cur.lane[0].spi));
	json_object_set_new(o, "spi_in_next", json_integer(m->in_next.lane[0].spi));
	totals_json(o, m);
	json_object_set_new(o, "per_lane", lanes_json(m));
	json_object_set_new(o, "drops", m->drops ? json_incref(m->drops) : json_object());
	json_object_set_new(o, "age_s", json_integer((json_int_t)(now - m->started)));
	json_object_set_new(o, "expires_in_s", json_integer((json_int_t)(m->expires > now ?
									  m->expires - now : 0)));
	json_object_set_new(o, "keys", json_string(m->prk ? "held" :
		m->policy == MC_POL_DISABLED ? "none" : "lost in a restart: end, then start again"));
	return o;
}

char *
mc_report_status(struct mc_state *st, const struct mc_req *r)
{
	json_t *byid = mc_refresh(st), *a = json_array(), *o = json_object();

	json_decref(byid);
	for (int i = 0; i < MC_MIG_MAX; i++) {
		const struct mc_mig *m = &st->m[i];

		if (m->used && (r->id[0] == '\0' || strcmp(m->id, r->id) == 0))
			json_array_append_new(a, mc_mig_json(st, m));
	}
	if (r->id[0] != '\0' && json_array_size(a) == 0) {
		json_decref(a);
		json_decref(o);
		return mc_mig_err("not_found", "no migration '%s' here", r->id);
	}
	json_object_set_new(o, "appliance", json_string(st->conf->name));
	json_object_set_new(o, "dataplane", json_string(st->dp_up ? "up" : "down"));
	json_object_set_new(o, "migrations", a);
	/* The data plane's own counters: appliance, ports, workers, every drop
	 * reason, and its crypto devices'. */
	if (st->dp_up) {
		char err[256];
		json_t *c = mc_dp_stats(st->conf->dp_socket, err, sizeof(err));
		json_t *cr = mc_dp_crypto(st->conf->dp_socket, err, sizeof(err));

		if (c != NULL)
			json_object_set_new(o, "counters", c);
		if (cr != NULL)
			json_object_set_new(o, "crypto", cr);
	}
	return mc_msg_ok(o);
}

char *
mc_report_health(struct mc_state *st)
{
	static const char *const load_keys[] = { "poll_mode", "power", "tsc_hz",
		"worker_load" };
	char err[256];
	json_t *ping = mc_dp_ping(st->conf->dp_socket, err, sizeof(err)), *o = json_object();
	int n = 0;

	for (int i = 0; i < MC_MIG_MAX; i++)
		n += st->m[i].used;
	json_object_set_new(o, "appliance", json_string(st->conf->name));
	json_object_set_new(o, "version", json_string(MS_VERSION));
	json_object_set_new(o, "migrations", json_integer(n));
	/* Locked key memory in use (keys, and OpenSSL's own private keys). */
	json_object_set_new(o, "key_memory_bytes", json_integer((json_int_t)CRYPTO_secure_used()));
	json_object_set_new(o, "dumpable", json_boolean(prctl(PR_GET_DUMPABLE) == 1));
	if (ping != NULL) {
		json_object_set_new(o, "dataplane", json_string("up"));
		json_object_set_new(o, "workers", json_incref(json_object_get(ping, "workers")));
		json_object_set_new(o, "crypto_driver",
				    json_incref(json_object_get(ping, "crypto_driver")));
		json_object_set_new(o, "default_policy", json_incref(json_object_get(ping, "policy")));
		/* How busy the workers are (cumulative TSC cycles since start). */
		for (size_t k = 0; k < sizeof(load_keys) / sizeof(load_keys[0]); k++)
			if (json_object_get(ping, load_keys[k]))
				json_object_set(o, load_keys[k], json_object_get(ping, load_keys[k]));
		json_decref(ping);
	} else {
		json_object_set_new(o, "dataplane", json_string("down"));
		json_object_set_new(o, "dataplane_error", json_string(err));
	}
	return mc_msg_ok(o);
}
