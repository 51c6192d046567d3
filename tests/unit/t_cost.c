/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Not a test: what sealing and opening cost the data plane with the crypto
 * profile of this run ("migsec-unit cost PROFILE ...", tests/profile_cost.py).
 *
 * The rig's worker path without the ports' I/O: for rounds of 256 frames
 * (8 bursts of 32), ms_outbound_burst() then ms_crypto_drain() until every
 * op is back and the TX flush (seal), and the same for the sealed frames on
 * the inbound path (open). Timed with the thread's CPU clock
 * (CLOCK_THREAD_CPUTIME_ID), so time the thread spends preempted by other
 * processes on a shared machine is not counted. Building the frames and
 * taking them off the rings is outside the timed part. Every frame must come
 * out: the figures are of work that was done.
 */
#include <string.h>
#include <time.h>

#include <rte_cycles.h>

#include "ms_failover.h"
#include "ms_tx.h"
#include "ms_path.h"
#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

#define ROUND 256
#define BURST 32
#define ROUNDS 200

static struct ut_rig rig;
static uint8_t ks[36];

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef void (*path_fn)(struct ms_worker *w, struct rte_mbuf **m, uint16_t n);

static void
outbound(struct ms_worker *w, struct rte_mbuf **m, uint16_t n)
{
	ms_outbound_burst(w, m, n);
}

static void
inbound(struct ms_worker *w, struct rte_mbuf **m, uint16_t n)
{
	ms_inbound_burst(w, m, n);
}

/* One timed round: ROUND frames through a path; returns CPU ns. */
static uint64_t
timed(path_fn path, struct rte_mbuf **m)
{
	struct ms_worker *w = &rig.dp.workers[0];
	uint64_t t0 = cpu_ns();

	for (unsigned int i = 0; i < ROUND; i += BURST)
		path(w, m + i, BURST);
	for (unsigned int i = 0; i < 1000000 && w->inflight > 0; i++)
		ms_crypto_drain(w);
	ms_tx_flush(w, MS_PORT_INNER);
	ms_tx_flush(w, MS_PORT_OUTER);
	return cpu_ns() - t0;
}

static void
measure(const char *label, uint16_t len)
{
	static struct rte_mbuf *m[ROUND];
	uint8_t payload[1500];
	uint64_t ns[2] = { 0, 0 };
	double hz = (double)rte_get_tsc_hz();

	memset(payload, 0x5a, sizeof(payload));
	rte_rcu_qsbr_thread_online(rig.dp.rcu, 0);
	for (int r = -2; r < ROUNDS; r++) {	/* two rounds to warm up */
		uint64_t s, o;

		for (unsigned int i = 0; i < ROUND; i++)
			m[i] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000,
					     payload, len);
		s = timed(outbound, m);
		CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_OUTER, m, ROUND), ROUND);
		o = timed(inbound, m);
		CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, m, ROUND), ROUND);
		rte_pktmbuf_free_bulk(m, ROUND);
		if (r >= 0) {
			ns[0] += s;
			ns[1] += o;
		}
	}
	rte_rcu_qsbr_thread_offline(rig.dp.rcu, 0);
	for (int d = 0; d < 2; d++) {
		double per = (double)ns[d] / (ROUNDS * ROUND);

		printf("\ncost: profile=%s dir=%s inner_bytes=%u pkts=%u ns_per_pkt=%.0f "
		       "tsc_cycles_per_pkt=%.0f gbit_per_cpu_s=%.2f", label, d ? "open" : "seal",
		       28u + len, ROUNDS * ROUND, per, per * hz / 1e9, (28.0 + len) * 8 / per);
	}
}

static void
test_cost(void)
{
	static const uint16_t lens[] = { 36, 512, 1372 };	/* inner IP 64, 540, 1400 B */
	struct ms_sa_spec s;
	char err[256] = "";

	ut_spec(&s, 1, MS_DIR_OUT, 0x4001, ks, 1);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	ut_spec(&s, 2, MS_DIR_IN, 0x4001, ks, 1);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	for (unsigned int i = 0; i < RTE_DIM(lens); i++)
		measure(ut_profile.name, lens[i]);
	if (ut_profile.failover) {	/* every burst tries the stopped primary first */
		ms_failover_stop_primary(&rig.cd);
		for (unsigned int i = 0; i < RTE_DIM(lens); i++)
			measure("failover-primary-stopped", lens[i]);
	}
	printf("\n");
}

static const CU_TestInfo tests[] = {
	{ "CPU time per sealed and per opened packet", test_cost },
	CU_TEST_INFO_NULL,
};

void
ut_suite_cost(void)
{
	tl_add_tests(ut_rig_suite("cost", &rig, ks), tests);
}
