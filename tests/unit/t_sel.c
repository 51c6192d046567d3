/* SPDX-License-Identifier: BSD-3-Clause */
/* Addresses, selectors, flow keys and MSS clamping: the pure helpers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ms_path.h"
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

static const CU_TestInfo tests[] = {
	{ "prefixes", test_prefix },
	{ "selector text", test_sel_parse },
	{ "flow keys from IPv4/IPv6 packets", test_key_extract },
	{ "TCP MSS clamping keeps the checksum right", test_mss },
	CU_TEST_INFO_NULL,
};

void
ut_suite_sel(void)
{
	tl_add_tests(CU_add_suite("sel", NULL, NULL), tests);
}
