/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Migrations on two appliances (source and destination), each migsec-control
 * state talking to a stand-in data plane that records what it is given:
 * keys match across appliances and never across directions, policies,
 * rollback, the rekey state machine, lifetimes, recovery, key wiping.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ct.h"
#include "mc_audit.h"
#include "mc_dpc.h"
#include "mc_kdf.h"
#include "mc_mig.h"
#include "mc_secmem.h"
#include "ms_ctl_proto.h"
#include "tl.h"

static struct fake_dp dp[2];
static struct mc_conf conf[2];
static struct mc_state *st[2];
static uint8_t masked[MC_SECRET_LEN], mask[MC_SECRET_LEN];	/* the key, never in clear */
static const struct mc_client ct = { .identity = "CN=ct", .role = MC_CLIENT_OPERATOR };

static int
suite_init(void)
{
	for (int i = 0; i < 2; i++) {
		memset(&dp[i], 0, sizeof(dp[i]));
		if (fake_dp_start(&dp[i]) != 0)
			return -1;
		memset(&conf[i], 0, sizeof(conf[i]));
		snprintf(conf[i].name, sizeof(conf[i].name), i ? "apB" : "apA");
		snprintf(conf[i].dp_socket, sizeof(conf[i].dp_socket), "%.107s", dp[i].path);
		ms_ip_parse(i ? "203.0.113.2" : "203.0.113.1", &conf[i].outer4);
		conf[i].drain_s = 1;
		conf[i].drop_report_s = 10;
		conf[i].clients[conf[i].nb_clients++] = ct;
		ms_prefix_parse("203.0.113.0/24", &conf[i].peers[conf[i].nb_peers++]);
		st[i] = mc_state_new(&conf[i]);
	}
	RAND_bytes(mask, sizeof(mask));
	RAND_bytes(masked, sizeof(masked));
	return mc_audit_open("ct", NULL);
}

static int
suite_fini(void)
{
	for (int i = 0; i < 2; i++) {
		mc_state_free(st[i]);
		fake_dp_stop(&dp[i]);
	}
	return 0;
}

static void
req_start(struct mc_req *r, const char *id, enum mc_role role, enum mc_policy pol, uint64_t life)
{
	char err[128];

	memset(r, 0, sizeof(*r));
	r->op = MC_OP_START;
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->vm, sizeof(r->vm), "vm-%s", id);
	r->policy = pol;
	r->role = role;
	ms_ip_parse(role == MC_ROLE_SOURCE ? "203.0.113.2" : "203.0.113.1", &r->peer);
	r->nb_sel = 1;
	ms_sel_parse("src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=4444", &r->sel[0], err,
		     sizeof(err));
	r->lifetime_s = life;
	if (pol != MC_POL_DISABLED) {
		r->secret = mc_secure_zalloc(MC_SECRET_LEN);
		for (int i = 0; i < MC_SECRET_LEN; i++)
			r->secret[i] = masked[i] ^ mask[i];
	}
}

/* Run a request; returns its reply, checks ok or the error code. */
static json_t *
handle(int a, struct mc_req *r, const char *code)
{
	char *text = mc_handle(st[a], r, &ct);
	json_t *j = json_loads(text, 0, NULL);

	free(text);
	mc_req_clear(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	if (code == NULL) {
		CU_ASSERT(json_is_true(json_object_get(j, "ok")));
	} else {
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
			json_object_get(j, "error"), "code")), code);
	}
	return j;
}

static void
simple(int a, enum mc_op op, const char *id, const char *code)
{
	struct mc_req r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	snprintf(r.id, sizeof(r.id), "%s", id);
	json_decref(handle(a, &r, code));
}

static void
start_both(const char *id, enum mc_policy pol, uint64_t life)
{
	struct mc_req r;

	req_start(&r, id, MC_ROLE_SOURCE, pol, life);
	json_decref(handle(0, &r, NULL));
	req_start(&r, id, MC_ROLE_DESTINATION, pol, life);
	json_decref(handle(1, &r, NULL));
}

static bool
same_keys(const struct ms_sa_spec *a, const struct ms_sa_spec *b)
{
	return a && b && a->spi == b->spi && !memcmp(a->key, b->key, 32) && !memcmp(a->salt, b->salt, 4);
}

static void
test_start_keys_and_selectors(void)
{
	const struct ms_sa_spec *so, *si, *sn, *dout, *din;
	uint8_t secret[MC_SECRET_LEN], prk[MC_PRK_LEN];
	struct mc_esp_keys k;

	start_both("m1", MC_POL_REQUIRED, 600);
	CU_ASSERT_EQUAL(dp[0].nb, 3);	/* out g0, in g0, in g1 */
	CU_ASSERT_EQUAL(dp[1].nb, 3);
	so = fake_dp_find(&dp[0], MS_DIR_OUT, 0);
	si = fake_dp_find(&dp[0], MS_DIR_IN, 0);
	sn = fake_dp_find(&dp[0], MS_DIR_IN, 1);
	dout = fake_dp_find(&dp[1], MS_DIR_OUT, 0);
	din = fake_dp_find(&dp[1], MS_DIR_IN, 0);
	CU_ASSERT_FATAL(so && si && sn && dout && din);
	/* What the source seals, the destination opens; and back. */
	CU_ASSERT(same_keys(so, din));
	CU_ASSERT(same_keys(dout, si));
	/* The two directions never share a key or an SPI; nor do generations. */
	CU_ASSERT(memcmp(so->key, si->key, 32) != 0 && so->spi != si->spi);
	CU_ASSERT(memcmp(si->key, sn->key, 32) != 0 && si->spi != sn->spi);
	/* The keys are the derivation of docs/management.md. */
	for (int i = 0; i < MC_SECRET_LEN; i++)
		secret[i] = masked[i] ^ mask[i];
	CU_ASSERT_EQUAL(mc_kdf_prk(secret, secret + 32, prk), 0);
	CU_ASSERT_EQUAL(mc_kdf_esp(prk, "m1", MC_S2D, 0, 0, &k), 0);
	CU_ASSERT_EQUAL(memcmp(k.key, so->key, 32), 0);
	CU_ASSERT_EQUAL(k.spi, so->spi);
	memset(secret, 0, sizeof(secret));
	memset(prk, 0, sizeof(prk));
	memset(&k, 0, sizeof(k));
	/* Selectors: the source seals source->destination, opens the mirror. */
	CU_ASSERT_EQUAL(so->sel[0].dport_lo, 4444);
	CU_ASSERT_EQUAL(si->sel[0].sport_lo, 4444);
	CU_ASSERT_EQUAL(din->sel[0].dport_lo, 4444);
	CU_ASSERT_EQUAL(so->expires, din->expires);
	CU_ASSERT(so->expires > 0);
	/* A second start of the same id is refused. */
	{
		struct mc_req r;

		req_start(&r, "m1", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
		json_decref(handle(0, &r, "exists"));
	}
}

/*
 * Tick appliance a every 100 ms until its data plane holds nb SAs, for at
 * most seconds: a deadline in whole seconds passes on a loaded machine
 * later than a fixed sleep assumes.
 */
static bool
tick_until_nb(int a, unsigned int nb, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		mc_tick(st[a]);
		if (dp[a].nb == nb)
			return true;
		usleep(100000);
	}
	return false;
}

static void
test_rekey_machine(void)
{
	const struct ms_sa_spec *s;
	uint32_t id;

	simple(0, MC_OP_REKEY, "m1", NULL);
	CU_ASSERT_PTR_NOT_NULL(fake_dp_find(&dp[0], MS_DIR_OUT, 1));
	CU_ASSERT_PTR_NULL(fake_dp_find(&dp[0], MS_DIR_OUT, 0));	/* old outbound gone */
	/* The destination already accepts generation 1 ... */
	CU_ASSERT(same_keys(fake_dp_find(&dp[0], MS_DIR_OUT, 1), fake_dp_find(&dp[1], MS_DIR_IN, 1)));
	/* ... and once its packets arrive, opens generation 2, drains 0. */
	s = fake_dp_find(&dp[1], MS_DIR_IN, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	id = s->id;
	fake_dp_set_pkts(&dp[1], id, 5);
	mc_tick(st[1]);
	CU_ASSERT_PTR_NOT_NULL(fake_dp_find(&dp[1], MS_DIR_IN, 2));
	CU_ASSERT_PTR_NOT_NULL(fake_dp_find(&dp[1], MS_DIR_IN, 0));	/* draining */
	CU_ASSERT(tick_until_nb(1, 3, 10));
	CU_ASSERT_PTR_NULL(fake_dp_find(&dp[1], MS_DIR_IN, 0));	/* retired */
	CU_ASSERT_EQUAL(dp[1].nb, 3);	/* out g0, in g1, in g2 */
	simple(0, MC_OP_REKEY, "nope", "not_found");
}

static void
test_end_and_wipe(void)
{
	simple(0, MC_OP_END, "m1", NULL);
	simple(1, MC_OP_END, "m1", NULL);
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	CU_ASSERT_EQUAL(dp[1].nb, 0);
	simple(0, MC_OP_STATUS, "m1", "not_found");
}

static void
test_rollback(void)
{
	struct mc_req r;

	dp[0].fail_add_after = dp[0].adds + 3;	/* the outbound SA is refused */
	req_start(&r, "m2", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	json_decref(handle(0, &r, "dataplane_error"));
	dp[0].fail_add_after = 0;
	CU_ASSERT_EQUAL(dp[0].nb, 0);		/* nothing half-installed */
	simple(0, MC_OP_STATUS, "m2", "not_found");
}

static void
test_disabled_and_lifetime(void)
{
	const struct ms_sa_spec *b;
	struct mc_req r;

	req_start(&r, "m3", MC_ROLE_SOURCE, MC_POL_DISABLED, 1);
	json_decref(handle(0, &r, NULL));
	b = fake_dp_find(&dp[0], MS_DIR_BYPASS, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(b->nb_sel, 2);		/* both ways */
	CU_ASSERT_EQUAL(b->spi, 0);
	simple(0, MC_OP_REKEY, "m3", "invalid_field");
	CU_ASSERT(tick_until_nb(0, 0, 10));	/* lifetime over */
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	simple(0, MC_OP_STATUS, "m3", "not_found");
}

static void
test_recovery(void)
{
	struct mc_state *again;
	char *text;

	start_both("m4", MC_POL_REQUIRED, 600);
	again = mc_state_new(&conf[0]);		/* as after a restart */
	CU_ASSERT_EQUAL(mc_recover(again), 3);
	{
		struct mc_req r = { .op = MC_OP_REKEY };

		snprintf(r.id, sizeof(r.id), "m4");
		text = mc_handle(again, &r, &ct);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "keys_lost"));
		free(text);
		r.op = MC_OP_STATUS;
		text = mc_handle(again, &r, &ct);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"role\":\"source\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "dport=4444-4444"));
		free(text);
		r.op = MC_OP_END;
		text = mc_handle(again, &r, &ct);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"ok\":true"));
		free(text);
	}
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	mc_state_free(again);
	mc_state_free(st[0]);
	st[0] = mc_state_new(&conf[0]);
	simple(1, MC_OP_END, "m4", NULL);
}

/* No copy of the one-shot key is left in this process (control side). */
static void
test_no_key_left(void)
{
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
}

/* Lanes: one SA per lane and direction, keys and SPIs all different. */
static void
test_lanes(void)
{
	struct mc_req r;
	const struct ms_sa_spec *a, *b;

	req_start(&r, "m5", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	r.lanes = 3;
	json_decref(handle(0, &r, NULL));
	CU_ASSERT_EQUAL(dp[0].nb, 9);		/* 3 lanes x (out g0, in g0, in g1) */
	a = NULL;
	for (unsigned int i = 0; i < dp[0].nb; i++) {
		const struct ms_sa_spec *x = &dp[0].sa[i];

		if (x->dir == MS_DIR_OUT) {
			CU_ASSERT_EQUAL(x->nb_lanes, 3);
			CU_ASSERT_EQUAL(x->sport, 4500 + x->lane);
			if (a != NULL)
				CU_ASSERT_EQUAL(x->group, a->group);
			a = x;
		}
	}
	for (unsigned int i = 0; i < dp[0].nb; i++)
		for (unsigned int j = i + 1; j < dp[0].nb; j++) {
			a = &dp[0].sa[i];
			b = &dp[0].sa[j];
			CU_ASSERT(a->spi != b->spi && memcmp(a->key, b->key, 32) != 0);
		}
	simple(0, MC_OP_REKEY, "m5", NULL);
	CU_ASSERT_EQUAL(dp[0].nb, 9);		/* all 3 lanes replaced together */
	simple(0, MC_OP_END, "m5", NULL);
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	/* Fewer lanes than the data plane's workers: refused. */
	dp[0].workers = 2;
	req_start(&r, "m6", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	r.lanes = 1;
	json_decref(handle(0, &r, "dataplane_error"));
	dp[0].workers = 1;
	CU_ASSERT_EQUAL(dp[0].nb, 0);
}

/*
 * An SA_ADD whose answer comes too late: migsec-control gives up and rolls
 * the start back, but the data plane did install the SA (and the rollback's
 * deletes of the inbound SAs are late too). The next tick must delete every
 * SA of the failed start, or its key would live until its expiry.
 */
static unsigned int
audit_count(const char *path, const char *what)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned int n = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

static void
test_late_add_reconciled(void)
{
	char audit[] = "/tmp/migsec-ct-audit-XXXXXX";
	int fd = mkstemp(audit);
	struct mc_req r;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	mc_audit_close();
	CU_ASSERT_FATAL(mc_audit_open("ct", audit) == 0);
	mc_dp_set_timeout(300);
	dp[0].slow_add = (int)dp[0].adds + 3;	/* the outbound SA, after in g0 and in g1 */
	dp[0].slow_ms = 700;
	req_start(&r, "m7", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	json_decref(handle(0, &r, "dataplane_error"));
	simple(0, MC_OP_STATUS, "m7", "not_found");	/* control forgot it */
	usleep(1200 * 1000);			/* the fake data plane caught up */
	dp[0].slow_add = 0;
	mc_tick(st[0]);
	CU_ASSERT_EQUAL(dp[0].nb, 0);		/* no SA of m7 left */
	if (dp[0].nb != 0)
		fprintf(stderr, "\n  %u SA(s) of a failed start left in the data plane\n", dp[0].nb);
	mc_dp_set_timeout(0);
	for (unsigned int i = 0; i < dp[0].nb; i++)	/* for the next tests */
		mc_dp_del(dp[0].path, dp[0].sa[i].id, (char[64]){ 0 }, 64);
	/* The audit trail says what was left and what became of it. */
	CU_ASSERT(audit_count(audit, "\"event\":\"sa_unanswered\"") >= 1);
	CU_ASSERT(audit_count(audit, "\"event\":\"sa_reconciled\"") >= 1);
	/* Every SA taken in is settled, or still tracked (absent: in its grace time). */
	CU_ASSERT_EQUAL(audit_count(audit, "\"event\":\"sa_unanswered\""),
			audit_count(audit, "\"event\":\"sa_reconciled\"") + mc_dp_pending());
	mc_audit_close();
	unlink(audit);
	CU_ASSERT(mc_audit_open("ct", NULL) == 0);
}

/*
 * Deletions in batches: a rekey's old outbound lanes and, at the end, every
 * SA of the migration go in one SA_DEL_BATCH each; an SA the data plane no
 * longer holds (gone there) keeps none of the others alive, and is audited;
 * a data plane older than SA_DEL_BATCH gets one SA_DEL per SA instead.
 */
static void
test_batched_deletes(void)
{
	char audit[] = "/tmp/migsec-ct-audit-XXXXXX";
	int fd = mkstemp(audit);
	const struct ms_sa_spec *in1;
	unsigned int batches, dels;
	struct mc_req r;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	mc_audit_close();
	CU_ASSERT_FATAL(mc_audit_open("ct", audit) == 0);
	req_start(&r, "m8", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	r.lanes = 4;
	json_decref(handle(0, &r, NULL));
	CU_ASSERT_EQUAL_FATAL(dp[0].nb, 12);	/* 4 lanes x (out g0, in g0, in g1) */
	batches = dp[0].del_batches;
	simple(0, MC_OP_REKEY, "m8", NULL);
	CU_ASSERT_EQUAL(dp[0].del_batches, batches + 1);	/* out g0's 4 lanes at once */
	CU_ASSERT_EQUAL(dp[0].nb, 12);
	CU_ASSERT_PTR_NULL(fake_dp_find(&dp[0], MS_DIR_OUT, 0));
	in1 = fake_dp_find(&dp[0], MS_DIR_IN, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(in1);
	CU_ASSERT_EQUAL(mc_dp_del(dp[0].path, in1->id, (char[64]){ 0 }, 64), 0);
	simple(0, MC_OP_END, "m8", NULL);
	CU_ASSERT_EQUAL(dp[0].del_batches, batches + 2);	/* the 12 ids in one request */
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	CU_ASSERT_EQUAL(audit_count(audit, "no longer held"), 1);
	/* A data plane without SA_DEL_BATCH. */
	dp[0].old_dp = true;
	req_start(&r, "m9", MC_ROLE_SOURCE, MC_POL_REQUIRED, 600);
	r.lanes = 2;
	json_decref(handle(0, &r, NULL));
	CU_ASSERT_EQUAL(dp[0].nb, 6);
	dels = dp[0].dels;
	batches = dp[0].del_batches;
	simple(0, MC_OP_END, "m9", NULL);
	dp[0].old_dp = false;
	CU_ASSERT_EQUAL(dp[0].nb, 0);
	CU_ASSERT(dp[0].dels >= dels + 6);	/* (and the reconciliation's, of m7) */
	CU_ASSERT_EQUAL(dp[0].del_batches, batches);
	CU_ASSERT_EQUAL(audit_count(audit, "\"event\":\"sa_remove_failed\""), 1);
	mc_audit_close();
	unlink(audit);
	CU_ASSERT(mc_audit_open("ct", NULL) == 0);
}

/*
 * A socket at the data plane's path served by a process of another user
 * (here nobody, forked): migsec-control must not hand it keys, nor take
 * its counters. The impostor answers PING like the real one would.
 */
static pid_t
impostor(const char *path, int *ready)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct ms_ctl_hdr h;
		int l = socket(AF_UNIX, SOCK_STREAM, 0), fd;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		if (setgid(65534) != 0 || setuid(65534) != 0 ||
		    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 1) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		fd = accept(l, NULL, NULL);
		if (fd >= 0 && recv(fd, &h, sizeof(h), MSG_WAITALL) == sizeof(h)) {
			h.status = 0;
			h.len = 2;
			if (send(fd, &h, sizeof(h), 0) == sizeof(h) && send(fd, "{}", 2, 0) == 2)
				_exit(0);
		}
		_exit(1);
	}
	close(p[1]);
	*ready = pid > 0 && read(p[0], &(char){ 0 }, 1) == 1;
	close(p[0]);
	return pid;
}

static void
test_peer_of_other_user(void)
{
	char dir[] = "/tmp/migsec-ct-peer-XXXXXX", path[108], err[256] = "";
	json_t *j;
	pid_t pid;
	int ready = 0, status;

	if (geteuid() != 0) {
		fprintf(stderr, "\n  (not root: cannot serve a socket as another user; skipped)\n");
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	chmod(dir, 0777);	/* for the impostor's bind */
	snprintf(path, sizeof(path), "%s/dp.sock", dir);
	pid = impostor(path, &ready);
	CU_ASSERT_FATAL(pid > 0 && ready);
	j = mc_dp_ping(path, err, sizeof(err));
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "uid 65534"));
	if (j != NULL)
		fprintf(stderr, "\n  the impostor was answered: %s\n", err);
	json_decref(j);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	unlink(path);
	rmdir(dir);
}

static const CU_TestInfo tests[] = {
	{ "start: keys match across appliances, never across directions",
	  test_start_keys_and_selectors },
	{ "rekey: make-before-break, inbound advance, drain", test_rekey_machine },
	{ "end removes every SA", test_end_and_wipe },
	{ "a refused SA rolls the whole start back", test_rollback },
	{ "policy disabled: a bypass rule; lifetime ends it", test_disabled_and_lifetime },
	{ "recovery after a restart: status and end work, rekey does not", test_recovery },
	{ "lanes: one SA per lane, all keys differ, rekeyed together", test_lanes },
	{ "no copy of the one-shot key left in memory", test_no_key_left },
	{ "a data plane socket served by another user is refused", test_peer_of_other_user },
	{ "an SA whose SA_ADD timed out is deleted at the next tick", test_late_add_reconciled },
	{ "deletes in batches: rekey, end, an SA already gone, an older data plane",
	  test_batched_deletes },
	CU_TEST_INFO_NULL,
};

void
ct_suite_mig(void)
{
	tl_add_tests(CU_add_suite("mig", suite_init, suite_fini), tests);
}
