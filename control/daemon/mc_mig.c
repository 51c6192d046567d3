/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ms_json.h"
#include "mc_audit.h"
#include "mc_dpc.h"
#include "mc_kdf.h"
#include "mc_mig.h"
#include "mc_secmem.h"

#define TAG_PREFIX "mc1|"
#define EXPIRY_GRACE_S 5	/* the data plane's own deadline, after ours */

/* One SA of a migration in the data plane. */
struct mc_sa {
	uint32_t id;		/* 0: none */
	uint32_t spi;
	uint64_t pkts, bytes;	/* as last read */
	uint64_t tamper;	/* tamper/replay drops as last read */
	uint64_t reported;	/* ... of which audited */
};

/* One generation in one direction: its lanes (one SA each), or a bypass rule. */
struct mc_gen {
	uint32_t gen;
	uint32_t group;		/* outbound: the data plane's lane group */
	unsigned int nb;	/* lanes; 0: none */
	struct mc_sa lane[MC_LANES_MAX];
};

struct mc_mig {
	bool used;
	char id[MC_ID_MAX + 1];
	char vm[MC_VM_MAX + 1];
	enum mc_policy policy;
	enum mc_role role;
	struct ms_ip local, peer;
	unsigned int nb_sel;
	struct ms_sel sel[MC_SEL_MAX];	/* source -> destination */
	uint8_t *prk;			/* secure heap; NULL after a restart */
	uint64_t started, expires, gen_since;
	uint64_t max_bytes, rekey_s, rekey_bytes;
	uint32_t window;
	uint32_t lanes;
	uint32_t rekeys;
	struct mc_gen out, in_cur, in_next, in_drain, bypass;
	struct mc_gen out_prev;		/* during a rekey: the outbound lanes being replaced */
	uint64_t drain_until;
	uint64_t gone_out_pkts, gone_out_bytes, gone_in_pkts, gone_in_bytes;
	uint64_t last_report;
	json_t *drops;			/* non-zero drops by reason over its SAs */
};

struct mc_state {
	const struct mc_conf *conf;
	uint32_t next_id;
	uint32_t next_group;
	bool dp_up;
	struct mc_mig m[MC_MIG_MAX];
};

static const char *const tamper_reasons[] = { "icv_fail", "replay", "outside_window",
	"bad_trailer", "decap_malformed", "selector_mismatch", "peer_mismatch", "plaintext_for_sa",
	NULL };

static uint64_t
now_s(void)
{
	return (uint64_t)time(NULL);
}

struct mc_state *
mc_state_new(const struct mc_conf *conf)
{
	struct mc_state *st = calloc(1, sizeof(*st));

	if (st != NULL) {
		st->conf = conf;
		st->next_id = 1;
		st->next_group = 1;
		st->dp_up = true;
	}
	return st;
}

static void
mig_free(struct mc_mig *m)
{
	mc_secure_free(m->prk, MC_PRK_LEN);
	json_decref(m->drops);
	OPENSSL_cleanse(m, sizeof(*m));
}

void
mc_state_free(struct mc_state *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (st->m[i].used)
			mig_free(&st->m[i]);
	free(st);
}

static struct mc_mig *
find(struct mc_state *st, const char *id)
{
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (st->m[i].used && strcmp(st->m[i].id, id) == 0)
			return &st->m[i];
	return NULL;
}

static json_t *
mig_ref(const struct mc_mig *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "migration", json_string(m->id));
	json_object_set_new(o, "vm", json_string(m->vm));
	return o;
}

/* ---- SAs ---------------------------------------------------------------- */

enum sa_kind { K_OUT, K_IN, K_BYPASS };

/* Which way the keys of this SA's traffic go, and its selectors. */
static enum mc_kdir
kdir_of(const struct mc_mig *m, enum sa_kind k)
{
	bool src = m->role == MC_ROLE_SOURCE;

	return (k == K_OUT) == src ? MC_S2D : MC_D2S;
}

static void
spec_fill(struct mc_state *st, const struct mc_mig *m, enum sa_kind k, const struct mc_gen *g,
	  unsigned int lane, struct ms_sa_spec *s)
{
	static const char kc[] = { 'o', 'i', 'b' };
	bool s2d = k != K_BYPASS && kdir_of(m, k) == MC_S2D;

	memset(s, 0, sizeof(*s));
	s->id = st->next_id++;
	s->dir = k == K_OUT ? MS_DIR_OUT : k == K_IN ? MS_DIR_IN : MS_DIR_BYPASS;
	s->inner_af = m->sel[0].src.ip.af;
	/* Lane l leaves from UDP port 4500 + l: the receiver's RSS spreads lanes. */
	s->sport = (uint16_t)(4500 + (k == K_BYPASS ? 0 : lane));
	s->dport = 4500;
	s->replay_window = m->window;
	s->seq_start = 1;
	s->expires = m->expires + EXPIRY_GRACE_S;
	s->local = m->local;
	s->peer = m->peer;
	if (k == K_OUT) {
		s->group = g->group;
		s->lane = (uint16_t)lane;
		s->nb_lanes = (uint16_t)g->nb;
	}
	for (unsigned int i = 0; i < m->nb_sel; i++) {
		if (k == K_BYPASS) {	/* both ways */
			s->sel[s->nb_sel++] = m->sel[i];
			ms_sel_mirror(&m->sel[i], &s->sel[s->nb_sel++]);
		} else if (s2d) {
			s->sel[s->nb_sel++] = m->sel[i];
		} else {
			ms_sel_mirror(&m->sel[i], &s->sel[s->nb_sel++]);
		}
	}
	snprintf(s->tag, sizeof(s->tag), TAG_PREFIX "%s|%c|%c|%c|%x|%x|%x|%llu", m->id,
		 m->role == MC_ROLE_SOURCE ? 's' : 'd', mc_policy_name(m->policy)[0], kc[k], g->gen,
		 lane, g->nb, (unsigned long long)m->expires);
}

static int
sa_install(struct mc_state *st, struct mc_mig *m, enum sa_kind k, const struct mc_gen *g,
	   unsigned int lane, struct mc_sa *sa, char *err, size_t errlen)
{
	struct ms_sa_spec s;
	struct mc_esp_keys keys;
	int rc = 0;

	spec_fill(st, m, k, g, lane, &s);
	if (k != K_BYPASS) {
		rc = mc_kdf_esp(m->prk, m->id, kdir_of(m, k), g->gen, lane, &keys);
		if (rc != 0) {
			snprintf(err, errlen, "key derivation failed");
			return rc;
		}
		memcpy(s.key, keys.key, sizeof(s.key));
		memcpy(s.salt, keys.salt, sizeof(s.salt));
		s.spi = keys.spi;
		OPENSSL_cleanse(&keys, sizeof(keys));
	}
	rc = mc_dp_add(st->conf->dp_socket, &s, err, errlen);
	if (rc == 0) {
		memset(sa, 0, sizeof(*sa));
		sa->id = s.id;
		sa->spi = s.spi;
	}
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

/* Remove an SA; its counters go to the migration's totals. */
static void
sa_remove(struct mc_state *st, struct mc_mig *m, struct mc_sa *sa, bool outbound)
{
	char err[256];

	if (sa->id == 0)
		return;
	if (mc_dp_del(st->conf->dp_socket, sa->id, err, sizeof(err)) != 0 && st->dp_up)
		mc_audit("sa_remove_failed", json_pack("{s:s,s:I,s:s}", "migration", m->id,
						       "sa", (json_int_t)sa->id, "reason", err));
	if (outbound) {
		m->gone_out_pkts += sa->pkts;
		m->gone_out_bytes += sa->bytes;
	} else {
		m->gone_in_pkts += sa->pkts;
		m->gone_in_bytes += sa->bytes;
	}
	memset(sa, 0, sizeof(*sa));
}

static void
gen_remove(struct mc_state *st, struct mc_mig *m, struct mc_gen *g, bool outbound)
{
	for (unsigned int l = 0; l < g->nb; l++)
		sa_remove(st, m, &g->lane[l], outbound);
	memset(g, 0, sizeof(*g));
}

/* Every lane of generation gen (a bypass rule: one), or none. */
static int
gen_install(struct mc_state *st, struct mc_mig *m, enum sa_kind k, uint32_t gen, struct mc_gen *g,
	    char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	g->gen = gen;
	g->nb = k == K_BYPASS ? 1 : m->lanes;
	if (k == K_OUT)
		g->group = st->next_group++;
	for (unsigned int l = 0; l < g->nb; l++) {
		int rc = sa_install(st, m, k, g, l, &g->lane[l], err, errlen);

		if (rc != 0) {
			gen_remove(st, m, g, k != K_IN);
			return rc;
		}
	}
	return 0;
}

static void
remove_all(struct mc_state *st, struct mc_mig *m)
{
	gen_remove(st, m, &m->out, true);
	gen_remove(st, m, &m->out_prev, true);
	gen_remove(st, m, &m->in_cur, false);
	gen_remove(st, m, &m->in_next, false);
	gen_remove(st, m, &m->in_drain, false);
	gen_remove(st, m, &m->bypass, true);
}

static uint64_t
gen_sum(const struct mc_gen *g, bool bytes)
{
	uint64_t n = 0;

	for (unsigned int l = 0; l < g->nb; l++)
		n += bytes ? g->lane[l].bytes : g->lane[l].pkts;
	return n;
}

/* ---- counters from the data plane --------------------------------------- */

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

/* Read every SA's counters. Returns the SAs by id, or NULL if the data plane is down. */
static json_t *
refresh(struct mc_state *st)
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
	for (int m = 0; m < MC_MIG_MAX; m++) {
		struct mc_mig *g = &st->m[m];

		if (!g->used)
			continue;
		json_decref(g->drops);
		g->drops = json_object();
		gen_update(&g->out, byid, g->drops);
		gen_update(&g->out_prev, byid, g->drops);
		gen_update(&g->in_cur, byid, g->drops);
		gen_update(&g->in_next, byid, g->drops);
		gen_update(&g->in_drain, byid, g->drops);
		gen_update(&g->bypass, byid, g->drops);
	}
	return byid;
}

/* ---- requests ----------------------------------------------------------- */

static char * __attribute__((format(printf, 2, 3)))
err_reply(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mc_msg_error(code, msg);
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

static json_t *
mig_json(const struct mc_state *st, const struct mc_mig *m)
{
	json_t *o = mig_ref(m), *sels = json_array();
	uint64_t now = now_s();
	char b[256];

	for (unsigned int i = 0; i < m->nb_sel; i++)
		json_array_append_new(sels, json_string(ms_sel_str(&m->sel[i], b, sizeof(b))));
	json_object_set_new(o, "appliance", json_string(st->conf->name));
	json_object_set_new(o, "policy", json_string(mc_policy_name(m->policy)));
	json_object_set_new(o, "role", json_string(mc_role_name(m->role)));
	json_object_set_new(o, "peer", ms_ip_json(&m->peer));
	json_object_set_new(o, "selectors", sels);
	json_object_set_new(o, "sealed", json_boolean(m->policy != MC_POL_DISABLED));
	json_object_set_new(o, "generation", json_integer(m->out.gen));
	json_object_set_new(o, "rekeys", json_integer(m->rekeys));
	json_object_set_new(o, "lanes", json_integer(m->lanes));
	json_object_set_new(o, "spi_out", json_integer(m->out.lane[0].spi));
	json_object_set_new(o, "spi_in", json_integer(m->in_cur.lane[0].spi));
	json_object_set_new(o, "spi_in_next", json_integer(m->in_next.lane[0].spi));
	json_object_set_new(o, "out_pkts", json_integer((json_int_t)(m->gone_out_pkts +
		gen_sum(&m->out, false) + gen_sum(&m->out_prev, false) + gen_sum(&m->bypass, false))));
	json_object_set_new(o, "out_bytes", json_integer((json_int_t)(m->gone_out_bytes +
		gen_sum(&m->out, true) + gen_sum(&m->out_prev, true) + gen_sum(&m->bypass, true))));
	json_object_set_new(o, "in_pkts", json_integer((json_int_t)(m->gone_in_pkts +
		gen_sum(&m->in_cur, false) + gen_sum(&m->in_next, false) + gen_sum(&m->in_drain, false))));
	json_object_set_new(o, "in_bytes", json_integer((json_int_t)(m->gone_in_bytes +
		gen_sum(&m->in_cur, true) + gen_sum(&m->in_next, true) + gen_sum(&m->in_drain, true))));
	json_object_set_new(o, "per_lane", lanes_json(m));
	json_object_set_new(o, "drops", m->drops ? json_incref(m->drops) : json_object());
	json_object_set_new(o, "age_s", json_integer((json_int_t)(now - m->started)));
	json_object_set_new(o, "expires_in_s", json_integer((json_int_t)(m->expires > now ?
									  m->expires - now : 0)));
	json_object_set_new(o, "keys", json_string(m->prk ? "held" :
		m->policy == MC_POL_DISABLED ? "none" : "lost in a restart: end, then start again"));
	return o;
}

static int
local_for(const struct mc_state *st, const struct ms_ip *peer, struct ms_ip *local)
{
	const struct ms_ip *l = peer->af == MS_AF_INET ? &st->conf->outer4 : &st->conf->outer6;

	if (l->af != peer->af)
		return -1;
	*local = *l;
	return 0;
}

/* One lane per data plane worker at least: worker w seals with lane w. */
static int
lanes_enough(const struct mc_state *st, uint32_t lanes, char *err, size_t errlen)
{
	json_t *ping = mc_dp_ping(st->conf->dp_socket, err, errlen);
	json_int_t workers;

	if (ping == NULL)
		return -ENOTCONN;
	workers = json_integer_value(json_object_get(ping, "workers"));
	json_decref(ping);
	if ((json_int_t)lanes < workers) {
		snprintf(err, errlen, "%u lane(s) for %lld worker(s): a migration needs at least one "
			 "lane per worker of each appliance", lanes, (long long)workers);
		return -EINVAL;
	}
	return 0;
}

static char *
op_start(struct mc_state *st, const struct mc_req *r, const char *by)
{
	char err[320];
	struct mc_mig *m = NULL;
	json_t *reply, *ev;
	int rc = 0;

	if (find(st, r->id) != NULL)
		return err_reply("exists", "migration '%s' is already running here", r->id);
	for (int i = 0; i < MC_MIG_MAX && m == NULL; i++)
		if (!st->m[i].used)
			m = &st->m[i];
	if (m == NULL)
		return err_reply("limit", "%s", "too many migrations on this appliance");
	memset(m, 0, sizeof(*m));
	if (local_for(st, &r->peer, &m->local) != 0)
		return err_reply("invalid_field", "%s", "field 'peer': this appliance has no outer "
				 "address of that IP version");
	snprintf(m->id, sizeof(m->id), "%s", r->id);
	snprintf(m->vm, sizeof(m->vm), "%s", r->vm);
	m->policy = r->policy;
	m->role = r->role;
	m->peer = r->peer;
	m->nb_sel = r->nb_sel;
	memcpy(m->sel, r->sel, sizeof(m->sel));
	m->started = m->gen_since = now_s();
	m->expires = m->started + r->lifetime_s;
	m->max_bytes = r->max_bytes;
	m->rekey_s = r->rekey_s ? r->rekey_s : st->conf->rekey_s;
	m->rekey_bytes = r->rekey_bytes ? r->rekey_bytes : (uint64_t)st->conf->rekey_mbytes << 20;
	m->window = r->replay_window;
	m->lanes = r->lanes ? r->lanes : 1;
	m->used = true;
	rc = lanes_enough(st, m->lanes, err, sizeof(err));
	if (rc == 0 && m->policy == MC_POL_DISABLED) {
		rc = gen_install(st, m, K_BYPASS, 0, &m->bypass, err, sizeof(err));
	} else if (rc == 0) {
		m->prk = mc_secure_zalloc(MC_PRK_LEN);
		rc = m->prk == NULL ? -ENOMEM : mc_kdf_prk(r->secret, r->secret + MC_KEY_LEN, m->prk);
		/* Inbound first: the peer may seal as soon as its own start returns. */
		if (rc == 0)
			rc = gen_install(st, m, K_IN, 0, &m->in_cur, err, sizeof(err));
		if (rc == 0)
			rc = gen_install(st, m, K_IN, 1, &m->in_next, err, sizeof(err));
		if (rc == 0)
			rc = gen_install(st, m, K_OUT, 0, &m->out, err, sizeof(err));
	}
	if (rc != 0) {
		remove_all(st, m);
		ev = mig_ref(m);
		json_object_set_new(ev, "reason", json_string(err));
		json_object_set_new(ev, "by", json_string(by));
		mc_audit("start_failed", ev);
		mig_free(m);
		return err_reply("dataplane_error", "start failed, nothing installed: %s", err);
	}
	ev = mig_json(st, m);
	json_object_set_new(ev, "by", json_string(by));
	if (r->note[0])
		json_object_set_new(ev, "note", json_string(r->note));
	mc_audit(m->policy == MC_POL_DISABLED ? "start_unsealed" : "start", ev);
	reply = mig_json(st, m);
	return mc_msg_ok(reply);
}

/* Make-before-break: the peer already accepts generation g + 1. */
static int
rekey(struct mc_state *st, struct mc_mig *m, const char *trigger, const char *by, char *err,
      size_t errlen)
{
	struct mc_gen next;
	json_t *ev;
	int rc;

	rc = gen_install(st, m, K_OUT, m->out.gen + 1, &next, err, errlen);
	if (rc != 0) {
		ev = mig_ref(m);
		json_object_set_new(ev, "reason", json_string(err));
		mc_audit("rekey_failed", ev);
		return rc;
	}
	m->out_prev = m->out;
	m->out = next;		/* the new SA's selectors already win (installed later) */
	json_decref(refresh(st));	/* the old SA no longer seals: its final counters */
	ev = mig_ref(m);
	json_object_set_new(ev, "trigger", json_string(trigger));
	json_object_set_new(ev, "by", json_string(by));
	json_object_set_new(ev, "from", json_pack("{s:I,s:I}", "generation",
		(json_int_t)m->out_prev.gen, "spi", (json_int_t)m->out_prev.lane[0].spi));
	json_object_set_new(ev, "to", json_pack("{s:I,s:I}", "generation", (json_int_t)next.gen,
						"spi", (json_int_t)next.lane[0].spi));
	json_object_set_new(ev, "lanes", json_integer(next.nb));
	gen_remove(st, m, &m->out_prev, true);
	m->rekeys++;
	m->gen_since = now_s();
	mc_audit("rekey", ev);
	return 0;
}

static char *
op_rekey(struct mc_state *st, const struct mc_req *r, const char *by)
{
	struct mc_mig *m = find(st, r->id);
	char err[256];

	if (m == NULL)
		return err_reply("not_found", "no migration '%s' here", r->id);
	if (m->policy == MC_POL_DISABLED)
		return err_reply("invalid_field", "migration '%s' is not sealed", r->id);
	if (m->prk == NULL)
		return err_reply("keys_lost", "migration '%s' lost its keys in a restart of "
				 "migsec-control: end it and start again", r->id);
	if (rekey(st, m, "request", by, err, sizeof(err)) != 0)
		return err_reply("dataplane_error", "rekey failed, old keys still in use: %s", err);
	return mc_msg_ok(mig_json(st, m));
}

static void
end(struct mc_state *st, struct mc_mig *m, const char *event, const char *by)
{
	json_t *ev;

	json_decref(refresh(st));
	ev = mig_json(st, m);
	remove_all(st, m);
	json_object_set_new(ev, "by", json_string(by));
	mc_audit(event, ev);
	mig_free(m);		/* wipes the migration's key */
}

static char *
op_end(struct mc_state *st, const struct mc_req *r, const char *by)
{
	struct mc_mig *m = find(st, r->id);
	json_t *reply;

	if (m == NULL)
		return err_reply("not_found", "no migration '%s' here", r->id);
	json_decref(refresh(st));
	reply = mig_json(st, m);
	end(st, m, "end", by);
	json_object_set_new(reply, "ended", json_true());
	return mc_msg_ok(reply);
}

static char *
op_status(struct mc_state *st, const struct mc_req *r)
{
	json_t *byid = refresh(st), *a = json_array(), *o = json_object();

	json_decref(byid);
	for (int i = 0; i < MC_MIG_MAX; i++) {
		const struct mc_mig *m = &st->m[i];

		if (m->used && (r->id[0] == '\0' || strcmp(m->id, r->id) == 0))
			json_array_append_new(a, mig_json(st, m));
	}
	if (r->id[0] != '\0' && json_array_size(a) == 0) {
		json_decref(a);
		json_decref(o);
		return err_reply("not_found", "no migration '%s' here", r->id);
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

static char *
op_health(struct mc_state *st)
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

char *
mc_handle(struct mc_state *st, const struct mc_req *r, const char *by)
{
	switch (r->op) {
	case MC_OP_START:
		return op_start(st, r, by);
	case MC_OP_REKEY:
		return op_rekey(st, r, by);
	case MC_OP_END:
		return op_end(st, r, by);
	case MC_OP_STATUS:
		return op_status(st, r);
	case MC_OP_HEALTH:
		return op_health(st);
	}
	return mc_msg_error("unknown_op", "unknown op");
}

/* ---- once a second ------------------------------------------------------ */

static void
advance_inbound(struct mc_state *st, struct mc_mig *m, uint64_t now)
{
	char err[256];
	struct mc_gen next;

	if (m->in_next.nb == 0 || gen_sum(&m->in_next, false) == 0)
		return;
	/* The peer switched to in_next: keep the old one drain_s, open the one after. */
	if (gen_install(st, m, K_IN, m->in_next.gen + 1, &next, err, sizeof(err)) != 0) {
		mc_audit("rekey_failed", json_pack("{s:s,s:s}", "migration", m->id, "reason", err));
		return;
	}
	gen_remove(st, m, &m->in_drain, false);
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

void
mc_tick(struct mc_state *st)
{
	json_t *byid = refresh(st);
	uint64_t now = now_s();
	char err[256];

	for (int i = 0; byid != NULL && i < MC_MIG_MAX; i++) {
		struct mc_mig *m = &st->m[i];

		if (!m->used)
			continue;
		if (!gen_present(&m->out, byid) || !gen_present(&m->in_cur, byid) ||
		    !gen_present(&m->bypass, byid)) {
			end(st, m, "sas_lost", "dataplane");	/* restarted or expired there */
			continue;
		}
		if (now >= m->expires) {
			end(st, m, "timeout", "lifetime");
			continue;
		}
		if (m->max_bytes && m->gone_out_bytes + gen_sum(&m->out, true) +
		    gen_sum(&m->bypass, true) >= m->max_bytes) {
			end(st, m, "limit", "max_bytes");
			continue;
		}
		if (m->prk != NULL) {
			if (m->rekey_s && now - m->gen_since >= m->rekey_s)
				rekey(st, m, "lifetime", "timer", err, sizeof(err));
			else if (m->rekey_bytes && gen_sum(&m->out, true) >= m->rekey_bytes)
				rekey(st, m, "bytes", "counter", err, sizeof(err));
			advance_inbound(st, m, now);
		}
		if (m->in_drain.nb != 0 && now >= m->drain_until) {
			mc_audit("sa_retired", json_pack("{s:s,s:I,s:I}", "migration", m->id,
				 "generation", (json_int_t)m->in_drain.gen, "spi",
				 (json_int_t)m->in_drain.lane[0].spi));
			gen_remove(st, m, &m->in_drain, false);
		}
		report_drops(st, m, now);
	}
	json_decref(byid);
}

void
mc_end_all(struct mc_state *st, const char *why)
{
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (st->m[i].used)
			end(st, &st->m[i], "end", why);
}

/* ---- recovery after a restart ------------------------------------------- */

struct tag {
	char id[MC_ID_MAX + 1];
	char role, policy, kind;
	unsigned int gen, lane, nb;
	unsigned long long expires;
};

static int
parse_tag(const char *t, struct tag *g)
{
	_Static_assert(MC_ID_MAX == 32, "the format's width");
	if (t == NULL || strncmp(t, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return -1;
	if (sscanf(t, TAG_PREFIX "%32[^|]|%c|%c|%c|%x|%x|%x|%llu", g->id, &g->role, &g->policy,
		   &g->kind, &g->gen, &g->lane, &g->nb, &g->expires) != 8 ||
	    g->nb == 0 || g->nb > MC_LANES_MAX || g->lane >= g->nb)
		return -1;
	return 0;
}

static struct mc_mig *
recovered(struct mc_state *st, const struct tag *g, json_t *sa)
{
	struct mc_mig *m = find(st, g->id);
	json_t *sels = json_object_get(sa, "selectors");
	char err[128];

	if (m != NULL)
		return m;
	for (int i = 0; i < MC_MIG_MAX && m == NULL; i++)
		if (!st->m[i].used)
			m = &st->m[i];
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
	m->lanes = g->kind == 'b' ? 1 : g->nb;
	m->started = m->gen_since = now_s();
	ms_ip_parse(json_string_value(json_object_get(sa, "peer")), &m->peer);
	ms_ip_parse(json_string_value(json_object_get(sa, "local")), &m->local);
	/* Selectors as the source sees them: an SA of the other way is mirrored. */
	for (size_t i = 0; i < json_array_size(sels) && m->nb_sel < MC_SEL_MAX; i++) {
		struct ms_sel s;

		if (ms_sel_parse(json_string_value(json_array_get(sels, i)), &s, err, sizeof(err)))
			continue;
		if (g->kind == 'b' && i % 2)
			continue;
		if (g->kind != 'b' && (g->kind == 'o') != (m->role == MC_ROLE_SOURCE))
			ms_sel_mirror(&s, &m->sel[m->nb_sel++]);
		else
			m->sel[m->nb_sel++] = s;
	}
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

int
mc_recover(struct mc_state *st)
{
	char err[256];
	json_t *list = mc_dp_list(st->conf->dp_socket, err, sizeof(err)), *sa;
	size_t i;
	int n = 0;

	if (list == NULL)
		return -ENOTCONN;
	json_array_foreach(list, i, sa) {
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
			continue;
		m = recovered(st, &g, sa);
		if (m == NULL)
			continue;
		set = slot_for(m, &g);
		if (set == NULL)
			continue;	/* an SA older than any kept: it expires with the migration */
		set->gen = g.gen;
		set->group = grp;
		set->nb = g.nb;
		set->lane[g.lane].id = id;
		set->lane[g.lane].spi = (uint32_t)json_integer_value(json_object_get(sa, "spi"));
		n++;
	}
	json_decref(list);
	for (int k = 0; k < MC_MIG_MAX; k++) {
		if (!st->m[k].used)
			continue;
		if (st->m[k].in_drain.nb)
			st->m[k].drain_until = now_s() + st->conf->drain_s;
		mc_audit("recovered", mig_json(st, &st->m[k]));
	}
	return n;
}
