/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl migrate DOMAIN DEST-URI: the drop-in for virsh migrate --live
 * [--p2p]. It finds the source and destination hosts' appliances (the hosts
 * of /etc/migsec/libvirt.conf), reads the domain's policy (its metadata,
 * or the cluster default), starts the migsec migration on both appliances
 * (mc_start.c: one-shot key, rollback, the opportunistic fall-back) with
 * selectors from the plan (mc_migplan.c), runs the libvirt migration
 * (mc_lvjob.c: peer-to-peer, or direct with the destination's libvirt
 * opened here) and ends the migsec migration as soon as the job is over,
 * whatever its outcome. Nothing is started before every input is checked.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "mc_cli.h"
#include "mc_libvirt.h"
#include "mc_migrate.h"
#include "mc_show.h"

#ifdef MS_HAVE_LIBVIRT
#include <libvirt/virterror.h>

#include "mc_lvjob.h"
#include "mc_lvconf.h"

struct mig {
	const struct mc_cli *c;
	struct mc_mig_opts o;
	struct mc_mig_plan plan;
	struct mc_lvconf lc;
	struct mc_lvhosts hs;
	enum mc_lv_policy pol;
	const char *pol_from;
	struct mc_start st;
	virConnectPtr dconn;		/* direct: the destination's libvirt */
	char id[40];
	bool migsec, downgraded;	/* a migsec migration runs; it is unsealed */
	bool detached;			/* libvirt's call never returned (mc_lvjob) */
	int end_rc;
	json_t *ended;			/* appliance -> the end's reply, or an error */
};

static void
emit(const struct mig *m, json_t *o, const char *text)
{
	if (m->c->json) {
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (text != NULL) {
		printf("%s\n", text);
	}
	fflush(stdout);
	json_decref(o);
}

/* The end on one appliance; "not found" counts as ended (its lifetime ended it). */
static int
end_one(struct mig *m, const struct mc_peer *p)
{
	json_t *req = mc_cli_req("end", m->id), *reply = NULL, *e;
	char err[512], *text = json_dumps(req, JSON_COMPACT);
	const char *code;
	int rc;

	json_decref(req);
	rc = text ? mc_call(m->c->ctx, p, text, m->c->timeout_ms, &reply, err, sizeof(err)) : -1;
	free(text);
	if (rc != 0) {
		fprintf(stderr, "migsecctl: %s: ending %s FAILED: %s; it holds the keys until the "
			"migration's lifetime ends\n", p->name, m->id, err);
		json_object_set_new(m->ended, p->name, json_pack("{s:s}", "error", err));
		return MC_EXIT_PARTIAL;
	}
	e = json_object_get(reply, "error");
	code = json_string_value(json_object_get(e, "code"));
	if (!json_is_true(json_object_get(reply, "ok")) && (code == NULL ||
							    strcmp(code, "not_found") != 0)) {
		fprintf(stderr, "migsecctl: %s: ending %s refused: %s\n", p->name, m->id,
			json_string_value(json_object_get(e, "message")));
		json_object_set_new(m->ended, p->name, json_pack("{s:O}", "error", e));
		json_decref(reply);
		return MC_EXIT_PARTIAL;
	}
	json_object_set_new(m->ended, p->name, reply);
	return MC_EXIT_OK;
}

/* mc_lvjob's "over": the job ended, so does the migsec migration, on both appliances. */
static void
job_over(void *opaque, const char *why)
{
	struct mig *m = opaque;
	char line[512];

	if (!m->migsec)
		return;
	mc_sig_hold(true);	/* a Ctrl-C now must not cut an end short */
	m->end_rc = end_one(m, &m->st.src);
	if (end_one(m, &m->st.dst) != MC_EXIT_OK)
		m->end_rc = MC_EXIT_PARTIAL;
	mc_sig_hold(false);
	m->migsec = false;
	snprintf(line, sizeof(line), "%s: migsec migration %s ended on %s and %s (%s)%s", m->o.domain,
		 m->id, m->st.src.name, m->st.dst.name, why,
		 m->end_rc == MC_EXIT_OK ? "" : ": NOT on every appliance");
	emit(m, json_pack("{s:s,s:s,s:s,s:s,s:O}", "event", "ended", "domain", m->o.domain, "id",
			  m->id, "why", why, "appliances", m->ended), line);
}

/* The migsec migration of the plan (unless the policy is disabled). */
static int
start(struct mig *m)
{
	json_t *r[2] = { NULL, NULL }, *sels = json_array();
	struct mc_start *a = &m->st;
	char line[1024];
	int rc;

	memset(a, 0, sizeof(*a));
	a->id = m->id;
	a->vm = m->o.domain;
	a->policy = mc_lv_policy_name(m->pol);
	a->src = m->plan.src->appliance;
	a->dst = m->plan.dst->appliance;
	a->have_src = a->have_dst = true;
	a->src_outer = m->plan.src->outer;
	a->dst_outer = m->plan.dst->outer;
	a->lifetime = m->o.lifetime;
	a->rekey_s = m->o.rekey_s;	/* the appliances rekey make-before-break themselves */
	a->rekey_bytes = m->o.rekey_bytes;
	a->key_stdin = m->o.key_stdin;
	for (unsigned int i = 0; i < m->plan.nb_sel; i++) {
		a->sel[a->nb_sel++] = m->plan.sel[i];
		json_array_append_new(sels, json_string(m->plan.sel[i]));
	}
	rc = mc_start_run(m->c, a, r);
	if (rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED) {
		m->migsec = true;
		m->downgraded = rc == MC_EXIT_DOWNGRADED;
		snprintf(line, sizeof(line), "%s: migsec migration %s started on %s and %s, %s, "
			 "policy %s (%s); %u selector(s), first %s", m->o.domain, m->id, a->src.name,
			 a->dst.name, m->downgraded ? "NOT sealed (downgraded)" : "sealed",
			 a->policy, m->pol_from, m->plan.nb_sel, m->plan.sel[0]);
		emit(m, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:O,s:s,s:O,s:O}", "event",
				  "started", "domain", m->o.domain, "id", m->id, "mode",
				  m->o.p2p ? "p2p" : "direct", "policy", a->policy,
				  "policy_source", m->pol_from, "sealed", !m->downgraded, "selectors",
				  sels, "migrate_uri", m->o.tunnelled ? "tunnelled" : m->plan.migrate_uri,
				  "source", r[0],
				  "destination", r[1]), line);
	}
	json_decref(sels);
	json_decref(r[0]);
	json_decref(r[1]);
	return rc;
}

/* The libvirt migration, then the summary. Returns the exit status. */
static int
run_job(struct mig *m, virConnectPtr conn, virDomainPtr dom)
{
	struct mc_lvjob j = { .conn = conn, .dconn = m->dconn, .dom = dom, .name = m->o.domain,
			      .dest_uri = m->o.dest_uri, .interval_ms = m->o.interval_ms,
			      .deadline_s = m->o.lifetime, .json = m->c->json, .over = job_over,
			      .opaque = m };
	char line[768], a[32], b[32];
	int rc;

	if (mc_lvmig_params(&j, &m->o, m->plan.migrate_uri) != 0 || mc_lvjob_run(&j) != 0) {
		fprintf(stderr, "migsecctl: migrate: %s\n", j.err[0] ? j.err : "out of memory");
		job_over(m, "the migration did not start");
		virTypedParamsFree(j.params, j.nparams);
		return m->end_rc == MC_EXIT_OK ? MC_EXIT_REFUSED : MC_EXIT_PARTIAL;
	}
	if (j.detached)
		m->detached = true;	/* the process exits with the call still on its thread */
	else
		virTypedParamsFree(j.params, j.nparams);
	if (j.rc != 0)
		fprintf(stderr, "migsecctl: migrate: %s: libvirt: %s\n", m->o.domain, j.err);
	rc = j.rc != 0 ? MC_EXIT_REFUSED : m->downgraded ? MC_EXIT_DOWNGRADED : MC_EXIT_OK;
	if (m->end_rc != MC_EXIT_OK)
		rc = MC_EXIT_PARTIAL;
	snprintf(line, sizeof(line), "%s: migration %s to %s (%s): memory %s, disk %s, %.1f s; "
		 "exit %d", m->o.domain, j.outcome, m->plan.dst->name, m->pol == MC_LV_DISABLED
		 ? "not sealed: policy disabled" : m->downgraded ? "NOT sealed: downgraded"
		 : "sealed", mc_human_bytes((long long)j.mem_bytes, a, sizeof(a)),
		 mc_human_bytes((long long)j.disk_bytes, b, sizeof(b)), (double)j.elapsed_ms / 1000, rc);
	emit(m, json_pack("{s:s,s:s,s:s?,s:s,s:s,s:s,s:s,s:b,s:b,s:s,s:s?,s:I,s:I,s:O,s:i}",
			  "event", "result", "domain", m->o.domain, "id", m->pol == MC_LV_DISABLED
			  ? NULL : m->id, "source", m->plan.src->name, "destination",
			  m->plan.dst->name, "mode", m->o.p2p ? "p2p" : "direct", "policy",
			  mc_lv_policy_name(m->pol), "postcopy", j.postcopy,
			  "sealed", m->pol != MC_LV_DISABLED && !m->downgraded, "outcome", j.outcome,
			  "error", j.rc ? j.err : NULL, "memory_bytes", (json_int_t)j.mem_bytes,
			  "disk_bytes", (json_int_t)j.disk_bytes, "appliances", m->ended, "exit", rc),
	     line);
	return rc;
}

/* Everything checked before anything starts. Returns the exit status. */
static int
check(struct mig *m, virConnectPtr conn, virDomainPtr dom)
{
	const struct mc_lvhost *src, *dst = NULL;
	char err[512] = "";
	int rc = MC_EXIT_OK;

	if (virDomainIsActive(dom) != 1) {
		fprintf(stderr, "migsecctl: migrate: %s is not running (a live migration moves a "
			"running domain)\n", m->o.domain);
		return MC_EXIT_USAGE;
	}
	src = mc_lvmig_source(&m->hs, conn, m->o.connect, err, sizeof(err));
	if (src != NULL && !m->o.p2p)
		dst = mc_lvmig_direct_dest(&m->hs, m->o.dest_uri, &m->dconn, &rc, err, sizeof(err));
	if (rc != MC_EXIT_OK || src == NULL ||
	    mc_mig_plan(&m->hs, src, dst, &m->o, &m->plan, err, sizeof(err)) != 0) {
		if (err[0])
			fprintf(stderr, "migsecctl: migrate: %s\n", err);
		return rc != MC_EXIT_OK ? rc : MC_EXIT_USAGE;
	}
	if (mc_lv_domain_policy(dom, &m->lc, &m->pol, &m->pol_from) != 0) {
		fprintf(stderr, "migsecctl: migrate: cannot read %s's metadata: %s\n", m->o.domain,
			mc_lv_msg());
		return MC_EXIT_UNREACHABLE;
	}
	if (m->pol == MC_LV_BAD) {
		fprintf(stderr, "migsecctl: migrate: %s's <migsec:policy> is not a policy (required, "
			"opportunistic or disabled): refusing to migrate it. Fix it: migsecctl policy "
			"%s required\n", m->o.domain, m->o.domain);
		return MC_EXIT_REFUSED;
	}
	for (int i = 0; i < 2 && m->pol != MC_LV_DISABLED; i++) {
		const struct mc_lvhost *h = i ? m->plan.dst : m->plan.src;

		if (!h->has_appliance) {
			fprintf(stderr, "migsecctl: migrate: %s host %s has no migsec appliance (hosts "
				"of %s), and %s's policy is %s (%s): not migrating it\n",
				i ? "destination" : "source", h->name, m->hs.file, m->o.domain,
				mc_lv_policy_name(m->pol), m->pol_from);
			return MC_EXIT_USAGE;
		}
	}
	return MC_EXIT_OK;
}

static int
migrate(struct mig *m)
{
	virConnectPtr conn;
	virDomainPtr dom;
	uint8_t rnd[8];
	int rc;

	if (mc_lvjob_init() != 0) {
		fprintf(stderr, "migsecctl: migrate: cannot start libvirt's event loop\n");
		return MC_EXIT_USAGE;
	}
	mc_lv_quiet();
	conn = virConnectOpen(m->o.connect);
	if (conn == NULL) {
		fprintf(stderr, "migsecctl: migrate: cannot connect to libvirt (%s): %s\n",
			m->o.connect ? m->o.connect : "default URI", mc_lv_msg());
		return MC_EXIT_UNREACHABLE;
	}
	dom = virDomainLookupByName(conn, m->o.domain);
	if (dom == NULL) {
		virErrorPtr e = virGetLastError();
		bool none = e != NULL && e->code == VIR_ERR_NO_DOMAIN;

		fprintf(stderr, "migsecctl: migrate: %s '%s'%s%s\n", none ? "no domain" :
			"cannot look up", m->o.domain, none ? "" : ": ", none ? "" : mc_lv_msg());
		virConnectClose(conn);
		return none ? MC_EXIT_NO_DOMAIN : MC_EXIT_UNREACHABLE;
	}
	rc = check(m, conn, dom);
	if (rc == MC_EXIT_OK && m->o.id == NULL) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			rc = MC_EXIT_USAGE;
		snprintf(m->id, sizeof(m->id), "lv-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
			 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	} else if (m->o.id != NULL) {
		snprintf(m->id, sizeof(m->id), "%s", m->o.id);
	}
	if (rc == MC_EXIT_OK && m->pol != MC_LV_DISABLED)
		rc = start(m);
	if ((rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED) && !m->o.p2p && m->dconn == NULL &&
	    mc_lvmig_open_dest(m->o.dest_uri, &m->dconn) != MC_EXIT_OK) {	/* rolled back */
		job_over(m, "the destination's libvirt is unreachable");
		rc = m->end_rc == MC_EXIT_OK ? MC_EXIT_UNREACHABLE : MC_EXIT_PARTIAL;
	} else if (rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED) {
		rc = run_job(m, conn, dom);
	}
	if (m->detached)
		return rc;
	if (m->dconn != NULL)
		virConnectClose(m->dconn);
	virDomainFree(dom);
	virConnectClose(conn);
	return rc;
}

int
mc_cli_migrate(const struct mc_cli *c, int argc, char **argv)
{
	struct mig *m = calloc(1, sizeof(*m));
	char err[512] = "";
	int rc = MC_EXIT_USAGE;

	if (m == NULL)
		return MC_EXIT_USAGE;
	m->c = c;
	m->end_rc = MC_EXIT_OK;
	if (mc_mig_opts_parse(argc, argv, &m->o) != 0)
		goto out;
	if (mc_lvconf_load(&m->lc, err, sizeof(err)) != 0 ||
	    mc_lvhosts_load(&m->hs, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsecctl: migrate: %s\n", err);
		goto out;
	}
	if (m->hs.n == 0) {
		fprintf(stderr, "migsecctl: migrate: %s has no hosts (the map of hypervisor hosts to "
			"their appliances: see docs/libvirt.md)\n", m->hs.file);
		goto out;
	}
	m->ended = json_object();
	rc = migrate(m);
	json_decref(m->ended);
out:
	free(m);
	return rc;
}

#else

int
mc_cli_migrate(const struct mc_cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "migsecctl: migrate: this migsecctl was built without libvirt "
		"(install libvirt-dev and rebuild)\n");
	return MC_EXIT_USAGE;
}

#endif
