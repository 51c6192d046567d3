/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Faults of the crypto device, in the whole data plane in one process: a
 * queue pair that refuses most of every burst (here one of eight
 * descriptors, set up in place of the data plane's own). Every refused
 * packet is dropped and counted as crypto_enqueue, on the appliance and on
 * its SA; what the device took is sealed or opened as usual; nothing is
 * left in flight or out of its pool; and once the queue pair is whole
 * again, every packet passes.
 */
#include <string.h>

#include <rte_cryptodev.h>

#include "ms_sadb.h"
#include "ms_worker.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t ks[36];
static unsigned int mbufs0, cops0;

#define SPI 0x3001
#define N 96		/* three bursts */
#define SMALL_QP 8	/* a ring of 8 holds 7 */

static int
suite_init(void)
{
	ut_random(ks, sizeof(ks));
	if (ut_rig_init(&rig) != 0)
		return -1;
	ut_rig_run(&rig);
	ut_rig_drain(&rig);
	mbufs0 = rte_mempool_avail_count(rig.dp.mbuf_pool);
	cops0 = rte_mempool_avail_count(rig.dp.cop_pool);
	return 0;
}

static int
suite_fini(void)
{
	ut_rig_fini(&rig);
	return 0;
}

/* Worker 0's queue pair with nb descriptors (the device stopped meanwhile). */
static void
queue_pair(uint32_t nb)
{
	struct rte_cryptodev_qp_conf qp = { .nb_descriptors = nb, .mp_session = rig.cd.sess_pool };

	rte_cryptodev_stop(rig.dp.cdev_id);
	CU_ASSERT_EQUAL_FATAL(rte_cryptodev_queue_pair_setup(rig.dp.cdev_id, 0, &qp,
							     rig.dp.socket), 0);
	CU_ASSERT_EQUAL_FATAL(rte_cryptodev_start(rig.dp.cdev_id), 0);
}

static void
add_sa(uint32_t id, uint8_t dir)
{
	struct ms_sa_spec s;
	char err[256] = "";

	ut_spec(&s, id, dir, SPI, ks, 1);
	s.replay_window = 2 * N;	/* every refused number stays inside it */
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
}

static uint64_t
sa_drops(uint32_t id, enum ms_drop r)
{
	struct ms_sa_stats st;

	ms_stats_sum_sa(&rig.dp.stats, ms_sadb_find(&rig.dp.sadb, id)->rt->slot, &st);
	return st.drop[r];
}

static void
check_pools(void)
{
	for (unsigned int w = 0; w < rig.dp.nb_workers; w++)
		CU_ASSERT_EQUAL(rig.dp.workers[w].inflight, 0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(rig.dp.mbuf_pool), mbufs0);
	CU_ASSERT_EQUAL(rte_mempool_avail_count(rig.dp.cop_pool), cops0);
}

/* N plaintext frames in on the inner port at once; sealed frames out. */
static unsigned int
seal_n(struct rte_mbuf **out)
{
	static uint8_t payload[64];
	struct rte_mbuf *in[N];

	ut_random(payload, sizeof(payload));
	for (unsigned int i = 0; i < N; i++)
		in[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000, payload,
				      sizeof(payload));
	ut_rig_inject(&rig, MS_PORT_INNER, in, N);
	ut_rig_run(&rig);
	return ut_rig_take(&rig, MS_PORT_OUTER, out, N);
}

static void
test_refused_outbound(void)
{
	struct ms_lcore_stats b, a;
	struct rte_mbuf *out[N];
	unsigned int n;

	add_sa(1, MS_DIR_OUT);
	queue_pair(SMALL_QP);
	ms_stats_sum(&rig.dp.stats, &b);
	n = seal_n(out);
	ms_stats_sum(&rig.dp.stats, &a);
	rte_pktmbuf_free_bulk(out, n);
	/* Sealed what the device took, counted the rest; nothing else happened. */
	CU_ASSERT(n > 0 && n < N);
	CU_ASSERT_EQUAL(a.sealed_pkts - b.sealed_pkts, n);
	CU_ASSERT_EQUAL(a.drop[MS_DROP_CRYPTO_ENQUEUE] - b.drop[MS_DROP_CRYPTO_ENQUEUE], N - n);
	CU_ASSERT_EQUAL(sa_drops(1, MS_DROP_CRYPTO_ENQUEUE), N - n);
	check_pools();
	/* A whole queue pair again: everything passes. */
	queue_pair(2048);
	CU_ASSERT_EQUAL(n = seal_n(out), N);
	rte_pktmbuf_free_bulk(out, n);
	check_pools();
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1, (char[128]){ 0 }, 128), 0);
}

/* Inner packets A->B, random payloads; the frames sealed independently. */
static void
seal_inbound(uint8_t (*inner)[28 + 64], struct rte_mbuf **m, const bool *which)
{
	for (unsigned int i = 0; i < N; i++) {
		struct rte_mbuf *f;

		if (which != NULL && !which[i])
			continue;
		if (which == NULL) {
			ut_random(inner[i] + 28, 64);
			f = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000,
					  inner[i] + 28, 64);
			memcpy(inner[i], rte_pktmbuf_mtod_offset(f, uint8_t *, 14), 28);
			rte_pktmbuf_free(f);
		}
		*m++ = ut_esp_seal(rig.dp.mbuf_pool, ks, SPI, 1 + i, inner[i], 28 + 64,
				   IPPROTO_IPIP, 2, false);
	}
}

/* The frames the inner port delivered, matched in order; marks them in got. */
static unsigned int
take_inbound(uint8_t (*inner)[28 + 64], bool *got)
{
	struct rte_mbuf *m[N];
	unsigned int n = ut_rig_take(&rig, MS_PORT_INNER, m, N);

	for (unsigned int i = 0, k = 0; i < n; i++, k++) {	/* in order, some missing */
		const uint8_t *p = rte_pktmbuf_mtod_offset(m[i], const uint8_t *, 14);

		while (k < N && memcmp(p, inner[k], 28 + 64) != 0)
			k++;
		CU_ASSERT(k < N && !got[k] && m[i]->pkt_len == 14 + 28 + 64);
		if (k < N)
			got[k] = true;
	}
	rte_pktmbuf_free_bulk(m, n);
	return n;
}

static void
test_refused_inbound(void)
{
	static uint8_t inner[N][28 + 64];
	struct ms_lcore_stats b, a;
	struct rte_mbuf *m[N];
	bool got[N] = { false }, refused[N];
	unsigned int n, again;

	add_sa(2, MS_DIR_IN);
	queue_pair(SMALL_QP);
	ms_stats_sum(&rig.dp.stats, &b);
	seal_inbound(inner, m, NULL);
	ut_rig_inject(&rig, MS_PORT_OUTER, m, N);
	ut_rig_run(&rig);
	n = take_inbound(inner, got);
	ms_stats_sum(&rig.dp.stats, &a);
	CU_ASSERT(n > 0 && n < N);
	CU_ASSERT_EQUAL(a.opened_pkts - b.opened_pkts, n);
	CU_ASSERT_EQUAL(a.drop[MS_DROP_CRYPTO_ENQUEUE] - b.drop[MS_DROP_CRYPTO_ENQUEUE], N - n);
	CU_ASSERT_EQUAL(sa_drops(2, MS_DROP_CRYPTO_ENQUEUE), N - n);
	check_pools();
	queue_pair(2048);
	/*
	 * A refused packet was never authenticated, so the window must not have
	 * recorded it: the same sequence numbers sent again are all opened, and
	 * one already delivered is a replay.
	 */
	for (unsigned int i = 0; i < N; i++)
		refused[i] = !got[i];
	seal_inbound(inner, m, refused);
	ut_rig_inject(&rig, MS_PORT_OUTER, m, N - n);
	ut_rig_run(&rig);
	again = take_inbound(inner, got);
	CU_ASSERT_EQUAL(again, N - n);
	ms_stats_sum(&rig.dp.stats, &b);
	CU_ASSERT_EQUAL(b.drop[MS_DROP_REPLAY], a.drop[MS_DROP_REPLAY]);
	CU_ASSERT_EQUAL(b.opened_pkts - a.opened_pkts, N - n);
	for (unsigned int i = 0; i < N; i++)
		CU_ASSERT(got[i]);
	refused[0] = true;	/* the window's positive control: a delivered one */
	for (unsigned int i = 1; i < N; i++)
		refused[i] = false;
	seal_inbound(inner, m, refused);
	ut_rig_inject(&rig, MS_PORT_OUTER, m, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_INNER, m, N), 0);
	ms_stats_sum(&rig.dp.stats, &a);
	CU_ASSERT_EQUAL(a.drop[MS_DROP_REPLAY], b.drop[MS_DROP_REPLAY] + 1);
	check_pools();
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, (char[128]){ 0 }, 128), 0);
}

static const CU_TestInfo tests[] = {
	{ "crypto queue pair refusing work: outbound counted, no leak", test_refused_outbound },
	{ "crypto queue pair refusing work: inbound counted, no leak", test_refused_inbound },
	CU_TEST_INFO_NULL,
};

void
ut_suite_faults(void)
{
	tl_add_tests(CU_add_suite("faults", suite_init, suite_fini), tests);
}
