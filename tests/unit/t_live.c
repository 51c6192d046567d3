/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SA changes and counter reads while both workers forward, each on its own
 * lcore: the main thread adds and deletes SAs (every change a new snapshot
 * published under RCU, ms_sadb_publish) and sums the counters while frames
 * are in flight on both queues. Every frame is sealed once, by an SA that
 * was installed; none injected after an SA's deletion returned carries that
 * SA's SPI; every frame opens with its SPI's key and is delivered again
 * intact; the counters equal what was sent, per worker and per SA, and
 * nothing is dropped. Built for the ThreadSanitizer run (docs/tests.md),
 * which watches the snapshot, the counters and the workers here; it passes
 * in any build.
 */
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_launch.h>

#include "ms_sadb.h"
#include "ms_worker.h"
#include "tl.h"
#include "ut.h"

#define ROUNDS 12
#define PER_Q 32			/* frames per queue per batch */
#define BATCH (PER_Q * UT_WORKERS)
#define ALL (ROUNDS * 3 * BATCH)	/* batches A, B, C of every round */
#define PLEN 200
#define MARK "MIGSEC-UT-LIVE"
#define SPI0 0x4000u
#define NB_SA (2 * ROUNDS + 2)		/* outbound SAs: SPI SPI0 + n, ids 1 + 2n (in: 2 + 2n) */
#define DECOY 1000			/* an SA for other hosts, added and deleted */

static struct ut_rig rig;
static uint8_t ks[36];
static uint8_t key[NB_SA][36];		/* SA n's key||salt */
static uint64_t on_wire[NB_SA];		/* frames seen sealed under SA n */
static uint64_t opened[NB_SA];		/* frames delivered again through inbound SA n */
static bool seen[ALL];
static uint32_t next_no;		/* frame numbers handed out */
static uint64_t sealed_max;		/* highest sealed_pkts sum read so far */

static void
add_pair(unsigned int n)
{
	ut_random(key[n], sizeof(key[n]));
	ut_sa_add(&rig, 1 + 2 * n, MS_DIR_OUT, SPI0 + n, key[n]);
	ut_sa_add(&rig, 2 + 2 * n, MS_DIR_IN, SPI0 + n, key[n]);
}

static void
del_pair(unsigned int n)
{
	ut_sa_del(&rig, 1 + 2 * n);
	ut_sa_del(&rig, 2 + 2 * n);
}

/* An SA on other hosts (192.0.2.77): a snapshot change that no frame here uses. */
static void
decoy(bool add)
{
	struct ms_sa_spec s;
	char err[256] = "";

	if (!add) {
		ut_sa_del(&rig, DECOY);
		return;
	}
	ut_spec(&s, DECOY, MS_DIR_OUT, SPI0 + 0x100, ks, 1);
	ms_prefix_parse("192.0.2.77/32", &s.sel[0].dst);
	CU_ASSERT_EQUAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
}

/* Counters read while the workers write them: never back, never past what was sent. */
static void
read_counters(void)
{
	struct ms_lcore_stats s;

	ms_stats_sum(&rig.dp.stats, &s);
	CU_ASSERT(s.sealed_pkts >= sealed_max);
	CU_ASSERT(s.sealed_pkts <= next_no);
	sealed_max = s.sealed_pkts;
}

/* BATCH new frames A->B, PER_Q on each worker's inner queue. */
static void
inject(void)
{
	struct rte_mbuf *m[PER_Q];
	uint8_t p[PLEN];

	memset(p, 0x5a, sizeof(p));
	memcpy(p, MARK, strlen(MARK));
	for (unsigned int q = 0; q < UT_WORKERS; q++) {
		for (unsigned int i = 0; i < PER_Q; i++) {
			memcpy(p + strlen(MARK), &next_no, sizeof(next_no));
			next_no++;
			m[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000, p,
					     PLEN);
		}
		CU_ASSERT_EQUAL_FATAL(ut_rig_put(&rig, MS_PORT_INNER, q, m, PER_Q), PER_Q);
	}
}

/* n frames from port p while the workers run, reading counters (bounded: 10 s). */
static unsigned int
collect(enum ms_port_idx p, struct rte_mbuf **out, unsigned int n)
{
	uint64_t end = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	unsigned int got = 0;

	while (got < n && rte_get_timer_cycles() < end) {
		got += ut_rig_take(&rig, p, out + got, n - got);
		read_counters();
	}
	return got;
}

/* SA n's number from a sealed frame's SPI (Ethernet, IPv4, UDP, then ESP); -1 if none of ours. */
static int
sa_of(const struct rte_mbuf *m)
{
	uint32_t spi;

	if (m->pkt_len < 14 + 20 + 8 + 4)
		return -1;
	memcpy(&spi, rte_pktmbuf_mtod_offset(m, const uint8_t *, 14 + 20 + 8), 4);
	spi = rte_be_to_cpu_32(spi);
	return spi >= SPI0 && spi < SPI0 + NB_SA ? (int)(spi - SPI0) : -1;
}

/*
 * One batch on the outer port: every frame sealed under SA a or b, opened
 * with that SA's key, its number not seen before. Returns how many were
 * sealed under b. The frames stay in m.
 */
static unsigned int
check_sealed(struct rte_mbuf **m, unsigned int n, int a, int b)
{
	uint8_t inner[2048];
	uint32_t ilen, spi, seq, no;
	unsigned int under_b = 0;

	for (unsigned int i = 0; i < n; i++) {
		int sa = sa_of(m[i]);

		CU_ASSERT(sa == a || sa == b);
		if (sa != a && sa != b)
			continue;
		under_b += sa == b;
		on_wire[sa]++;
		CU_ASSERT_EQUAL_FATAL(ut_esp_open(rte_pktmbuf_mtod(m[i], const uint8_t *),
						  m[i]->pkt_len, key[sa], 0, inner, &ilen, &spi,
						  &seq), 0);
		CU_ASSERT_FATAL(ilen == 20 + 8 + PLEN);
		CU_ASSERT(memcmp(inner + 28, MARK, strlen(MARK)) == 0);
		memcpy(&no, inner + 28 + strlen(MARK), sizeof(no));
		CU_ASSERT_FATAL(no < next_no);
		CU_ASSERT(!seen[no]);
		seen[no] = true;
	}
	return under_b;
}

static void
free_all(struct rte_mbuf **m, unsigned int n)
{
	rte_pktmbuf_free_bulk(m, n);
}

/* One batch's frames in and all of it out sealed; SA changes run meanwhile. */
static unsigned int
batch_out(struct rte_mbuf **m, void (*change)(unsigned int), unsigned int arg)
{
	unsigned int n;

	inject();
	if (change != NULL)
		change(arg);
	n = collect(MS_PORT_OUTER, m, BATCH);
	CU_ASSERT_EQUAL(n, BATCH);
	return n;
}

/*
 * The sealed frames of the last batch back in on the outer port, spread
 * over both queues, opened by inbound SA sa while the decoy SA comes and
 * goes; each delivered once and intact.
 */
static void
batch_in(struct rte_mbuf **sealed, unsigned int n, int sa)
{
	struct rte_mbuf *m[BATCH];
	unsigned int got, half = n / 2;

	CU_ASSERT_EQUAL_FATAL(ut_rig_put(&rig, MS_PORT_OUTER, 0, sealed, half), half);
	CU_ASSERT_EQUAL_FATAL(ut_rig_put(&rig, MS_PORT_OUTER, 1, sealed + half, n - half),
			      n - half);
	decoy(true);
	decoy(false);
	got = collect(MS_PORT_INNER, m, n);
	CU_ASSERT_EQUAL(got, n);
	for (unsigned int i = 0; i < got; i++) {
		const uint8_t *pl = rte_pktmbuf_mtod_offset(m[i], const uint8_t *, 42);

		CU_ASSERT(m[i]->pkt_len == 42 + PLEN && memcmp(pl, MARK, strlen(MARK)) == 0);
	}
	opened[sa] += got;
	free_all(m, got);
}

static void
add_change(unsigned int n)
{
	add_pair(n);
}

static void
del_change(unsigned int n)
{
	del_pair(n);
}


static uint32_t
slot_of(uint32_t id)
{
	const struct ms_sa *sa = ms_sadb_find(&rig.dp.sadb, id);

	for (uint32_t s = 0; sa != NULL && s < rig.dp.sadb.max_sa; s++)
		if (rig.dp.sadb.sa[s] == sa)
			return s;
	CU_FAIL_FATAL("SA not installed");
	return 0;
}

/* SA n's own counters (both directions) equal what the wire and the inner port saw. */
static void
check_sa_counters(unsigned int n)
{
	struct ms_sa_stats out, in;

	ms_stats_sum_sa(&rig.dp.stats, slot_of(1 + 2 * n), &out);
	ms_stats_sum_sa(&rig.dp.stats, slot_of(2 + 2 * n), &in);
	CU_ASSERT_EQUAL(out.pkts, on_wire[n]);
	CU_ASSERT_EQUAL(in.pkts, opened[n]);
}

/*
 * Each round, with base the SA in use and fresh a new one (higher
 * priority, so it takes the traffic once published):
 *   A: frames in flight while fresh is added: sealed under base or fresh.
 *   B: frames in flight while one of the two is deleted (odd rounds fresh,
 *      a rollback; even rounds base, a rekey): sealed under base or fresh.
 *   C: after the deletion returned: every frame under the survivor, none
 *      under the deleted SA; then C opened again by the survivor's inbound
 *      SA while another SA is added and deleted.
 */
static void
test_live(void)
{
	static struct rte_mbuf *m[BATCH];
	struct ms_lcore_stats s0, s1;
	uint64_t d0 = 0, d1 = 0;
	unsigned int base = 0, fresh = 1, n, total = 0, opened_all = 0, a_new = 0, b_old = 0;

	ms_stats_sum(&rig.dp.stats, &s0);
	for (int r = 0; r < MS_DROP_MAX; r++)
		d0 += s0.drop[r];
	add_pair(base);
	ut_rig_launch(&rig);
	for (unsigned int round = 0; round < ROUNDS; round++, fresh++) {
		bool rollback = round % 2 == 1;
		unsigned int keep = rollback ? base : fresh, gone = rollback ? fresh : base;

		n = batch_out(m, add_change, fresh);
		a_new += check_sealed(m, n, (int)base, (int)fresh);
		free_all(m, n);
		n = batch_out(m, del_change, gone);
		b_old += n - check_sealed(m, n, (int)keep, (int)gone);
		free_all(m, n);
		n = batch_out(m, NULL, 0);
		CU_ASSERT_EQUAL(check_sealed(m, n, (int)keep, (int)keep), n);
		total += 3 * n;
		batch_in(m, n, (int)keep);	/* frees them */
		opened_all += n;
		base = keep;
		check_sa_counters(base);
	}
	ut_rig_stop(&rig);
	/* how much of A went under the new SA, of B under the survivor: how it overlapped */
	printf("\n    A under the new SA %u of %u, B under the survivor %u of %u ", a_new,
	       ROUNDS * BATCH, b_old, ROUNDS * BATCH);
	ms_stats_sum(&rig.dp.stats, &s1);
	for (int r = 0; r < MS_DROP_MAX; r++)
		d1 += s1.drop[r];
	CU_ASSERT_EQUAL(total, ALL);
	CU_ASSERT_EQUAL(s1.sealed_pkts - s0.sealed_pkts, ALL);
	CU_ASSERT_EQUAL(s1.opened_pkts - s0.opened_pkts, opened_all);
	CU_ASSERT_EQUAL(d1 - d0, 0);
	/* each worker took its own inner queue's frames, and sealed all of them */
	for (unsigned int w = 0; w < UT_WORKERS; w++) {
		const struct ms_lcore_stats *lc = &rig.dp.stats.lc[w];

		CU_ASSERT_EQUAL(lc->port[MS_PORT_INNER].rx_pkts, ALL / UT_WORKERS);
		CU_ASSERT_EQUAL(lc->sealed_pkts, ALL / UT_WORKERS);
	}
	for (unsigned int i = 0; i < ALL; i++)
		CU_ASSERT(seen[i]);
	del_pair(base);
	explicit_bzero(key, sizeof(key));
}

void
ut_suite_live(void)
{
	static const CU_TestInfo tests[] = {
		{ "SA changes and counter reads while two workers forward", test_live },
		CU_TEST_INFO_NULL,
	};

	tl_add_tests(ut_rig_suite("live", &rig, ks), tests);
}
