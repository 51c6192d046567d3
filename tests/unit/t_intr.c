/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt polling (poll.mode interrupt, fast/ms_intr.c) with the real
 * worker loop on two lcores: the rig's net_ring ports have no wake source,
 * so idle waits end by their timeout and count no wakeup; a frame the
 * control thread queues for worker 0 (ms_slow_tx) ends worker 0's wait
 * through the slow path's eventfd (a wakeup) and leaves, unchanged.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "ms_slow_priv.h"
#include "tl.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t ks[36];

#define FRAME_LEN 60

static uint64_t
ctr(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Wait up to ms for *c to exceed v; true if it did. */
static bool
rises(const uint64_t *c, uint64_t v, unsigned int ms)
{
	for (unsigned int i = 0; i < ms && ctr(c) <= v; i++)
		rte_delay_ms(1);
	return ctr(c) > v;
}

static void
test_wakes(void)
{
	struct ms_dp *dp = &rig.dp;
	const struct ms_lcore_stats *st = &dp->stats.lc[0];
	struct rte_mbuf *m, *out[4];
	unsigned int n = 0;
	uint64_t w0, s0;
	uint8_t *p;

	CU_ASSERT_EQUAL_FATAL(rig.conf.poll.mode, MS_POLL_INTERRUPT);
	CU_ASSERT_FATAL(dp->slow_tx_wake >= 0);
	ut_rig_launch(&rig);
	/* Idle: waits of 100 ms that only their timeout ends. */
	CU_ASSERT(rises(&st->sleeps, 2, 5000));
	w0 = ctr(&st->wakeups);
	s0 = ctr(&st->sleeps);
	CU_ASSERT(rises(&st->sleeps, s0 + 1, 5000));
	CU_ASSERT_EQUAL(ctr(&st->wakeups), w0);

	/* A frame from the control thread: worker 0's wait ends by its eventfd. */
	m = rte_pktmbuf_alloc(dp->mbuf_pool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	p = (uint8_t *)rte_pktmbuf_append(m, FRAME_LEN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (unsigned int i = 0; i < FRAME_LEN; i++)
		p[i] = (uint8_t)(0xa5 ^ i);
	ms_slow_tx(dp, m, MS_PORT_OUTER);
	for (unsigned int i = 0; i < 5000 && n == 0; i++) {
		n = ut_rig_take(&rig, MS_PORT_OUTER, out, RTE_DIM(out));
		if (n == 0)
			rte_delay_ms(1);
	}
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT(rises(&st->wakeups, w0, 2000));
	if (n == 1) {
		const uint8_t *q = rte_pktmbuf_mtod(out[0], const uint8_t *);
		unsigned int same = 0;

		CU_ASSERT_EQUAL(out[0]->pkt_len, FRAME_LEN);
		for (unsigned int i = 0; i < FRAME_LEN && i < out[0]->data_len; i++)
			same += q[i] == (uint8_t)(0xa5 ^ i);
		CU_ASSERT_EQUAL(same, FRAME_LEN);
	}
	if (n > 0)
		rte_pktmbuf_free_bulk(out, n);
	/* Worker 1 has no eventfd: only its timeouts ended its waits. */
	CU_ASSERT(ctr(&dp->stats.lc[1].sleeps) > 0);
	CU_ASSERT_EQUAL(ctr(&dp->stats.lc[1].wakeups), 0);
	ut_rig_stop(&rig);
}

void
ut_suite_intr(void)
{
	static const CU_TestInfo tests[] = {
		{ "timeouts are no wakeups; the slow path's frames wake worker 0", test_wakes },
		CU_TEST_INFO_NULL,
	};

	ut_rig_poll = MS_POLL_INTERRUPT;
	tl_add_tests(ut_rig_suite("intr", &rig, ks), tests);
}
