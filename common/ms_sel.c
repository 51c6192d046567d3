/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_sel.h"

#define IPV6_EXT_MAX 8	/* extension headers walked before giving up */

static bool
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static void
read_ports(const uint8_t *l4, uint32_t avail, uint8_t proto, uint16_t *sp, uint16_t *dp)
{
	*sp = 0;
	*dp = 0;
	if (has_ports(proto) && avail >= 4) {
		memcpy(sp, l4, 2);
		memcpy(dp, l4 + 2, 2);
	}
}

static int
extract4(const uint8_t *p, uint32_t len, struct ms_key *k)
{
	uint32_t ihl, tot;
	uint16_t frag;

	if (len < 20 || (p[0] >> 4) != 4)
		return -1;
	ihl = (uint32_t)(p[0] & 0xf) * 4;
	tot = (uint32_t)p[2] << 8 | p[3];
	if (ihl < 20 || tot < ihl || tot > len)
		return -1;
	k->af = MS_AF_INET;
	k->v4.proto = p[9];
	memcpy(&k->v4.src, p + 12, 4);
	memcpy(&k->v4.dst, p + 16, 4);
	frag = (uint16_t)((p[6] & 0x1f) << 8 | p[7]);
	if (frag != 0) {	/* non-first fragment: no ports */
		k->v4.sport = k->v4.dport = 0;
		return (int)ihl;
	}
	read_ports(p + ihl, tot - ihl, k->v4.proto, &k->v4.sport, &k->v4.dport);
	return (int)ihl;
}

static int
extract6(const uint8_t *p, uint32_t len, struct ms_key *k)
{
	uint32_t off = 40, plen, end;
	uint8_t nh;
	int i;

	if (len < 40 || (p[0] >> 4) != 6)
		return -1;
	plen = (uint32_t)p[4] << 8 | p[5];
	end = 40 + plen;
	if (end > len)
		return -1;
	k->af = MS_AF_INET6;
	memcpy(k->v6.src, p + 8, 16);
	memcpy(k->v6.dst, p + 24, 16);
	nh = p[6];
	for (i = 0; i < IPV6_EXT_MAX; i++) {
		if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
			if (off + 8 > end)
				return -1;
			nh = p[off];
			off += ((uint32_t)p[off + 1] + 1) * 8;
			if (off > end)
				return -1;
		} else if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo;

			if (off + 8 > end)
				return -1;
			fo = (uint16_t)((p[off + 2] << 8 | p[off + 3]) & 0xfff8);
			nh = p[off];
			off += 8;
			if (fo != 0) {
				k->v6.proto = nh;
				k->v6.sport = k->v6.dport = 0;
				return (int)off;
			}
		} else {
			break;
		}
	}
	if (i == IPV6_EXT_MAX)
		return -1;
	k->v6.proto = nh;
	read_ports(p + off, end - off, nh, &k->v6.sport, &k->v6.dport);
	return (int)off;
}

int
ms_key_extract(const uint8_t *l3, uint32_t len, struct ms_key *k)
{
	memset(k, 0, sizeof(*k));
	if (len < 1)
		return -1;
	switch (l3[0] >> 4) {
	case 4:
		return extract4(l3, len, k);
	case 6:
		return extract6(l3, len, k);
	default:
		return -1;
	}
}

static bool
port_in(uint16_t be, uint16_t lo, uint16_t hi)
{
	uint16_t v = ntohs(be);

	return v >= lo && v <= hi;
}

bool
ms_sel_match(const struct ms_sel *s, const struct ms_key *k)
{
	struct ms_ip src, dst;
	uint8_t proto;
	uint16_t sp, dp;

	if (s->src.ip.af != k->af)
		return false;
	memset(&src, 0, sizeof(src));
	memset(&dst, 0, sizeof(dst));
	src.af = dst.af = k->af;
	if (k->af == MS_AF_INET) {
		src.v4 = k->v4.src;
		dst.v4 = k->v4.dst;
		proto = k->v4.proto;
		sp = k->v4.sport;
		dp = k->v4.dport;
	} else {
		memcpy(src.v6, k->v6.src, 16);
		memcpy(dst.v6, k->v6.dst, 16);
		proto = k->v6.proto;
		sp = k->v6.sport;
		dp = k->v6.dport;
	}
	if (s->proto != 0 && s->proto != proto)
		return false;
	return ms_prefix_has(&s->src, &src) && ms_prefix_has(&s->dst, &dst) &&
		port_in(sp, s->sport_lo, s->sport_hi) &&
		port_in(dp, s->dport_lo, s->dport_hi);
}

void
ms_sel_mirror(const struct ms_sel *s, struct ms_sel *m)
{
	*m = *s;
	m->src = s->dst;
	m->dst = s->src;
	m->sport_lo = s->dport_lo;
	m->sport_hi = s->dport_hi;
	m->dport_lo = s->sport_lo;
	m->dport_hi = s->sport_hi;
}

static int
parse_range(const char *v, uint16_t *lo, uint16_t *hi)
{
	unsigned long a, b;
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	a = strtoul(v, &end, 10);
	if (errno || a > 65535)
		return -EINVAL;
	b = a;
	if (*end == '-') {
		if (end[1] < '0' || end[1] > '9')
			return -EINVAL;
		b = strtoul(end + 1, &end, 10);
		if (errno || b > 65535)
			return -EINVAL;
	}
	if (*end != '\0' || a > b)
		return -EINVAL;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int
parse_proto(const char *v, uint8_t *proto)
{
	static const struct { const char *name; uint8_t num; } names[] = {
		{ "any", 0 }, { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP },
		{ "icmp", IPPROTO_ICMP }, { "icmp6", IPPROTO_ICMPV6 },
		{ "sctp", IPPROTO_SCTP },
	};
	unsigned long n;
	char *end;

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0) {
			*proto = names[i].num;
			return 0;
		}
	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end != '\0' || n > 255)
		return -EINVAL;
	*proto = (uint8_t)n;
	return 0;
}

int
ms_sel_check(const struct ms_sel *sel, char *err, unsigned int errlen)
{
	if (sel->src.ip.af == MS_AF_NONE || sel->dst.ip.af == MS_AF_NONE) {
		snprintf(err, errlen, "selector needs src and dst");
		return -EINVAL;
	}
	if (sel->src.len > (sel->src.ip.af == MS_AF_INET ? 32 : 128) ||
	    sel->dst.len > (sel->dst.ip.af == MS_AF_INET ? 32 : 128)) {
		snprintf(err, errlen, "selector prefix length out of range");
		return -EINVAL;
	}
	if ((sel->src.ip.af != MS_AF_INET && sel->src.ip.af != MS_AF_INET6) ||
	    sel->src.ip.af != sel->dst.ip.af) {
		snprintf(err, errlen, "selector src and dst are of different IP versions");
		return -EINVAL;
	}
	if (sel->sport_lo > sel->sport_hi || sel->dport_lo > sel->dport_hi) {
		snprintf(err, errlen, "selector port range is reversed");
		return -EINVAL;
	}
	if (!has_ports(sel->proto) && sel->proto != 0 &&
	    (sel->sport_lo != 0 || sel->sport_hi != 65535 ||
	     sel->dport_lo != 0 || sel->dport_hi != 65535)) {
		snprintf(err, errlen, "selector ports need proto tcp, udp or sctp");
		return -EINVAL;
	}
	return 0;
}

int
ms_sel_parse(const char *s, struct ms_sel *sel, char *err, unsigned int errlen)
{
	char buf[512], *save = NULL, *tok;
	int rc = 0;

	memset(sel, 0, sizeof(*sel));
	sel->sport_hi = sel->dport_hi = 65535;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "selector too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (eq == NULL) {
			snprintf(err, errlen, "selector item '%s' is not key=value", tok);
			return -EINVAL;
		}
		*eq++ = '\0';
		if (strcmp(tok, "src") == 0)
			rc = ms_prefix_parse(eq, &sel->src);
		else if (strcmp(tok, "dst") == 0)
			rc = ms_prefix_parse(eq, &sel->dst);
		else if (strcmp(tok, "proto") == 0)
			rc = parse_proto(eq, &sel->proto);
		else if (strcmp(tok, "sport") == 0)
			rc = parse_range(eq, &sel->sport_lo, &sel->sport_hi);
		else if (strcmp(tok, "dport") == 0)
			rc = parse_range(eq, &sel->dport_lo, &sel->dport_hi);
		else {
			snprintf(err, errlen, "unknown selector key '%s'", tok);
			return -EINVAL;
		}
		if (rc != 0) {
			snprintf(err, errlen, "bad selector value %s=%s", tok, eq);
			return -EINVAL;
		}
	}
	return ms_sel_check(sel, err, errlen);
}

const char *
ms_sel_str(const struct ms_sel *sel, char *buf, unsigned int len)
{
	char s[MS_IPSTRLEN + 8], d[MS_IPSTRLEN + 8];

	snprintf(buf, len, "src=%s,dst=%s,proto=%u,sport=%u-%u,dport=%u-%u",
		 ms_prefix_str(&sel->src, s, sizeof(s)),
		 ms_prefix_str(&sel->dst, d, sizeof(d)), sel->proto,
		 sel->sport_lo, sel->sport_hi, sel->dport_lo, sel->dport_hi);
	return buf;
}
