/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Latency histogram: 16 linear buckets per power of two (about 6 %
 * resolution), from 1 cycle to 2^47. One writer (the worker); the reporter
 * takes relaxed snapshots.
 */
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "pg.h"

#define SUB_BITS 4
#define SUB (1u << SUB_BITS)
#define MAX_BITS 48
#define NB_BUCKETS ((MAX_BITS - SUB_BITS + 1) * SUB + SUB)

struct pg_hist {
	uint64_t n;
	uint64_t b[NB_BUCKETS];
};

static unsigned int
bucket(uint64_t v)
{
	unsigned int msb, shift;

	if (v < 2 * SUB)
		return (unsigned int)v;
	if (v >= (1ULL << MAX_BITS))
		v = (1ULL << MAX_BITS) - 1;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	shift = msb - SUB_BITS;
	return shift * SUB + (unsigned int)(v >> shift);
}

/* Largest value that falls into bucket i. */
static uint64_t
upper(unsigned int i)
{
	unsigned int shift;

	if (i < 2 * SUB)
		return i;
	shift = i / SUB - 1;
	return (((uint64_t)(i - shift * SUB) + 1) << shift) - 1;
}

struct pg_hist *
pg_hist_create(void)
{
	return rte_zmalloc("pg_hist", sizeof(struct pg_hist), RTE_CACHE_LINE_SIZE);
}

void
pg_hist_free(struct pg_hist *h)
{
	rte_free(h);
}

void
pg_hist_add(struct pg_hist *h, uint64_t cycles)
{
	pg_add(&h->b[bucket(cycles)], 1);
	pg_add(&h->n, 1);
}

uint64_t
pg_hist_count(const struct pg_hist *h)
{
	return pg_get(&h->n);
}

void
pg_hist_copy(const struct pg_hist *h, struct pg_hist *out)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < NB_BUCKETS; i++) {
		out->b[i] = pg_get(&h->b[i]);
		n += out->b[i];
	}
	out->n = n;
}

uint64_t
pg_hist_quantile(const struct pg_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (unsigned int i = 0; i < NB_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want)
			return upper(i);
	}
	return upper(NB_BUCKETS - 1);
}
