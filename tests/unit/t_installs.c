/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Not a test: what installing SAs costs the data plane ("migsec-unit
 * installs", perf/bench). The rig's SA database with room for 4096 SAs and
 * no worker running (a grace period then costs nothing, as with idle
 * workers): 1024 migrations of two SAs each (outbound A->B, inbound
 * B->A), each selecting UDP to its own port between two hosts, as
 * migsec-control installs them. Wall-clock (CLOCK_MONOTONIC), so it moves
 * with whatever else runs: perf/bench prints the load beside it.
 *  - 2048 SAs in batches of 2 (a start's generation, one lane), then all
 *    deleted;
 *  - 2048 SAs in one batch;
 *  - one more SA beside them, added and deleted, 20 times (median, max);
 *  - the same one more SA with a port range (ACL) beside 2048 range SAs
 *    (built once as one batch).
 * Every install must succeed: the figures are of work that was done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

#define NSA 2048
#define ONE_MORE 20

static struct ut_rig rig;
static uint8_t ks[36];
static struct ms_sa_spec *specs;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* SA i: migration i / 2, outbound (even) or inbound (odd); range: ports i..i+1. */
static void
spec(struct ms_sa_spec *s, uint32_t i, bool range)
{
	uint16_t port = (uint16_t)(10000 + i / 2);

	ut_spec(s, 1 + i, i % 2 ? MS_DIR_IN : MS_DIR_OUT, 0x10000 + i, ks, 1);
	s->sel[0].proto = IPPROTO_UDP;
	if (i % 2 == 0) {
		s->sel[0].dport_lo = port;
		s->sel[0].dport_hi = range ? (uint16_t)(port + 1) : port;
	} else {	/* the replies: from the port */
		ms_prefix_parse(UT_HOST_B "/32", &s->sel[0].src);
		ms_prefix_parse(UT_HOST_A "/32", &s->sel[0].dst);
		s->sel[0].sport_lo = port;
		s->sel[0].sport_hi = range ? (uint16_t)(port + 1) : port;
	}
}

static bool
add(const struct ms_sa_spec *s, unsigned int n)
{
	char err[256] = "";
	int rc = ms_sadb_add_batch(&rig.dp.sadb, s, n, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "\n    add of %u failed: %s", n, err);
	return rc == 0;
}

static void
del_all(unsigned int n)
{
	char err[256];

	for (uint32_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1 + i, err, sizeof(err)), 0);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One more SA beside NSA: add then delete, ONE_MORE times; median and max of the adds. */
static void
one_more(bool range, double *median, double *max)
{
	double t[ONE_MORE];
	struct ms_sa_spec s;
	char err[256];

	for (int k = 0; k < ONE_MORE; k++) {
		double t0;

		spec(&s, NSA, range);
		t0 = now_ms();
		CU_ASSERT_FATAL(add(&s, 1));
		t[k] = now_ms() - t0;
		CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1 + NSA, err, sizeof(err)), 0);
	}
	explicit_bzero(&s, sizeof(s));
	qsort(t, ONE_MORE, sizeof(t[0]), cmp);
	*median = t[ONE_MORE / 2];
	*max = t[ONE_MORE - 1];
}

static void
measure(void)
{
	double t0, pairs, batch, del, med, max, amed, amax, abatch;

	specs = calloc(NSA, sizeof(*specs));
	CU_ASSERT_FATAL(specs != NULL);
	for (uint32_t i = 0; i < NSA; i++)
		spec(&specs[i], i, false);
	t0 = now_ms();
	for (uint32_t i = 0; i < NSA; i += 2)
		CU_ASSERT_FATAL(add(&specs[i], 2));
	pairs = now_ms() - t0;
	t0 = now_ms();
	del_all(NSA);
	del = now_ms() - t0;
	t0 = now_ms();
	CU_ASSERT_FATAL(add(specs, NSA));
	batch = now_ms() - t0;
	one_more(false, &med, &max);
	del_all(NSA);
	for (uint32_t i = 0; i < NSA; i++)
		spec(&specs[i], i, true);
	t0 = now_ms();
	CU_ASSERT_FATAL(add(specs, NSA));
	abatch = now_ms() - t0;
	one_more(true, &amed, &amax);
	CU_ASSERT_EQUAL(rig.dp.sadb.count, NSA);	/* the rig's tear-down wipes them */
	explicit_bzero(specs, NSA * sizeof(*specs));
	free(specs);
	printf("\ninstalls: sas=%u pairs_ms=%.1f delete_all_ms=%.1f batch_ms=%.1f "
	       "one_more_median_ms=%.3f one_more_max_ms=%.3f acl_batch_ms=%.1f "
	       "acl_one_more_median_ms=%.3f acl_one_more_max_ms=%.3f\n", NSA, pairs, del, batch,
	       med, max, abatch, amed, amax);
}

static const CU_TestInfo tests[] = {
	{ "SA installs beside 2048 SAs", measure },
	CU_TEST_INFO_NULL,
};

static int
suite_init(void)
{
	ut_rig_max_sa = NSA + 16;
	ut_random(ks, sizeof(ks));
	return ut_rig_init(&rig);
}

static int
suite_fini(void)
{
	ut_rig_fini(&rig);
	return 0;
}

void
ut_suite_installs(void)
{
	tl_add_tests(CU_add_suite("installs", suite_init, suite_fini), tests);
}
