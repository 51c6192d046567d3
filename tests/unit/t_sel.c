/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Addresses, selectors, flow keys, MSS clamping and the remote prefixes of a
 * snapshot: the pure helpers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ms_path.h"
#include "ms_route.h"
#include "ms_sel.h"
#include "tl.h"
#include "ut.h"

static void
test_prefix(void)
{
	struct ms_prefix p;
	struct ms_ip ip;

	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.0/24", &p), 0);
	CU_ASSERT_EQUAL(p.len, 24);
	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.1", &p), 0);
	CU_ASSERT_EQUAL(p.len, 32);
	CU_ASSERT_EQUAL(ms_prefix_parse("2001:db8::/32", &p), 0);
	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.1/24", &p), -EINVAL);	/* host bits */
	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.0/33", &p), -EINVAL);
	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.0/", &p), -EINVAL);
	CU_ASSERT_EQUAL(ms_prefix_parse("192.0.2.0/-1", &p), -EINVAL);
	CU_ASSERT_EQUAL(ms_prefix_parse("2001:db8::1/64", &p), -EINVAL);
	CU_ASSERT_EQUAL(ms_prefix_parse("", &p), -EINVAL);
	CU_ASSERT_EQUAL(ms_prefix_parse("198.51.101.0/23", &p), -EINVAL);
	ms_prefix_parse("198.51.100.0/22", &p);
	ms_ip_parse("198.51.103.255", &ip);
	CU_ASSERT(ms_prefix_has(&p, &ip));
	ms_ip_parse("198.51.104.0", &ip);
	CU_ASSERT(!ms_prefix_has(&p, &ip));
	ms_prefix_parse("2001:db8:1::/49", &p);
	ms_ip_parse("2001:db8:1:7fff::1", &ip);
	CU_ASSERT(ms_prefix_has(&p, &ip));
	ms_ip_parse("2001:db8:1:8000::1", &ip);
	CU_ASSERT(!ms_prefix_has(&p, &ip));
	ms_prefix_parse("0.0.0.0/0", &p);
	CU_ASSERT(ms_prefix_has(&p, &ip) == false);	/* other family */
}

static void
test_sel_parse(void)
{
	struct ms_sel s, m;
	char err[128], buf[256];

	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1/32,dst=192.0.2.2,proto=tcp,dport=4444",
				     &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.proto, IPPROTO_TCP);
	CU_ASSERT_EQUAL(s.dport_lo, 4444);
	CU_ASSERT_EQUAL(s.dport_hi, 4444);
	CU_ASSERT_EQUAL(s.sport_lo, 0);
	CU_ASSERT_EQUAL(s.sport_hi, 65535);
	ms_sel_str(&s, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "src=192.0.2.1/32,dst=192.0.2.2/32,proto=6,sport=0-65535,dport=4444-4444");
	CU_ASSERT_EQUAL(ms_sel_parse(buf, &m, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(memcmp(&s, &m, sizeof(s)), 0);
	ms_sel_mirror(&s, &m);
	CU_ASSERT_EQUAL(m.sport_lo, 4444);
	CU_ASSERT(ms_ip_eq(&m.src.ip, &s.dst.ip));
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=2001:db8::1", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=192.0.2.2,dport=9-1", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=192.0.2.2,dport=70000", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=192.0.2.2,proto=icmp,dport=1", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=192.0.2.2,color=red", &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown selector key 'color'"));
	CU_ASSERT_EQUAL(ms_sel_parse("src=192.0.2.1,dst=192.0.2.2,proto=300", &s, err, sizeof(err)), -EINVAL);
}

static size_t
ip4_tcp(uint8_t *p, uint8_t ihl_words, uint16_t frag, uint16_t sport, uint16_t dport)
{
	size_t hl = ihl_words * 4u, tot = hl + 20;

	memset(p, 0, tot);
	p[0] = (uint8_t)(0x40 | ihl_words);
	p[2] = (uint8_t)(tot >> 8);
	p[3] = (uint8_t)tot;
	p[6] = (uint8_t)(frag >> 8);
	p[7] = (uint8_t)frag;
	p[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "192.0.2.1", p + 12);
	inet_pton(AF_INET, "192.0.2.2", p + 16);
	p[hl] = (uint8_t)(sport >> 8);
	p[hl + 1] = (uint8_t)sport;
	p[hl + 2] = (uint8_t)(dport >> 8);
	p[hl + 3] = (uint8_t)dport;
	return tot;
}

static void
test_key_extract(void)
{
	uint8_t p[128];
	struct ms_key k;
	size_t n;

	n = ip4_tcp(p, 5, 0, 1234, 4444);
	CU_ASSERT_EQUAL(ms_key_extract(p, (uint32_t)n, &k), 20);
	CU_ASSERT_EQUAL(k.af, MS_AF_INET);
	CU_ASSERT_EQUAL(ntohs(k.v4.sport), 1234);
	CU_ASSERT_EQUAL(ntohs(k.v4.dport), 4444);
	n = ip4_tcp(p, 7, 0, 1, 2);			/* options */
	CU_ASSERT_EQUAL(ms_key_extract(p, (uint32_t)n, &k), 28);
	CU_ASSERT_EQUAL(ntohs(k.v4.dport), 2);
	n = ip4_tcp(p, 5, 0x0010, 1, 2);		/* non-first fragment */
	CU_ASSERT_EQUAL(ms_key_extract(p, (uint32_t)n, &k), 20);
	CU_ASSERT_EQUAL(k.v4.dport, 0);
	n = ip4_tcp(p, 5, 0, 1, 2);
	CU_ASSERT_EQUAL(ms_key_extract(p, (uint32_t)n - 1, &k), -1);	/* length > buffer */
	p[0] = 0x44;
	CU_ASSERT_EQUAL(ms_key_extract(p, (uint32_t)n, &k), -1);	/* IHL < 5 */
	CU_ASSERT_EQUAL(ms_key_extract(p, 0, &k), -1);
	/* IPv6 with a hop-by-hop header, then UDP */
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 8 + 8;
	p[6] = IPPROTO_HOPOPTS;
	inet_pton(AF_INET6, "2001:db8:1::1", p + 8);
	inet_pton(AF_INET6, "2001:db8:1::2", p + 24);
	p[40] = IPPROTO_UDP;
	p[48] = 0x13;
	p[49] = 0x88;
	p[50] = 0x11;
	p[51] = 0x5c;
	CU_ASSERT_EQUAL(ms_key_extract(p, 56, &k), 48);
	CU_ASSERT_EQUAL(k.v6.proto, IPPROTO_UDP);
	CU_ASSERT_EQUAL(ntohs(k.v6.sport), 5000);
	CU_ASSERT_EQUAL(ntohs(k.v6.dport), 4444);
	p[41] = 200;					/* extension runs past the packet */
	CU_ASSERT_EQUAL(ms_key_extract(p, 56, &k), -1);
	p[5] = 200;					/* payload length past the buffer */
	CU_ASSERT_EQUAL(ms_key_extract(p, 56, &k), -1);
}

static uint16_t
tcp_cksum(const uint8_t *ip, uint32_t len)
{
	uint32_t sum = 0;
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	ph[10] = (uint8_t)((len - 20) >> 8);
	ph[11] = (uint8_t)(len - 20);
	for (int i = 0; i < 12; i += 2)
		sum += (uint32_t)(ph[i] << 8 | ph[i + 1]);
	for (uint32_t i = 20; i < len; i += 2)
		sum += (uint32_t)(ip[i] << 8 | (i + 1 < len ? ip[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
syn_with_mss(uint8_t *p, uint32_t *len, bool odd)
{
	uint32_t o = 20 + 20;

	*len = (uint32_t)ip4_tcp(p, 5, 0, 1234, 4444);
	p[33] = 0x02;	/* SYN */
	if (odd)
		p[o++] = 1;	/* NOP: MSS at an odd offset */
	p[o++] = 2;
	p[o++] = 4;
	p[o++] = 0x05;	/* 1460 */
	p[o++] = 0xb4;
	while ((o - 20) % 4)
		p[o++] = 0;	/* end of options */
	p[32] = (uint8_t)(((o - 20) / 4) << 4);
	*len = o;
	p[2] = (uint8_t)(o >> 8);
	p[3] = (uint8_t)o;
	p[36] = p[37] = 0;
	{
		uint16_t ck = htons(tcp_cksum(p, o));

		memcpy(p + 36, &ck, 2);
	}
}

static void
test_mss(void)
{
	uint8_t p[128];
	uint32_t len;

	for (int odd = 0; odd < 2; odd++) {
		syn_with_mss(p, &len, odd);
		CU_ASSERT_EQUAL(tcp_cksum(p, len), 0);
		CU_ASSERT(ms_mss_clamp(p, len, 20, 1398));
		CU_ASSERT_EQUAL(p[40 + odd + 2] << 8 | p[40 + odd + 3], 1398);
		CU_ASSERT_EQUAL(tcp_cksum(p, len), 0);		/* checksum still right */
		CU_ASSERT(!ms_mss_clamp(p, len, 20, 1400));	/* already small enough */
	}
	syn_with_mss(p, &len, false);
	p[33] = 0x10;						/* ACK only: untouched */
	CU_ASSERT(!ms_mss_clamp(p, len, 20, 1000));
	syn_with_mss(p, &len, false);
	p[41] = 40;						/* option runs past the header */
	CU_ASSERT(!ms_mss_clamp(p, len, 20, 1000));
}

/* Remote prefixes: the spans against the linear scan they replace. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 32) % n;
}

static uint8_t *
ip_bytes(struct ms_ip *ip)
{
	return ip->af == MS_AF_INET ? (uint8_t *)&ip->v4 : ip->v6;
}

static unsigned int
ip_width(const struct ms_ip *ip)
{
	return ip->af == MS_AF_INET ? 32 : 128;
}

/* Set every bit from bit 'from' on (host bits of a /from) to v. */
static void
set_bits_from(struct ms_ip *ip, unsigned int from, bool v)
{
	uint8_t *b = ip_bytes(ip);

	for (unsigned int i = from; i < ip_width(ip); i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));

		b[i / 8] = v ? (uint8_t)(b[i / 8] | m) : (uint8_t)(b[i / 8] & ~m);
	}
}

/* ip + d (d = 1 or -1), wrapping. */
static void
ip_step(struct ms_ip *ip, int d)
{
	uint8_t *b = ip_bytes(ip);

	for (int i = (int)ip_width(ip) / 8 - 1; i >= 0; i--) {
		b[i] = (uint8_t)(b[i] + d);
		if (b[i] != (d > 0 ? 0 : 0xff))
			break;
	}
}

/* Bit i of an address, counting from the first (most significant) bit. */
static bool
ip_bit(const struct ms_ip *ip, unsigned int i)
{
	const uint8_t *b = ip->af == MS_AF_INET ? (const uint8_t *)&ip->v4 : ip->v6;

	return (b[i / 8] >> (7 - i % 8)) & 1;
}

/* The reference for ms_prefix_has: same family, first len bits equal, one by one. */
static bool
naive_has(const struct ms_prefix *p, const struct ms_ip *ip)
{
	if (p->ip.af != ip->af)
		return false;
	for (unsigned int i = 0; i < p->len; i++)
		if (ip_bit(&p->ip, i) != ip_bit(ip, i))
			return false;
	return true;
}

/* p's address with a few bits flipped (3 in 4), or a random one of its family. */
static void
random_ip(struct ms_ip *ip, const struct ms_prefix *p)
{
	*ip = p->ip;
	if (ut_rnd(4) == 0) {
		ut_random(ip_bytes(ip), ip_width(ip) / 8);
		return;
	}
	for (unsigned int k = ut_rnd(3); k > 0; k--) {
		unsigned int bit = ut_rnd(ip_width(ip));

		ip_bytes(ip)[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
}

/* ms_prefix_has against the bit-by-bit reference (the seed: MIGSEC_UT_SEED). */
static void
test_prefix_random(void)
{
	unsigned int bad = 0;

	for (int round = 0; round < 20000 && bad < 5; round++) {
		struct ms_prefix p;
		struct ms_ip a;

		memset(&p, 0, sizeof(p));
		p.ip.af = ut_rnd(2) ? MS_AF_INET : MS_AF_INET6;
		ut_random(ip_bytes(&p.ip), ip_width(&p.ip) / 8);
		p.len = (uint8_t)ut_rnd(ip_width(&p.ip) + 1);
		set_bits_from(&p.ip, p.len, false);	/* as parsed: no host bits */
		random_ip(&a, &p);
		if (ut_rnd(16) == 0)
			a.af = p.ip.af == MS_AF_INET ? MS_AF_INET6 : MS_AF_INET;
		if (ms_prefix_has(&p, &a) == naive_has(&p, &a))
			continue;
		bad++;
		fprintf(stderr, "\nprefix_has: a /%u (family %u): product %d, reference %d\n",
			p.len, p.ip.af, ms_prefix_has(&p, &a), naive_has(&p, &a));
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* The scan the spans replace (the fast path's loop before): first match wins. */
static const struct ms_ip *
naive_find(const struct ms_remote *list, unsigned int n, const struct ms_hop *outer,
	   const struct ms_ip *dst, struct ms_ip *nh)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!naive_has(&list[i].prefix, dst))
			continue;
		return ms_hop_next(outer, &list[i].via, nh) ? nh : NULL;
	}
	return NULL;
}

/* Nested and overlapping prefixes: a few bases, any length. */
static void
random_remote(struct ms_remote *r)
{
	static const char *const base[] = { "10.0.0.0", "10.1.2.3", "255.255.255.255", "0.0.0.0",
					    "2001:db8::", "2001:db8:0:1::5", "ffff::ffff",
					    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
	static const char *const via[] = { "203.0.113.7", "198.51.100.1", "2001:db8:ff::2",
					   "2001:db8:fe::2" };
	struct ms_ip *ip = &r->prefix.ip;

	memset(r, 0, sizeof(*r));
	ms_ip_parse(base[rnd(RTE_DIM(base))], ip);
	r->prefix.len = (uint8_t)rnd(ip_width(ip) + 1);
	for (unsigned int k = rnd(3); k > 0; k--) {	/* a few random bits below /len */
		unsigned int bit = r->prefix.len + rnd(ip_width(ip) - r->prefix.len + 1);

		if (bit < ip_width(ip))
			ip_bytes(ip)[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
	ms_ip_parse(via[rnd(RTE_DIM(via))], &r->via);
}

static void
check_find(const struct ms_remotes *sp, const struct ms_remote *list, unsigned int n,
	   const struct ms_hop *outer, const struct ms_ip *dst)
{
	struct ms_ip nh;
	const struct ms_ip *want = naive_find(list, n, outer, dst, &nh);
	const struct ms_ip *got = ms_remotes_find(sp, dst);

	CU_ASSERT((want == NULL) == (got == NULL));
	if (want != NULL && got != NULL)
		CU_ASSERT(ms_ip_eq(want, got));
}

/* Every prefix's edges and their neighbours, and addresses near them. */
static void
check_edges(const struct ms_remotes *sp, const struct ms_remote *list, unsigned int n,
	    const struct ms_hop *outer)
{
	for (unsigned int i = 0; i < n; i++) {
		for (int end = 0; end < 2; end++) {
			struct ms_ip a = list[i].prefix.ip;

			set_bits_from(&a, list[i].prefix.len, end);
			check_find(sp, list, n, outer, &a);
			ip_step(&a, end ? 1 : -1);
			check_find(sp, list, n, outer, &a);
			ip_step(&a, end ? -2 : 2);
			check_find(sp, list, n, outer, &a);
		}
	}
}

static void
test_remotes(void)
{
	struct ms_remote list[MS_ROUTE_MAX + 1];
	static struct ms_remotes sp;
	struct ms_hop outer;
	char err[128];

	memset(&outer, 0, sizeof(outer));
	ms_prefix_parse("203.0.113.0/24", &outer.own4);
	ms_prefix_parse("2001:db8:ff::/64", &outer.own6);
	ms_ip_parse("203.0.113.1", &outer.gw4);	/* IPv6 off-link: no next hop */
	CU_ASSERT_EQUAL(ms_remotes_build(&sp, list, 0, &outer, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(ms_remotes_find(&sp, &outer.gw4));
	CU_ASSERT_EQUAL(ms_remotes_build(&sp, list, MS_ROUTE_MAX + 1, &outer, err, sizeof(err)),
			-EINVAL);
	for (int round = 0; round < 2000; round++) {
		unsigned int n = 1 + rnd(round % 10 == 0 ? MS_ROUTE_MAX : 8);

		for (unsigned int i = 0; i < n; i++)
			random_remote(&list[i]);
		CU_ASSERT_EQUAL_FATAL(ms_remotes_build(&sp, list, n, &outer, err, sizeof(err)), 0);
		check_edges(&sp, list, n, &outer);
		for (int q = 0; q < 20; q++) {
			struct ms_remote r;

			random_remote(&r);	/* an address near one of the bases */
			check_find(&sp, list, n, &outer, &r.prefix.ip);
		}
	}
}

static const CU_TestInfo tests[] = {
	{ "prefixes", test_prefix },
	{ "prefixes: against a bit-by-bit reference", test_prefix_random },
	{ "selector text", test_sel_parse },
	{ "flow keys from IPv4/IPv6 packets", test_key_extract },
	{ "TCP MSS clamping keeps the checksum right", test_mss },
	{ "remote prefixes: spans against the first-match scan", test_remotes },
	CU_TEST_INFO_NULL,
};

void
ut_suite_sel(void)
{
	tl_add_tests(CU_add_suite("sel", NULL, NULL), tests);
}
