/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote prefixes as spans (ms_route.h). ms_remotes_build() runs on the
 * control thread into a snapshot not yet published; workers only call
 * ms_remotes_find().
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "ms_route.h"

static struct ms_u128
u128_of(const struct ms_ip *ip)
{
	struct ms_u128 k = { 0, 0 };
	uint64_t w;

	if (ip->af == MS_AF_INET) {
		k.lo = ntohl(ip->v4);
		return k;
	}
	memcpy(&w, ip->v6, 8);
	k.hi = be64toh(w);
	memcpy(&w, ip->v6 + 8, 8);
	k.lo = be64toh(w);
	return k;
}

static struct ms_ip
ip_of(uint8_t af, struct ms_u128 k)
{
	struct ms_ip ip;
	uint64_t w;

	memset(&ip, 0, sizeof(ip));
	ip.af = af;
	if (af == MS_AF_INET) {
		ip.v4 = htonl((uint32_t)k.lo);
		return ip;
	}
	w = htobe64(k.hi);
	memcpy(ip.v6, &w, 8);
	w = htobe64(k.lo);
	memcpy(ip.v6 + 8, &w, 8);
	return ip;
}

static bool
u128_le(struct ms_u128 a, struct ms_u128 b)
{
	return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

static int
u128_cmp(const void *pa, const void *pb)
{
	const struct ms_u128 *a = pa, *b = pb;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* The host bits of a prefix of len bits in a family of width bits. */
static struct ms_u128
host_mask(unsigned int width, unsigned int len)
{
	unsigned int h = width - len;
	struct ms_u128 m = { 0, 0 };

	if (h >= 64) {
		m.lo = UINT64_MAX;
		m.hi = h == 128 ? UINT64_MAX : (1ULL << (h - 64)) - 1;
	} else if (h > 0) {
		m.lo = (1ULL << h) - 1;
	}
	return m;
}

/*
 * The cuts of one family: 0, and where each of its prefixes starts and
 * (if not at the end of the space) where it stops. Returns how many.
 */
static unsigned int
family_cuts(uint8_t af, const struct ms_remote *list, unsigned int n, struct ms_u128 *cut)
{
	unsigned int width = af == MS_AF_INET ? 32 : 128, nc = 0;
	struct ms_u128 end = host_mask(width, 0);

	cut[nc++] = (struct ms_u128){ 0, 0 };
	for (unsigned int i = 0; i < n; i++) {
		const struct ms_prefix *p = &list[i].prefix;
		struct ms_u128 host, first, last;

		if (p->ip.af != af)
			continue;
		host = host_mask(width, p->len);
		first = u128_of(&p->ip);
		first.hi &= ~host.hi;
		first.lo &= ~host.lo;
		last = (struct ms_u128){ first.hi | host.hi, first.lo | host.lo };
		cut[nc++] = first;
		if (last.hi == end.hi && last.lo == end.lo)
			continue;
		cut[nc++] = (struct ms_u128){ last.hi + (last.lo == UINT64_MAX), last.lo + 1 };
	}
	return nc;
}

/* Which remote a linear scan of the list picks for ip. */
static uint8_t
first_match(const struct ms_remote *list, unsigned int n, const struct ms_ip *ip)
{
	for (unsigned int i = 0; i < n; i++)
		if (ms_prefix_has(&list[i].prefix, ip))
			return (uint8_t)i;
	return MS_SPAN_NONE;
}

/*
 * Every prefix boundary is a cut, so between two cuts the scan's answer
 * does not change: ask it once per cut, keep a span where the answer does.
 */
static void
build_family(struct ms_remotes *r, int f, const struct ms_remote *list, unsigned int n)
{
	uint8_t af = f ? MS_AF_INET6 : MS_AF_INET;
	struct ms_u128 cut[MS_SPANS_MAX];
	unsigned int nc = family_cuts(af, list, n, cut);

	r->nb[f] = 0;
	if (nc == 1)	/* no remote of this family */
		return;
	qsort(cut, nc, sizeof(cut[0]), u128_cmp);
	for (unsigned int k = 0; k < nc; k++) {
		struct ms_ip ip = ip_of(af, cut[k]);
		uint8_t to = first_match(list, n, &ip);

		if (r->nb[f] > 0 && r->to[f][r->nb[f] - 1] == to)
			continue;
		r->first[f][r->nb[f]] = cut[k];
		r->to[f][r->nb[f]++] = to;
	}
}

int
ms_remotes_build(struct ms_remotes *r, const struct ms_remote *list, unsigned int n,
		 const struct ms_hop *outer, char *err, unsigned int errlen)
{
	memset(r, 0, sizeof(*r));
	if (n > MS_ROUTE_MAX) {
		snprintf(err, errlen, "%u remote prefixes, at most %u", n, MS_ROUTE_MAX);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		const struct ms_prefix *p = &list[i].prefix;

		if ((p->ip.af != MS_AF_INET && p->ip.af != MS_AF_INET6) ||
		    p->len > (p->ip.af == MS_AF_INET ? 32 : 128)) {
			snprintf(err, errlen, "remote prefix %u: no family or too long", i);
			return -EINVAL;
		}
		if (!ms_hop_next(outer, &list[i].via, &r->nh[i]))
			memset(&r->nh[i], 0, sizeof(r->nh[i]));	/* matches, then no_route */
	}
	build_family(r, 0, list, n);
	build_family(r, 1, list, n);
	return 0;
}

const struct ms_ip *
ms_remotes_find(const struct ms_remotes *r, const struct ms_ip *dst)
{
	int f = dst->af == MS_AF_INET6;
	const struct ms_u128 *first = r->first[f];
	struct ms_u128 k = u128_of(dst);
	unsigned int lo = 0, hi = r->nb[f];
	uint8_t to;

	if (hi == 0)
		return NULL;
	while (hi - lo > 1) {	/* first[lo] <= k, and k < first[hi] unless hi is nb */
		unsigned int mid = (lo + hi) / 2;

		if (u128_le(first[mid], k))
			lo = mid;
		else
			hi = mid;
	}
	to = r->to[f][lo];
	if (to == MS_SPAN_NONE || r->nh[to].af == MS_AF_NONE)
		return NULL;
	return &r->nh[to];
}
