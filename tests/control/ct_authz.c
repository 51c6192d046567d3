/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Authorization of management requests (mc_authz.c through mc_handle()),
 * against a stand-in data plane: roles, owners, peers, overlapping
 * selectors, owners of recovered migrations; every refusal changes nothing
 * and is audited as request_denied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "mc_audit.h"
#include "mc_mig.h"
#include "mc_secmem.h"
#include "tl.h"

static struct fake_dp dp;
static struct mc_conf conf;
static struct mc_state *st;
static char audit_path[] = "/tmp/migsec-ct-authz-XXXXXX";
static const struct mc_client *op1, *op2, *obs, *adm;

static int
suite_init(void)
{
	static const struct mc_client c[] = {
		{ "CN=op1", MC_CLIENT_OPERATOR }, { "CN=op2", MC_CLIENT_OPERATOR },
		{ "CN=obs", MC_CLIENT_OBSERVER }, { "CN=adm", MC_CLIENT_ADMIN },
	};
	int fd = mkstemp(audit_path);

	if (fd < 0 || fake_dp_start(&dp) != 0)
		return -1;
	close(fd);
	snprintf(conf.name, sizeof(conf.name), "apA");
	snprintf(conf.dp_socket, sizeof(conf.dp_socket), "%.107s", dp.path);
	ms_ip_parse("203.0.113.1", &conf.outer4);
	conf.drain_s = 1;
	conf.drop_report_s = 10;
	memcpy(conf.clients, c, sizeof(c));
	conf.nb_clients = 4;
	ms_prefix_parse("203.0.113.2", &conf.peers[conf.nb_peers++]);
	op1 = &conf.clients[0];
	op2 = &conf.clients[1];
	obs = &conf.clients[2];
	adm = &conf.clients[3];
	st = mc_state_new(&conf);
	mc_audit_close();
	return mc_audit_open("ct", audit_path);
}

static int
suite_fini(void)
{
	mc_state_free(st);
	fake_dp_stop(&dp);
	mc_audit_close();
	unlink(audit_path);
	return mc_audit_open("ct", NULL);
}

static void
req(struct mc_req *r, enum mc_op op, const char *id, const char *sel, const char *peer)
{
	char err[128];

	memset(r, 0, sizeof(*r));
	r->op = op;
	snprintf(r->id, sizeof(r->id), "%s", id);
	if (op != MC_OP_START)
		return;
	snprintf(r->vm, sizeof(r->vm), "vm-%s", id);
	r->policy = MC_POL_DISABLED;	/* the downgrade an attacker would ask for */
	r->role = MC_ROLE_SOURCE;
	ms_ip_parse(peer ? peer : "203.0.113.2", &r->peer);
	r->nb_sel = 1;
	CU_ASSERT_EQUAL(ms_sel_parse(sel, &r->sel[0], err, sizeof(err)), 0);
	r->lifetime_s = 600;
}

/* The reply's error code, or "ok". */
static const char *
run(struct mc_req *r, const struct mc_client *who)
{
	static char code[32];
	char *text = mc_handle(st, r, who);
	json_t *j = json_loads(text, 0, NULL);

	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	snprintf(code, sizeof(code), "%s", json_is_true(json_object_get(j, "ok")) ? "ok" :
		 json_string_value(json_object_get(json_object_get(j, "error"), "code")));
	json_decref(j);
	return code;
}

static const char *
simple(enum mc_op op, const char *id, const struct mc_client *who)
{
	struct mc_req r;

	req(&r, op, id, NULL, NULL);
	return run(&r, who);
}

static const char *
start(const char *id, const char *sel, const char *peer, const struct mc_client *who)
{
	struct mc_req r;

	req(&r, MC_OP_START, id, sel, peer);
	return run(&r, who);
}

static unsigned int
denials(void)
{
	FILE *f = fopen(audit_path, "r");
	char line[2048];
	unsigned int n = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "\"event\":\"request_denied\"") != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

#define SEL_A "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=4444"

static void
test_observer(void)
{
	unsigned int n = denials();

	CU_ASSERT_STRING_EQUAL(start("w1", SEL_A, NULL, obs), "forbidden");
	CU_ASSERT_EQUAL(dp.nb, 0);
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_STATUS, "", obs), "ok");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_HEALTH, "", obs), "ok");
	CU_ASSERT_STRING_EQUAL(start("m1", SEL_A, NULL, op1), "ok");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", obs), "forbidden");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_STATUS, "m1", obs), "ok");
	CU_ASSERT_EQUAL(denials(), n + 2);
}

/* m1 is op1's: op2 may neither rekey nor end it; op1 and an admin may. */
static void
test_owner(void)
{
	unsigned int n = denials(), sas = dp.nb;

	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", op2), "forbidden");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_REKEY, "m1", op2), "forbidden");
	CU_ASSERT_EQUAL(dp.nb, sas);
	CU_ASSERT_EQUAL(denials(), n + 2);
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "nope", op2), "not_found");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", adm), "ok");
	CU_ASSERT_EQUAL(dp.nb, 0);
	CU_ASSERT_STRING_EQUAL(start("m1", SEL_A, NULL, op1), "ok");
}

/* No start may take over a running migration's traffic, either way. */
static void
test_overlap(void)
{
	static const char *const clash[] = {
		SEL_A, "src=192.0.2.0/24,dst=192.0.2.2/32",
		"src=192.0.2.1/32,dst=192.0.2.0/25,proto=any,dport=4000-5000",
		"src=192.0.2.2/32,dst=192.0.2.1/32,proto=tcp,sport=4444",	/* the mirror */
	};
	unsigned int n = denials(), sas = dp.nb;

	for (unsigned int i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
		CU_ASSERT_STRING_EQUAL(start("evil", clash[i], NULL, op2), "overlap");
		CU_ASSERT_STRING_EQUAL(start("evil", clash[i], NULL, op1), "overlap");
	}
	CU_ASSERT_EQUAL(dp.nb, sas);
	CU_ASSERT_EQUAL(denials(), n + 8);
	CU_ASSERT_STRING_EQUAL(start("m1", SEL_A, NULL, op1), "exists");
	CU_ASSERT_STRING_EQUAL(start("m2", "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,"
				     "dport=5555", NULL, op2), "ok");
	CU_ASSERT_STRING_EQUAL(start("m3", "src=192.0.2.1/32,dst=192.0.2.2/32,proto=udp,"
				     "dport=4444", NULL, op2), "ok");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m2", op2), "ok");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m3", op2), "ok");
}

static void
test_peer(void)
{
	unsigned int n = denials(), sas = dp.nb;

	CU_ASSERT_STRING_EQUAL(start("p1", "src=192.0.2.9/32,dst=192.0.2.2/32", "203.0.113.9",
				     op1), "forbidden");
	CU_ASSERT_STRING_EQUAL(start("p1", "src=192.0.2.9/32,dst=192.0.2.2/32", "203.0.113.9",
				     adm), "forbidden");
	CU_ASSERT_EQUAL(dp.nb, sas);
	CU_ASSERT_EQUAL(denials(), n + 2);
}

/* After a restart the owner comes back from the SA tags, if still configured. */
static void
test_recovered_owner(void)
{
	struct mc_state *old = st;

	st = mc_state_new(&conf);
	CU_ASSERT(mc_recover(st) > 0);
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", op2), "forbidden");
	CU_ASSERT_STRING_EQUAL(start("evil", SEL_A, NULL, op2), "overlap");
	mc_state_free(st);
	/* op1 no longer configured (an observer now): only an admin may end it. */
	conf.clients[0].role = MC_CLIENT_OBSERVER;
	st = mc_state_new(&conf);
	CU_ASSERT(mc_recover(st) > 0);
	conf.clients[0].role = MC_CLIENT_OPERATOR;
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", op1), "forbidden");
	CU_ASSERT_STRING_EQUAL(simple(MC_OP_END, "m1", adm), "ok");
	CU_ASSERT_EQUAL(dp.nb, 0);
	mc_state_free(st);
	mc_state_free(old);
	st = mc_state_new(&conf);
}

static const CU_TestInfo tests[] = {
	{ "observer: status and health only", test_observer },
	{ "a migration belongs to who started it (and admins)", test_owner },
	{ "a start overlapping a running migration's selectors is refused", test_overlap },
	{ "a peer outside mgmt.peers is refused", test_peer },
	{ "recovered migrations keep their owner, or belong to admins", test_recovered_owner },
	CU_TEST_INFO_NULL,
};

void
ct_suite_authz(void)
{
	tl_add_tests(CU_add_suite("authz", suite_init, suite_fini), tests);
}
