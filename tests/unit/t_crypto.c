/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The crypto device under the data plane, for the profile of this run:
 * a refused enqueue (queue pair full, device stopped) is counted as
 * crypto_enqueue, its mbufs and ops go back to their pools and nothing leaves
 * in plaintext; a profile whose device is absent (qat here) fails at set-up
 * with a message that says what to do; a fail-over profile moves to its
 * secondary while a worker runs, losing and reordering nothing.
 */
#include <string.h>

#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_log.h>

#include "ms_failover.h"
#include "ms_path.h"
#include "ms_sadb.h"
#include "ms_worker.h"
#include "tl.h"
#include "ut.h"

#define SPI 0x3001
#define QP_DEPTH 2048		/* ms_cdev.c: descriptors per queue pair */
#define PLEN 256
#define MARK "MIGSEC-UT-PLAINTEXT"

static struct ut_rig rig;
static uint8_t ks[36];

static void
add_sa(uint32_t id, uint8_t dir)
{
	ut_sa_add(&rig, id, dir, SPI, ks);
}

static void
del_sa(uint32_t id)
{
	ut_sa_del(&rig, id);
}

/* A frame A->B whose payload is the marker and its number. */
static struct rte_mbuf *
frame(uint32_t no)
{
	uint8_t p[PLEN];

	memset(p, 0xa5, sizeof(p));
	memcpy(p, MARK, strlen(MARK));
	memcpy(p + strlen(MARK), &no, sizeof(no));
	return ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 5000, 6000, p, PLEN);
}

static bool
has_marker(const struct rte_mbuf *m)
{
	return memmem(rte_pktmbuf_mtod(m, const void *), m->pkt_len, MARK, strlen(MARK)) != NULL;
}

/* Take every frame off the outer port: each must be ESP that opens. */
static unsigned int
take_sealed(void)
{
	struct rte_mbuf *m[64];
	unsigned int n, total = 0;
	uint8_t inner[2048];
	uint32_t ilen, spi, seq;

	while ((n = ut_rig_take(&rig, MS_PORT_OUTER, m, RTE_DIM(m))) > 0) {
		for (unsigned int i = 0; i < n; i++) {
			CU_ASSERT(!has_marker(m[i]));
			CU_ASSERT_EQUAL(ut_esp_open(rte_pktmbuf_mtod(m[i], const uint8_t *),
						    m[i]->pkt_len, ks, 0, inner, &ilen, &spi, &seq), 0);
			CU_ASSERT(memmem(inner, ilen, MARK, strlen(MARK)) != NULL);
		}
		rte_pktmbuf_free_bulk(m, n);
		total += n;
	}
	return total;
}

struct pools {
	unsigned int mbufs, ops;
};

static struct pools
pools_now(void)
{
	return (struct pools){ rte_mempool_avail_count(rig.dp.mbuf_pool),
			       rte_mempool_avail_count(rig.dp.cop_pool) };
}

/*
 * n frames through the outbound path in bursts, without dequeuing: as a
 * worker would between two polls of a device that stopped answering.
 */
static void
push(unsigned int n)
{
	struct ms_worker *w = &rig.dp.workers[0];
	struct rte_mbuf *m[32];

	rte_rcu_qsbr_thread_online(rig.dp.rcu, 0);
	for (unsigned int i = 0; i < n; i += RTE_DIM(m)) {
		uint16_t k = (uint16_t)RTE_MIN(RTE_DIM(m), n - i);

		for (uint16_t j = 0; j < k; j++)
			m[j] = frame(i + j);
		ms_outbound_burst(w, m, k);
	}
	rte_rcu_qsbr_thread_offline(rig.dp.rcu, 0);
}

/* Queue pairs full: the rest is refused, counted and freed; the rest is sealed. */
static void
test_refused_full(void)
{
	unsigned int total = (ut_profile.failover ? MS_MEMBERS : 1) * QP_DEPTH + 256;
	uint64_t refused = ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE), accepted, sealed;
	struct pools before = pools_now(), after;
	struct rte_mbuf *m[8];

	add_sa(1, MS_DIR_OUT);
	push(total);
	refused = ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE) - refused;
	accepted = rig.dp.workers[0].inflight;
	printf("\n    %u frames: %" PRIu64 " enqueued, %" PRIu64 " refused ", total, accepted,
	       refused);
	CU_ASSERT(refused >= 256);
	CU_ASSERT_EQUAL(accepted + refused, total);
	ut_rig_run(&rig);
	sealed = take_sealed();
	CU_ASSERT_EQUAL(sealed, accepted);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_INNER, m, RTE_DIM(m)), 0);
	after = pools_now();
	CU_ASSERT_EQUAL(after.mbufs, before.mbufs);
	CU_ASSERT_EQUAL(after.ops, before.ops);
	del_sa(1);
}

/* A stopped device refuses everything: counted, freed, nothing sent. */
static void
test_refused_stopped(void)
{
	uint64_t refused = ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE);
	struct pools before = pools_now(), after;
	struct rte_mbuf *m[8];

	add_sa(1, MS_DIR_OUT);
	/* the stopped device's dummy enqueue logs an error per call */
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_CRIT);
	rte_cryptodev_stop(rig.cd.dev_id);
	push(96);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE) - refused, 96);
	CU_ASSERT_EQUAL(rig.dp.workers[0].inflight, 0);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, m, RTE_DIM(m)), 0);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_INNER, m, RTE_DIM(m)), 0);
	after = pools_now();
	CU_ASSERT_EQUAL(after.mbufs, before.mbufs);
	CU_ASSERT_EQUAL(after.ops, before.ops);
	/* started again, it seals */
	CU_ASSERT_EQUAL_FATAL(rte_cryptodev_start(rig.cd.dev_id), 0);
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_INFO);
	push(32);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL(take_sealed(), 32);
	del_sa(1);
}

static void
expect_in(const char *err, const char *want)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (strstr(err, want) == NULL)
		fprintf(stderr, "\n  message lacks \"%s\":\n  %s\n", want, err);
}

/* The qat profile on a machine without that VF: -ENODEV, and what to do. */
static void
test_qat_absent(void)
{
	static const char *const members[] = { NULL, "qat" };
	static struct ms_conf c;
	static struct ms_profile p;
	struct ms_cdev cd;
	char err[1024];

	for (unsigned int i = 0; i < RTE_DIM(members); i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.file, sizeof(c.file), "ut.conf");
		snprintf(c.profile, sizeof(c.profile), "%s", members[i] ? "failover" : "qat");
		snprintf(c.primary, sizeof(c.primary), "%s", members[i] ? members[i] : "");
		snprintf(c.secondary, sizeof(c.secondary), "%s", members[i] ? "openssl" : "");
		snprintf(c.profile_dir, sizeof(c.profile_dir), "%s", UT_SRCDIR "/pmd-profiles");
		snprintf(c.crypto_pci, sizeof(c.crypto_pci), "0000:3d:01.0");
		CU_ASSERT_EQUAL_FATAL(ms_profile_load(&c, &p, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(ms_cdev_setup(&p, 1, 64, 64, 0, &cd, err, sizeof(err)), -ENODEV);
		if (members[i])
			expect_in(err, "fail-over primary: ");
		expect_in(err, "crypto profile qat (" UT_SRCDIR "/pmd-profiles/qat.conf): device "
			  "0000:3d:01.0_qat_sym (PCI 0000:3d:01.0) is not present.");
		expect_in(err, "firmware");
		expect_in(err, "dpdk-devbind.py -b vfio-pci");
		expect_in(err, "dpdk-hugepages.py --setup 1G");
		expect_in(err, "crypto.pci");
		expect_in(err, "This process runs without hugepages");	/* the unit EAL */
	}
}

/* Too few queue pairs, no AES-GCM: which device, what is missing, what to do. */
static void
test_unfit(void)
{
	static struct ms_profile p;
	struct ms_cdev cd;
	char err[1024];

	CU_ASSERT_EQUAL(ms_cdev_setup(&ut_profile, 9, 64, 64, 0, &cd, err, sizeof(err)), -ENOSPC);
	if (ut_profile.failover)
		expect_in(err, "fail-over primary: crypto profile aesni_gcm: device "
			  "crypto_aesni_gcm0 has 8 queue pairs, 9 workers need one each; use fewer "
			  "workers (eal.lcores) or give the vdev more");
	else
		expect_in(err, "has 8 queue pairs, 9 workers need one each; use fewer workers");
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "null");
	p.dev = ut_profile.dev;
	snprintf(p.dev.profile, sizeof(p.dev.profile), "null");
	snprintf(p.dev.driver, sizeof(p.dev.driver), "crypto_null");
	snprintf(p.dev.device, sizeof(p.dev.device), "crypto_null0");
	CU_ASSERT_EQUAL(ms_cdev_setup(&p, 1, 64, 64, 0, &cd, err, sizeof(err)), -ENOTSUP);
	expect_in(err, "crypto profile null: crypto device crypto_null0 does not offer AES-GCM; "
		  "choose a crypto.profile whose device does (aesni_gcm, openssl, qat)");
}

static uint64_t
enqueued(uint8_t dev_id)
{
	struct rte_cryptodev_stats st = { 0 };

	rte_cryptodev_stats_get(dev_id, &st);
	return st.enqueued_count;
}

/* Drops of every reason so far. */
static uint64_t
dropped(void)
{
	struct ms_lcore_stats sum;
	uint64_t d = 0;

	ms_stats_sum(&rig.dp.stats, &sum);
	for (int r = 0; r < MS_DROP_MAX; r++)
		d += sum.drop[r];
	return d;
}

/* Collect n frames from a port while the worker runs (bounded: 10 s). */
static unsigned int
collect(enum ms_port_idx p, struct rte_mbuf **out, unsigned int n)
{
	uint64_t end = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	unsigned int got = 0;

	while (got < n && rte_get_timer_cycles() < end)
		got += ut_rig_take(&rig, p, out + got, n - got);
	return got;
}


static void
inject(unsigned int first, unsigned int n)
{
	struct rte_mbuf *m[64];

	for (unsigned int i = 0; i < n; i += RTE_DIM(m)) {
		unsigned int k = RTE_MIN(RTE_DIM(m), n - i);

		for (unsigned int j = 0; j < k; j++)
			m[j] = frame(first + i + j);
		CU_ASSERT_EQUAL(ut_rig_put(&rig, MS_PORT_INNER, 0, m, k), k);
	}
}

/*
 * Fail-over under traffic: the worker runs on its own lcore. Batch A is
 * sealed by the primary; the primary is taken out of service while batch B
 * is on its way; batch C comes after. Every frame is sealed once, then all
 * are opened (by the secondary alone) and delivered intact; no drop of any
 * kind.
 */
static void
test_failover_live(void)
{
	enum { N = 512, ALL = 3 * N };
	static struct rte_mbuf *sealed[ALL], *opened[ALL];
	static bool seen[ALL];
	uint8_t prim = rig.cd.member_id[MS_PRIMARY], sec = rig.cd.member_id[MS_SECONDARY];
	uint64_t p0 = enqueued(prim), s0 = enqueued(sec), p1, s1, d0 = dropped();
	unsigned int n;
	char err[256] = "";

	add_sa(1, MS_DIR_OUT);
	add_sa(2, MS_DIR_IN);
	ut_rig_launch(&rig);
	inject(0, N);
	n = collect(MS_PORT_OUTER, sealed, N);
	CU_ASSERT_EQUAL(enqueued(prim) - p0, N);
	CU_ASSERT_EQUAL(enqueued(sec), s0);
	inject(N, N);
	CU_ASSERT_EQUAL(ms_failover_run(&rig.dp, &rig.cd, 1000, err, sizeof(err)), 0);
	CU_ASSERT(rig.cd.primary_stopped);
	p1 = enqueued(prim);
	inject(2 * N, N);
	n += collect(MS_PORT_OUTER, sealed + n, ALL - n);
	CU_ASSERT_EQUAL(n, ALL);
	CU_ASSERT_EQUAL(enqueued(prim), p1);
	s1 = enqueued(sec);
	printf("\n    sealed by the primary %" PRIu64 ", by the secondary %" PRIu64 " ",
	       p1 - p0, s1 - s0);
	CU_ASSERT_EQUAL(p1 - p0 + s1 - s0, ALL);
	CU_ASSERT(s1 - s0 >= N);
	/* all of it back in, opened by the secondary alone */
	CU_ASSERT_EQUAL(ut_rig_put(&rig, MS_PORT_OUTER, 0, sealed, n), n);
	n = collect(MS_PORT_INNER, opened, ALL);
	CU_ASSERT_EQUAL(n, ALL);
	CU_ASSERT_EQUAL(enqueued(prim), p1);
	CU_ASSERT_EQUAL(enqueued(sec) - s1, ALL);
	ut_rig_stop(&rig);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *pl = rte_pktmbuf_mtod_offset(opened[i], const uint8_t *, 42);
		uint32_t no;

		memcpy(&no, pl + strlen(MARK), sizeof(no));
		CU_ASSERT(memcmp(pl, MARK, strlen(MARK)) == 0 && no < ALL && !seen[no]);
		if (no < ALL)
			seen[no] = true;
	}
	rte_pktmbuf_free_bulk(opened, n);
	CU_ASSERT_EQUAL(dropped() - d0, 0);
	del_sa(1);
	del_sa(2);
}

/*
 * Has worker w begun and finished a whole loop since now? (Its loop_tsc,
 * stamped at the end of each loop, passes now twice.) Bounded by end.
 */
static bool
worker_looped(const struct ms_worker *w, uint64_t end)
{
	uint64_t mark = rte_rdtsc();

	for (int k = 0; k < 2; k++) {
		while (__atomic_load_n(&w->loop_tsc, __ATOMIC_ACQUIRE) <= mark) {
			if (rte_get_timer_cycles() >= end)
				return false;
			rte_delay_us_sleep(1000);
		}
		mark = __atomic_load_n(&w->loop_tsc, __ATOMIC_ACQUIRE);
	}
	return true;
}

/*
 * A device that takes ops and never returns them (stopped with ops in
 * flight, as a hung one behaves): the worker writes them off as
 * crypto_lost and holds (touches neither device nor packets) until the
 * control thread's watch has made late ops unreachable. Single device: it
 * is stopped for good (fail closed), later packets are refused. Fail-over:
 * the primary is taken out of service and the secondary seals the later
 * packets.
 */
static void
test_lost(void)
{
	enum { LOST = 64, LATER = 32 };
	uint8_t dev = ut_profile.failover ? rig.cd.member_id[MS_PRIMARY] : rig.cd.dev_id;
	uint64_t lost0 = ut_drops(&rig, MS_DROP_CRYPTO_LOST), refused0, seen = lost0;
	uint64_t end = rte_get_timer_cycles() + 10 * rte_get_timer_hz();
	struct rte_mbuf *m[LATER];

	add_sa(1, MS_DIR_OUT);
	if (rig.cd.primary_stopped) {	/* test_failover_live stopped it */
		CU_ASSERT_EQUAL_FATAL(rte_cryptodev_start(dev), 0);
		rig.cd.primary_stopped = false;
	}
	push(LOST);
	CU_ASSERT_EQUAL(rig.dp.workers[0].inflight, LOST);
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_CRIT);
	rte_cryptodev_stop(dev);
	ut_rig_launch(&rig);
	/* the worker counts the drops first and raises lost_hold after: wait for both */
	while ((ut_drops(&rig, MS_DROP_CRYPTO_LOST) - lost0 < LOST ||
		!__atomic_load_n(&rig.dp.workers[0].lost_hold, __ATOMIC_ACQUIRE)) &&
	       rte_get_timer_cycles() < end)
		rte_delay_us_sleep(1000);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_CRYPTO_LOST) - lost0, LOST);
	CU_ASSERT(__atomic_load_n(&rig.dp.workers[0].lost_hold, __ATOMIC_ACQUIRE));
	refused0 = ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE);
	inject(LOST, LATER);
	/* holding: the worker keeps looping, the later packets wait in the port */
	CU_ASSERT(worker_looped(&rig.dp.workers[0], end));
	CU_ASSERT_EQUAL(rte_ring_count(rig.rx[MS_PORT_INNER][0]), LATER);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE), refused0);
	CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, m, LATER), 0);
	ms_failover_watch(&rig.dp, &rig.cd, &seen);
	CU_ASSERT_EQUAL(seen, lost0 + LOST);
	CU_ASSERT_EQUAL(__atomic_load_n(&rig.dp.workers[0].lost_hold, __ATOMIC_ACQUIRE), 0);
	if (ut_profile.failover) {
		CU_ASSERT(rig.cd.primary_stopped);
		CU_ASSERT(!rig.cd.failed);
		CU_ASSERT_EQUAL(collect(MS_PORT_OUTER, m, LATER), LATER);	/* the secondary */
		rte_pktmbuf_free_bulk(m, LATER);
	} else {
		CU_ASSERT(rig.cd.failed);	/* fail closed */
		while (ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE) - refused0 < LATER &&
		       rte_get_timer_cycles() < end)
			rte_delay_us_sleep(1000);
		CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_CRYPTO_ENQUEUE) - refused0, LATER);
		CU_ASSERT_EQUAL(ut_rig_take(&rig, MS_PORT_OUTER, m, LATER), 0);
	}
	ut_rig_stop(&rig);
	rte_log_set_level_pattern("lib.cryptodev", RTE_LOG_INFO);
	del_sa(1);
}

void
ut_suite_crypto(void)
{
	/* not static: which tests run depends on the profile */
	const CU_TestInfo tests[] = {
		{ "qat without its VF: fails at set-up, says what to do", test_qat_absent },
		{ "too few queue pairs, no AES-GCM: says which device and what to do", test_unfit },
		{ "queue pairs full: refused counted, freed, never plaintext", test_refused_full },
		{ "device stopped: refused counted, freed, nothing sent", test_refused_stopped },
		{ "fail-over with a worker running: secondary takes over, nothing lost",
		  ut_profile.failover ? test_failover_live : NULL },
		{ "device never returns ops: written off, device or primary out of service",
		  test_lost },
		CU_TEST_INFO_NULL,
	};

	tl_add_tests(ut_rig_suite("crypto", &rig, ks), tests);
}
