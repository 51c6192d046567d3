/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The migration state machine (see mc_mig.h): the table of migrations, the
 * management plane's requests, start, make-before-break rekey and end. SAs
 * are installed by mc_mig_sa.c, reported by mc_report.c; mc_tick.c and
 * mc_recover.c drive the rest. Runs on migsec-control's one thread (the
 * poll loop of mc_server.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mc_audit.h"
#include "mc_authz.h"
#include "mc_dpc.h"
#include "mc_kdf.h"
#include "mc_mig_int.h"
#include "mc_secmem.h"

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

void
mc_mig_release(struct mc_mig *m)
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
			mc_mig_release(&st->m[i]);
	free(st);
}

struct mc_mig *
mc_mig_find(struct mc_state *st, const char *id)
{
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (st->m[i].used && strcmp(st->m[i].id, id) == 0)
			return &st->m[i];
	return NULL;
}

struct mc_mig *
mc_mig_free_slot(struct mc_state *st)
{
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (!st->m[i].used)
			return &st->m[i];
	return NULL;
}

char *
mc_mig_err(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return mc_msg_error(code, msg);
}

/* ---- start -------------------------------------------------------------- */

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

/* A device "failed" in the data plane's crypto report: nothing can be sealed or opened. */
static bool
crypto_failed(const struct mc_state *st)
{
	char err[256];
	json_t *c = mc_dp_crypto(st->conf->dp_socket, err, sizeof(err)), *d;
	size_t i;
	bool failed = false;

	json_array_foreach(json_object_get(c, "devices"), i, d) {
		const char *state = json_string_value(json_object_get(d, "state"));

		failed |= state != NULL && strcmp(state, "failed") == 0;
	}
	json_decref(c);
	return failed;
}

/*
 * Whether the data plane says, itself, that it cannot seal this migration:
 * its crypto device is out of service, or it has no room for the sealed
 * SAs (3 per lane; an unsealed start needs 1). Only this answer lets
 * migsecctl fall back under opportunistic, never a silence or a transport
 * failure: so anything unknown here (no reply, no such field) means "try".
 */
static bool
cannot_seal(const struct mc_state *st, uint32_t lanes, char *err, size_t errlen)
{
	json_t *ping = mc_dp_ping(st->conf->dp_socket, err, errlen), *n, *max;
	json_int_t room = -1;

	if (ping == NULL)
		return false;
	n = json_object_get(ping, "sa_count");
	max = json_object_get(ping, "max_sa");
	if (json_is_integer(n) && json_is_integer(max))
		room = json_integer_value(max) - json_integer_value(n);
	json_decref(ping);
	if (room >= 0 && room < 3 * (json_int_t)lanes) {
		snprintf(err, errlen, "the data plane has room for %lld more SA(s); a sealed migration "
			 "of %u lane(s) needs %u", (long long)room, lanes, 3 * lanes);
		return true;
	}
	if (crypto_failed(st)) {
		snprintf(err, errlen, "the data plane's crypto device is out of service");
		return true;
	}
	return false;
}

/* The request's fields, and the appliance's defaults for those it left out. */
static void
mig_init(const struct mc_state *st, struct mc_mig *m, const struct mc_req *r, const char *owner)
{
	snprintf(m->id, sizeof(m->id), "%s", r->id);
	snprintf(m->owner, sizeof(m->owner), "%s", owner);
	snprintf(m->vm, sizeof(m->vm), "%s", r->vm);
	m->policy = r->policy;
	m->role = r->role;
	m->peer = r->peer;
	m->nb_sel = r->nb_sel;
	memcpy(m->sel, r->sel, sizeof(m->sel));
	m->started = m->gen_since = mc_now_s();
	m->expires = m->started + r->lifetime_s;
	m->max_bytes = r->max_bytes;
	m->rekey_s = r->rekey_s ? r->rekey_s : st->conf->rekey_s;
	m->rekey_bytes = r->rekey_bytes ? r->rekey_bytes : (uint64_t)st->conf->rekey_mbytes << 20;
	m->window = r->replay_window;
	m->lanes = r->lanes ? r->lanes : 1;
	m->used = true;
}

/* The key from the request, then every SA of generation 0 (a bypass rule if unsealed). */
static int
mig_install(struct mc_state *st, struct mc_mig *m, const struct mc_req *r, char *err,
	    size_t errlen)
{
	int rc = lanes_enough(st, m->lanes, err, errlen);

	if (rc != 0)
		return rc;
	if (m->policy == MC_POL_DISABLED)
		return mc_gen_install(st, m, MC_K_BYPASS, 0, &m->bypass, err, errlen);
	m->prk = mc_secure_zalloc(MC_PRK_LEN);
	rc = m->prk == NULL ? -ENOMEM : mc_kdf_prk(r->secret, r->secret + MC_KEY_LEN, m->prk);
	/* Inbound first: the peer may seal as soon as its own start returns. */
	if (rc == 0)
		rc = mc_gen_install(st, m, MC_K_IN, 0, &m->in_cur, err, errlen);
	if (rc == 0)
		rc = mc_gen_install(st, m, MC_K_IN, 1, &m->in_next, err, errlen);
	if (rc == 0)
		rc = mc_gen_install(st, m, MC_K_OUT, 0, &m->out, err, errlen);
	return rc;
}

static char *
start_failed(struct mc_state *st, struct mc_mig *m, const char *code, const char *err,
	     const char *by)
{
	json_t *ev;

	mc_gen_remove_all(st, m);
	ev = mc_mig_ref(m);
	json_object_set_new(ev, "code", json_string(code));
	json_object_set_new(ev, "reason", json_string(err));
	json_object_set_new(ev, "by", json_string(by));
	mc_audit("start_failed", ev);
	mc_mig_release(m);
	return mc_mig_err(code, "start failed, nothing installed: %s", err);
}

static char *
op_start(struct mc_state *st, const struct mc_req *r, const char *by)
{
	char err[320];
	struct mc_mig *m;
	json_t *ev;

	if (mc_mig_find(st, r->id) != NULL)
		return mc_mig_err("exists", "migration '%s' is already running here", r->id);
	m = mc_mig_free_slot(st);
	if (m == NULL)
		return mc_mig_err("limit", "%s", "too many migrations on this appliance");
	memset(m, 0, sizeof(*m));
	if (local_for(st, &r->peer, &m->local) != 0)
		return mc_mig_err("invalid_field", "%s", "field 'peer': this appliance has no outer "
				 "address of that IP version");
	mig_init(st, m, r, by);
	if (m->policy != MC_POL_DISABLED && cannot_seal(st, m->lanes, err, sizeof(err)))
		return start_failed(st, m, "cannot_seal", err, by);
	if (mig_install(st, m, r, err, sizeof(err)) != 0)
		return start_failed(st, m, "dataplane_error", err, by);
	ev = mc_mig_json(st, m);
	json_object_set_new(ev, "by", json_string(by));
	if (r->note[0])
		json_object_set_new(ev, "note", json_string(r->note));
	mc_audit(m->policy == MC_POL_DISABLED ? "start_unsealed" : "start", ev);
	return mc_msg_ok(mc_mig_json(st, m));
}

/* ---- rekey and end ------------------------------------------------------ */

/* Make-before-break: the peer already accepts generation g + 1. */
int
mc_mig_rekey(struct mc_state *st, struct mc_mig *m, const char *trigger, const char *by,
	     char *err, size_t errlen)
{
	struct mc_gen next;
	json_t *ev;
	int rc;

	rc = mc_gen_install(st, m, MC_K_OUT, m->out.gen + 1, &next, err, errlen);
	if (rc != 0) {
		ev = mc_mig_ref(m);
		json_object_set_new(ev, "reason", json_string(err));
		mc_audit("rekey_failed", ev);
		return rc;
	}
	m->out_prev = m->out;
	m->out = next;		/* the new SA's selectors already win (installed later) */
	json_decref(mc_refresh(st));	/* the old SA no longer seals: its final counters */
	ev = mc_mig_ref(m);
	json_object_set_new(ev, "trigger", json_string(trigger));
	json_object_set_new(ev, "by", json_string(by));
	json_object_set_new(ev, "from", json_pack("{s:I,s:I}", "generation",
		(json_int_t)m->out_prev.gen, "spi", (json_int_t)m->out_prev.lane[0].spi));
	json_object_set_new(ev, "to", json_pack("{s:I,s:I}", "generation", (json_int_t)next.gen,
						"spi", (json_int_t)next.lane[0].spi));
	json_object_set_new(ev, "lanes", json_integer(next.nb));
	mc_gen_remove(st, m, &m->out_prev, true);
	m->rekeys++;
	m->gen_since = mc_now_s();
	mc_audit("rekey", ev);
	return 0;
}

static char *
op_rekey(struct mc_state *st, const struct mc_req *r, const char *by)
{
	struct mc_mig *m = mc_mig_find(st, r->id);
	char err[256];

	if (m == NULL)
		return mc_mig_err("not_found", "no migration '%s' here", r->id);
	if (m->policy == MC_POL_DISABLED)
		return mc_mig_err("invalid_field", "migration '%s' is not sealed", r->id);
	if (m->prk == NULL)
		return mc_mig_err("keys_lost", "migration '%s' lost its keys in a restart of "
				 "migsec-control: end it and start again", r->id);
	if (mc_mig_rekey(st, m, "request", by, err, sizeof(err)) != 0)
		return mc_mig_err("dataplane_error", "rekey failed, old keys still in use: %s", err);
	return mc_msg_ok(mc_mig_json(st, m));
}

void
mc_mig_end(struct mc_state *st, struct mc_mig *m, const char *event, const char *by)
{
	json_t *ev = mc_mig_json(st, m);	/* the counters as the caller last read them */

	mc_gen_remove_all(st, m);
	json_object_set_new(ev, "by", json_string(by));
	mc_audit(event, ev);
	mc_mig_release(m);		/* wipes the migration's key */
}

static char *
op_end(struct mc_state *st, const struct mc_req *r, const char *by)
{
	struct mc_mig *m = mc_mig_find(st, r->id);
	json_t *reply;

	if (m == NULL)
		return mc_mig_err("not_found", "no migration '%s' here", r->id);
	json_decref(mc_refresh(st));	/* the final counters, for the reply and the audit */
	reply = mc_mig_json(st, m);
	mc_mig_end(st, m, "end", by);
	json_object_set_new(reply, "ended", json_true());
	return mc_msg_ok(reply);
}

char *
mc_handle(struct mc_state *st, const struct mc_req *r, const struct mc_client *who)
{
	char *refused = mc_authz_check(st, r, who);
	const char *by = who->identity;

	if (refused != NULL)
		return refused;
	switch (r->op) {
	case MC_OP_START:
		return op_start(st, r, by);
	case MC_OP_REKEY:
		return op_rekey(st, r, by);
	case MC_OP_END:
		return op_end(st, r, by);
	case MC_OP_STATUS:
		return mc_report_status(st, r);
	case MC_OP_HEALTH:
		return mc_report_health(st);
	}
	return mc_msg_error("unknown_op", "unknown op");
}

void
mc_end_all(struct mc_state *st, const char *why)
{
	json_decref(mc_refresh(st));	/* every migration's final counters, read once */
	for (int i = 0; i < MC_MIG_MAX; i++)
		if (st->m[i].used)
			mc_mig_end(st, &st->m[i], "end", why);
}
