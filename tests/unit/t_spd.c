/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The selector table (rte_acl) against a naive list: random overlapping
 * rules with priorities, random keys inside and near them, IPv4 and IPv6.
 */
#include <arpa/inet.h>
#include <string.h>

#include "ms_spd.h"
#include "tl.h"
#include "ut.h"

#define NRULES 80
#define NKEYS 20000

/* The seeded generator: a failure is replayed with the printed seed. */
static uint32_t
rnd(uint32_t n)
{
	return ut_rnd(n);
}

/* Addresses come from a few documentation prefixes so rules overlap. */
static void
rand_ip(uint8_t af, struct ms_ip *ip)
{
	static const char *const v4[] = { "192.0.2.0", "198.51.100.0", "203.0.113.0" };
	static const char *const v6[] = { "2001:db8::", "2001:db8:1::", "2001:db8:ff::" };

	ms_ip_parse(af == MS_AF_INET ? v4[rnd(3)] : v6[rnd(3)], ip);
	if (af == MS_AF_INET)
		ip->v4 = htonl(ntohl(ip->v4) | rnd(8));
	else
		ip->v6[15] = (uint8_t)rnd(8);
}

static void
rand_prefix(uint8_t af, struct ms_prefix *p, bool may_be_wide)
{
	uint32_t max = af == MS_AF_INET ? 32 : 128, len;
	static const uint32_t lens4[] = { 24, 29, 30, 31, 32, 32, 32 };
	static const uint32_t lens6[] = { 64, 120, 125, 126, 127, 128, 128 };

	rand_ip(af, &p->ip);
	len = af == MS_AF_INET ? lens4[rnd(RTE_DIM(lens4))] : lens6[rnd(RTE_DIM(lens6))];
	if (may_be_wide && rnd(40) == 0)	/* now and then a catch-all source */
		len = af == MS_AF_INET ? rnd(2) * 8 : rnd(2) * 32;
	p->len = (uint8_t)len;
	for (uint32_t b = len; b < max; b++) {	/* clear host bits */
		if (af == MS_AF_INET)
			p->ip.v4 &= ~htonl(1u << (31 - b));
		else
			p->ip.v6[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	}
}

static void
rand_range(uint16_t *lo, uint16_t *hi)
{
	switch (rnd(3)) {
	case 0:
		*lo = 0;
		*hi = 65535;
		break;
	case 1:
		*lo = *hi = (uint16_t)(4000 + rnd(8));
		break;
	default:
		*lo = (uint16_t)(4000 + rnd(4));
		*hi = (uint16_t)(*lo + rnd(6));
	}
}

static void
rand_rule(uint8_t af, struct ms_spd_rule *r, uint32_t i)
{
	static const uint8_t protos[] = { 0, 6, 17, 1 };

	memset(r, 0, sizeof(*r));
	rand_prefix(af, &r->sel.src, true);
	rand_prefix(af, &r->sel.dst, false);
	r->sel.proto = protos[rnd(RTE_DIM(protos))];
	r->sel.sport_hi = r->sel.dport_hi = 65535;
	if (r->sel.proto == 6 || r->sel.proto == 17 || r->sel.proto == 0) {
		rand_range(&r->sel.sport_lo, &r->sel.sport_hi);
		rand_range(&r->sel.dport_lo, &r->sel.dport_hi);
	}
	r->userdata = i + 1;
	/* Random order, never equal: rte_acl defines no tie-break. */
	r->priority = 1 + rnd(1000) * NRULES + i;
	r->inbound = 0;
}

static void
fill_key(uint8_t af, uint8_t proto, const struct ms_ip *s, const struct ms_ip *d, uint16_t sp,
	 uint16_t dp, struct ms_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = af;
	if (af == MS_AF_INET) {
		k->v4.proto = proto;
		k->v4.src = s->v4;
		k->v4.dst = d->v4;
		k->v4.sport = sp;
		k->v4.dport = dp;
	} else {
		k->v6.proto = proto;
		memcpy(k->v6.src, s->v6, 16);
		memcpy(k->v6.dst, d->v6, 16);
		k->v6.sport = sp;
		k->v6.dport = dp;
	}
}

static void
rand_key(uint8_t af, struct ms_key *k)
{
	static const uint8_t protos[] = { 6, 17, 1, 47 };
	struct ms_ip s, d;
	uint8_t proto = protos[rnd(RTE_DIM(protos))];
	uint16_t sp = 0, dp = 0;

	rand_ip(af, &s);
	rand_ip(af, &d);
	if (proto == 6 || proto == 17) {
		sp = htons((uint16_t)(rnd(2) ? 4000 + rnd(12) : rnd(65536)));
		dp = htons((uint16_t)(rnd(2) ? 4000 + rnd(12) : rnd(65536)));
	}
	fill_key(af, proto, &s, &d, sp, dp, k);
}

/* Random host bits below a prefix's length. */
static void
host_bits(struct ms_ip *ip, uint8_t len)
{
	if (ip->af == MS_AF_INET) {
		if (len < 32)
			ip->v4 = htonl(ntohl(ip->v4) | (rnd(0) & (UINT32_MAX >> len)));
		return;
	}
	for (uint32_t b = len; b < 128; b++)
		ip->v6[b / 8] |= (uint8_t)(rnd(2) << (7 - b % 8));
}

/* A port of the range: either edge or one inside. */
static uint16_t
in_range(uint16_t lo, uint16_t hi)
{
	switch (rnd(3)) {
	case 0:
		return lo;
	case 1:
		return hi;
	default:
		return (uint16_t)(lo + rnd((uint32_t)(hi - lo) + 1));
	}
}

/* A key inside rule r: it matches r (or a rule of higher priority). */
static void
key_in_rule(uint8_t af, const struct ms_spd_rule *r, struct ms_key *k)
{
	struct ms_ip s = r->sel.src.ip, d = r->sel.dst.ip;
	uint8_t proto = r->sel.proto ? r->sel.proto : (rnd(2) ? 6 : 17);
	uint16_t sp = 0, dp = 0;

	host_bits(&s, r->sel.src.len);
	host_bits(&d, r->sel.dst.len);
	if (proto == 6 || proto == 17) {
		sp = htons(in_range(r->sel.sport_lo, r->sel.sport_hi));
		dp = htons(in_range(r->sel.dport_lo, r->sel.dport_hi));
	}
	fill_key(af, proto, &s, &d, sp, dp, k);
}

/*
 * The reference matcher, written here on purpose instead of calling the
 * product's ms_sel_match() (which the data path uses too): addresses
 * compared bit by bit as bytes on the wire, ports as numbers.
 */
static bool
naive_bits(const uint8_t *rule, const uint8_t *addr, unsigned int len)
{
	for (unsigned int b = 0; b < len; b++)
		if (((rule[b / 8] >> (7 - b % 8)) & 1) != ((addr[b / 8] >> (7 - b % 8)) & 1))
			return false;
	return true;
}

static bool
naive_match(const struct ms_sel *s, const struct ms_key *k)
{
	bool v4 = k->af == MS_AF_INET;
	const uint8_t *src = v4 ? (const uint8_t *)&k->v4.src : k->v6.src;
	const uint8_t *dst = v4 ? (const uint8_t *)&k->v4.dst : k->v6.dst;
	const uint8_t *rs = v4 ? (const uint8_t *)&s->src.ip.v4 : s->src.ip.v6;
	const uint8_t *rd = v4 ? (const uint8_t *)&s->dst.ip.v4 : s->dst.ip.v6;
	uint8_t proto = v4 ? k->v4.proto : k->v6.proto;
	uint16_t sp = ntohs(v4 ? k->v4.sport : k->v6.sport), dp = ntohs(v4 ? k->v4.dport : k->v6.dport);

	return s->src.ip.af == k->af && s->dst.ip.af == k->af &&
	       (s->proto == 0 || s->proto == proto) &&
	       naive_bits(rs, src, s->src.len) && naive_bits(rd, dst, s->dst.len) &&
	       sp >= s->sport_lo && sp <= s->sport_hi && dp >= s->dport_lo && dp <= s->dport_hi;
}

/* The reference: scan every rule, keep the highest priority match. */
static uint32_t
naive(const struct ms_spd_rule *r, unsigned int n, const struct ms_key *k)
{
	uint32_t best = 0, prio = 0;

	for (unsigned int i = 0; i < n; i++)
		if (naive_match(&r[i].sel, k) && r[i].priority > prio) {
			prio = r[i].priority;
			best = r[i].userdata;
		}
	return best;
}

static void
check_family(uint8_t af)
{
	static struct ms_spd_rule rules[NRULES];
	static struct ms_key keys[NKEYS];
	struct ms_spd spd;
	char err[256];
	unsigned int matched = 0;
	enum ms_spd_table t = af == MS_AF_INET ? MS_SPD_OUT4 : MS_SPD_OUT6;

	for (uint32_t i = 0; i < NRULES; i++)
		rand_rule(af, &rules[i], i);
	CU_ASSERT_EQUAL_FATAL(ms_spd_build(&spd, af == MS_AF_INET ? "t4" : "t6", rules, NRULES,
					   0, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < NKEYS; i += 32) {
		const uint8_t *kp[32];
		uint32_t res[32];

		bool inside[32];

		/* Half the keys fall inside a random rule (edges of its port
		 * ranges included), half anywhere near the rules. */
		for (uint32_t j = 0; j < 32; j++) {
			inside[j] = rnd(2);
			if (inside[j])
				key_in_rule(af, &rules[rnd(NRULES)], &keys[i + j]);
			else
				rand_key(af, &keys[i + j]);
			kp[j] = (const uint8_t *)&keys[i + j];
		}
		ms_spd_classify(&spd, t, kp, res, 32);
		for (uint32_t j = 0; j < 32; j++) {
			uint32_t want = naive(rules, NRULES, &keys[i + j]);

			CU_ASSERT_EQUAL(res[j], want);
			CU_ASSERT(!inside[j] || want != 0);	/* the generator itself */
			matched += want != 0;
		}
	}
	/* Both outcomes well exercised: the inside keys (about half) always
	 * match; keys drawn near the rules match one time in five or so. */
	CU_ASSERT(matched > NKEYS / 3 && matched < NKEYS - NKEYS / 20);
	if (!(matched > NKEYS / 3 && matched < NKEYS - NKEYS / 20))
		fprintf(stderr, "\n  %u of %u keys matched\n", matched, NKEYS);
	ms_spd_free(&spd);
}

static void
test_v4(void)
{
	check_family(MS_AF_INET);
}

static void
test_v6(void)
{
	check_family(MS_AF_INET6);
}

static void
test_empty_and_inbound(void)
{
	struct ms_spd spd;
	struct ms_spd_rule r;
	struct ms_key k;
	const uint8_t *kp = (const uint8_t *)&k;
	uint32_t res = 7;
	char err[256];

	CU_ASSERT_EQUAL(ms_spd_build(&spd, "te", NULL, 0, 0, err, sizeof(err)), 0);
	rand_key(MS_AF_INET, &k);
	ms_spd_classify(&spd, MS_SPD_OUT4, &kp, &res, 1);
	CU_ASSERT_EQUAL(res, 0);
	ms_spd_free(&spd);
	/* An inbound rule lands only in the inbound table. */
	rand_rule(MS_AF_INET, &r, 0);
	r.inbound = 1;
	memset(&r.sel.src, 0, sizeof(r.sel.src));
	memset(&r.sel.dst, 0, sizeof(r.sel.dst));
	r.sel.src.ip.af = r.sel.dst.ip.af = MS_AF_INET;
	r.sel.proto = 0;
	r.sel.sport_lo = r.sel.dport_lo = 0;
	r.sel.sport_hi = r.sel.dport_hi = 65535;
	CU_ASSERT_EQUAL(ms_spd_build(&spd, "ti", &r, 1, 0, err, sizeof(err)), 0);
	ms_spd_classify(&spd, MS_SPD_OUT4, &kp, &res, 1);
	CU_ASSERT_EQUAL(res, 0);
	ms_spd_classify(&spd, MS_SPD_IN4, &kp, &res, 1);
	CU_ASSERT_EQUAL(res, 1);
	ms_spd_free(&spd);
	r.userdata = 0;
	CU_ASSERT_EQUAL(ms_spd_build(&spd, "tz", &r, 1, 0, err, sizeof(err)), -EINVAL);
}

static const CU_TestInfo tests[] = {
	{ "rte_acl vs naive list, IPv4", test_v4 },
	{ "rte_acl vs naive list, IPv6", test_v6 },
	{ "empty table, inbound table, invalid rule", test_empty_and_inbound },
	CU_TEST_INFO_NULL,
};

void
ut_suite_spd(void)
{
	tl_add_tests(CU_add_suite("spd", NULL, NULL), tests);
	ut_suite_spdx();
}
