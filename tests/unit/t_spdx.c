/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SPD's two tables together (exact host-pair hash and ACL for the
 * rest) against a naive list, in every table (out, in, fragments), on
 * random rules where host pairs and prefixes overlap; then built
 * incrementally (each SPD from the previous one, rules added and
 * removed), checking both the answers and that an unchanged ACL is shared.
 * The naive matcher is ms_sel_match(), which t_sel.c checks on its own.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "ms_spd.h"
#include "tl.h"
#include "ut.h"

#define NR 160
#define NK 4000
#define NSCALE 2048

static const enum ms_spd_table tabs[2][3] = {
	{ MS_SPD_OUT4, MS_SPD_IN4, MS_SPD_FRAG4 }, { MS_SPD_OUT6, MS_SPD_IN6, MS_SPD_FRAG6 } };

/* Eight hosts in one /29 (or /125): host pairs and prefixes overlap. */
static void
pool_ip(uint8_t af, struct ms_ip *ip, uint32_t i)
{
	ms_ip_parse(af == MS_AF_INET ? "192.0.2.0" : "2001:db8::", ip);
	if (af == MS_AF_INET)
		ip->v4 = htonl(ntohl(ip->v4) | (i & 7));
	else
		ip->v6[15] = (uint8_t)(i & 7);
}

static void
pool_prefix(uint8_t af, struct ms_prefix *p, bool host)
{
	unsigned int full = af == MS_AF_INET ? 32 : 128, len = host ? full : full - ut_rnd(4);

	pool_ip(af, &p->ip, ut_rnd(8) & ~((1u << (full - len)) - 1));
	p->len = (uint8_t)len;
}

/*
 * Half host pairs of an exact form (any protocol and port; TCP or UDP to
 * one port, from one port, or any port), half anything else, which may be
 * a host pair too; any of the three tables (a fragment rule of a protocol
 * is exact too).
 */
static void
rule(uint8_t af, struct ms_spd_rule *r, uint32_t ud, uint32_t prio)
{
	bool host = ut_rnd(2);
	uint16_t port = (uint16_t)(ut_rnd(2) ? 4000 : 4001);

	memset(r, 0, sizeof(*r));
	pool_prefix(af, &r->sel.src, host || ut_rnd(2));
	pool_prefix(af, &r->sel.dst, host || ut_rnd(2));
	r->sel.sport_hi = r->sel.dport_hi = 65535;
	if (!host) {
		r->sel.proto = (uint8_t)(ut_rnd(3) ? 6 : 0);
		r->sel.dport_lo = r->sel.dport_hi = port;
		if (ut_rnd(4) == 0)	/* a range: always the ACL's */
			r->sel.dport_hi = (uint16_t)(port + 1);
	} else if (ut_rnd(3) != 0) {
		uint32_t shape = ut_rnd(3);

		r->sel.proto = (uint8_t)(ut_rnd(2) ? 6 : 17);
		if (shape == 0)
			r->sel.dport_lo = r->sel.dport_hi = port;
		else if (shape == 1)
			r->sel.sport_lo = r->sel.sport_hi = port;	/* else: any port */
	}
	r->userdata = ud;
	r->priority = prio;
	r->inbound = (uint8_t)(ut_rnd(3) == 0);
	r->frag = (uint8_t)(!r->inbound && ut_rnd(3) == 0);
}

static void
key(uint8_t af, struct ms_key *k)
{
	struct ms_ip s, d;
	uint8_t proto = ut_rnd(4) ? 6 : 17;
	uint16_t sp = htons((uint16_t)(3999 + ut_rnd(3))), dp = htons((uint16_t)(3999 + ut_rnd(3)));

	pool_ip(af, &s, ut_rnd(8));
	pool_ip(af, &d, ut_rnd(8));
	memset(k, 0, sizeof(*k));
	k->af = af;
	if (af == MS_AF_INET) {
		*k = (struct ms_key){ .v4 = { .proto = proto, .src = s.v4, .dst = d.v4,
					      .sport = sp, .dport = dp }, .af = af };
	} else {
		k->v6.proto = proto;
		memcpy(k->v6.src, s.v6, 16);
		memcpy(k->v6.dst, d.v6, 16);
		k->v6.sport = sp;
		k->v6.dport = dp;
	}
}

/* Highest priority among the rules of table k (0 out, 1 in, 2 fragments). */
static uint32_t
naive(const struct ms_spd_rule *r, unsigned int n, int kind, const struct ms_key *k)
{
	uint32_t best = 0, prio = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct ms_sel s = r[i].sel;

		if ((kind == 2) != (r[i].frag != 0) || (kind == 1) != (r[i].inbound != 0))
			continue;
		if (kind == 2) {	/* the fragment tables ignore the ports */
			s.sport_lo = s.dport_lo = 0;
			s.sport_hi = s.dport_hi = 65535;
		}
		if (ms_sel_match(&s, k) && r[i].priority > prio) {
			prio = r[i].priority;
			best = r[i].userdata;
		}
	}
	return best;
}

static void
check(const struct ms_spd *spd, uint8_t af, const struct ms_spd_rule *r, unsigned int n)
{
	unsigned int matched = 0;

	for (int kind = 0; kind < 3; kind++) {
		for (uint32_t i = 0; i < NK / 32; i++) {
			struct ms_key k[32];
			const uint8_t *kp[32];
			uint32_t res[32];

			for (int j = 0; j < 32; j++) {
				key(af, &k[j]);
				kp[j] = (const uint8_t *)&k[j];
			}
			ms_spd_classify(spd, tabs[af == MS_AF_INET6][kind], kp, res, 32);
			for (int j = 0; j < 32; j++) {
				uint32_t want = naive(r, n, kind, &k[j]);

				CU_ASSERT_EQUAL(res[j], want);
				matched += want != 0;
			}
		}
	}
	CU_ASSERT(matched > NK / 4);	/* the pool makes matches common */
}

static void
build(struct ms_spd *spd, const struct ms_spd *prev, const struct ms_spd_rule *r, unsigned int n)
{
	static unsigned int gen;
	char name[32], err[256] = "";

	snprintf(name, sizeof(name), "tx%u", gen++);
	CU_ASSERT_EQUAL_FATAL(ms_spd_build_from(spd, prev, name, r, n, 0, err, sizeof(err)), 0);
}

static bool
is_host(const struct ms_spd_rule *r)
{
	unsigned int full = r->sel.src.ip.af == MS_AF_INET ? 32 : 128;

	return r->sel.src.len == full && r->sel.dst.len == full && r->sel.proto == 0 &&
	       r->sel.dport_lo == 0 && r->sel.dport_hi == 65535;
}

/* Add or remove one rule at a time; each SPD from the one before, the old one freed after. */
static void
incremental(uint8_t af, struct ms_spd_rule *r, unsigned int n)
{
	struct ms_spd a, b;
	unsigned int shared = 0;

	build(&a, NULL, r, n);
	for (int step = 0; step < 24; step++) {
		uint32_t victim = ut_rnd(n);
		bool host = is_host(&r[victim]), add = step % 2 == 0 && n < NR;

		if (add)
			rule(af, &r[n++], NR + 1 + (uint32_t)step, 5000 + (uint32_t)step);
		else
			r[victim] = r[--n];	/* order changes too: rebuilt unless a host pair */
		build(&b, &a, r, n);
		for (int t = 0; t < MS_SPD_MAX; t++)
			shared += b.acl[t] != NULL && b.acl[t] == a.acl[t];
		if (add ? is_host(&r[n - 1]) : host && victim == n)
			CU_ASSERT(b.acl[tabs[af == MS_AF_INET6][0]] == a.acl[tabs[af == MS_AF_INET6][0]]);
		ms_spd_free(&a);	/* as the swap does: b must not depend on it */
		check(&b, af, r, n);
		a = b;
	}
	CU_ASSERT(shared > 0);
	ms_spd_free(&a);
}

static void
run(uint8_t af)
{
	static struct ms_spd_rule r[NR];
	unsigned int n = NR / 2;
	struct ms_spd spd;

	for (uint32_t i = 0; i < n; i++)	/* distinct priorities, random order */
		rule(af, &r[i], i + 1, 1 + ut_rnd(1000) * NR + i);
	build(&spd, NULL, r, n);
	check(&spd, af, r, n);
	ms_spd_free(&spd);
	incremental(af, r, n);
}

static void
test_v4(void)
{
	run(MS_AF_INET);
}

static void
test_v6(void)
{
	run(MS_AF_INET6);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Install cost, printed and not asserted (the machine may be loaded):
 * NSCALE host-pair SAs (an outbound and an inbound rule each) beside a
 * few prefix rules, one SPD per install as the SA database builds them,
 * then one more; and what one full rebuild (every install before the
 * exact table) costs at that size.
 */
static void
test_scale(void)
{
	static struct ms_spd_rule r[2 * (NSCALE + 1) + 8];
	struct ms_spd a, b;
	unsigned int n = 0;
	uint64_t t0, t1 = 0, t2;

	for (uint32_t i = 0; i < 8; i++)
		rule(MS_AF_INET, &r[n++], i + 1, i + 1);
	for (int i = 0; i < 8; i++)
		r[i].sel.src.len = 24;	/* prefix rules, in the ACL */
	build(&a, NULL, r, n);
	t0 = now_ns();
	for (uint32_t s = 0; s <= NSCALE; s++) {
		if (s == NSCALE)
			t1 = now_ns();
		for (int d = 0; d < 2; d++) {
			struct ms_spd_rule *x = &r[n++];

			memset(x, 0, sizeof(*x));
			x->sel.src.ip.af = x->sel.dst.ip.af = MS_AF_INET;
			x->sel.src.ip.v4 = htonl(0x0a000000u + s);
			x->sel.dst.ip.v4 = htonl(0x0b000000u + s);
			x->sel.src.len = x->sel.dst.len = 32;
			x->sel.sport_hi = x->sel.dport_hi = 65535;
			x->userdata = 100 + s;
			x->priority = 100 + s;
			x->inbound = (uint8_t)d;
		}
		build(&b, &a, r, n);
		ms_spd_free(&a);
		a = b;
	}
	t2 = now_ns();
	for (unsigned int i = 8; i < n; i++)
		r[i].sel.src.len = 31;	/* the same rules, all in the ACL: the old cost */
	build(&b, NULL, r, n);
	printf("\n  spd scale: %u host-pair SAs installed in %.1f ms, one more in %.2f ms; "
	       "one full ACL rebuild at that size %.1f ms\n", NSCALE, (double)(t1 - t0) / 1e6,
	       (double)(t2 - t1) / 1e6, (double)(now_ns() - t2) / 1e6);
	ms_spd_free(&b);
	ms_spd_free(&a);
}

static const CU_TestInfo tests[] = {
	{ "exact hash + rte_acl vs naive list, IPv4, incremental", test_v4 },
	{ "exact hash + rte_acl vs naive list, IPv6, incremental", test_v6 },
	{ "install cost, printed", test_scale },
	CU_TEST_INFO_NULL,
};

void
ut_suite_spdx(void)
{
	tl_add_tests(CU_add_suite("spdx", NULL, NULL), tests);
}
