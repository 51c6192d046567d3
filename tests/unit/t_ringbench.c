/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Not a test: the low-copy test bed ("migsec-unit ringbench", perf/bench).
 * The appliance's own worker loop (ms_worker_poll_once(), what
 * ms_worker_main() runs) on net_ring ports, with a generator, a mirror and
 * a sink in the same thread between its loops: the generator puts inner
 * IPv4/UDP frames into the inner port's RX ring, the mirror hands the
 * sealed frames the outer port sent back to the outer port's RX ring (the
 * rig holds an outbound and an inbound SA with the same SPI and key per
 * migration, as perf/bench's appliance does), and the sink checks every
 * opened frame the inner port sent: its length, headers, flow and every
 * payload byte. Port I/O is then a ring enqueue or dequeue of pointers.
 *
 * Cycles per packet (sealed and opened) are the worker's own busy and
 * io_cycles counters (TSC) over a run, the least of several short runs
 * that this thread went through without an involuntary context switch
 * (getrusage(RUSAGE_THREAD)): on a shared machine, a preempted loop still
 * counts its TSC cycles. Each line says how many runs were clean (if
 * none, the least of all) and the chosen run's share of the wall clock
 * this thread had a CPU (CLOCK_THREAD_CPUTIME_ID).
 * Cases, at inner IP sizes of 1420, 4096 and 8192 B:
 *  - one SA pair;
 *  - 1024 migrations, each burst spread over many SAs (frame i: flow i mod
 *    1024, the bench's worst case);
 *  - 1024 migrations in runs of RUN frames of one flow (a realistic mix).
 * MIGSEC_RINGBENCH=quick: fewer packets and runs (perf/bench --quick);
 * MIGSEC_RINGBENCH=CASE (one, spread, runs) SIZE SECONDS: that case only,
 * for that long (for perf record). Prints one "ringbench:" line per case.
 * MIGSEC_UT_HUGE=1 (any migsec-unit suite): the EAL on hugepages, as an
 * appliance is deployed; without, on 4 KiB pages, 1024 migrations' SA
 * state also costs TLB misses.
 * Every frame must come back intact and nothing may be dropped: the
 * figures are of work that was done.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/resource.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ms_path.h"
#include "ms_sadb.h"
#include "ms_worker.h"
#include "tl.h"
#include "ut.h"

#define MIGRATIONS 1024
#define RUN 8		/* frames of one flow in a row, "runs" case */
#define WINDOW 256	/* frames in the loop at a time */
#define BURST 32
#define PORT0 10000
#define MAXLEN 8192

enum mix { MIX_ONE, MIX_SPREAD, MIX_RUNS };
static const char *const mix_name[] = { "one", "spread", "runs" };

static struct ut_rig rig;
static uint8_t ks[36];
static uint8_t pattern[MAXLEN];

static uint64_t
ns_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t
flow_of(enum mix mix, uint64_t i)
{
	return mix == MIX_ONE ? 0 : mix == MIX_SPREAD ? (uint32_t)(i % MIGRATIONS)
						       : (uint32_t)(i / RUN % MIGRATIONS);
}

static rte_be32_t host_a, host_b;
/* Opened frames, checked, that the generator sends again (its ring bed's NIC). */
static struct rte_mbuf *spare[WINDOW + 2 * BURST];
static unsigned int nb_spare;

/* Ethernet, IPv4 and UDP headers of a size-byte IP packet to flow dport (as ut_frame_udp4). */
static void
headers(uint8_t *p, uint16_t size, uint16_t dport)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(p, 0, sizeof(*eth) + sizeof(*ip) + sizeof(*udp));
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[5] = 0x99;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(size);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = host_a;
	ip->dst_addr = host_b;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(5000);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(size - 20));
}

/*
 * Frame i of a run: payload = i (8 bytes) then the pattern. An opened
 * frame of the same size that the sink checked is sent again (its payload
 * is the pattern already, its buffer where a fresh one starts); otherwise
 * a new mbuf. NULL: the pool is empty.
 */
static struct rte_mbuf *
make(uint16_t size, enum mix mix, uint64_t i)
{
	struct rte_mbuf *m = nb_spare > 0 ? spare[--nb_spare] : NULL;

	if (m != NULL) {
		rte_pktmbuf_reset(m);	/* its data stays where a fresh mbuf's starts */
		m->data_len = (uint16_t)(14 + size);
		m->pkt_len = 14u + size;
	} else {
		m = rte_pktmbuf_alloc(rig.dp.mbuf_pool);
		if (m == NULL || rte_pktmbuf_append(m, (uint16_t)(14 + size)) == NULL) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 28), pattern, size - 28u);
	}
	headers(rte_pktmbuf_mtod(m, uint8_t *), size, (uint16_t)(PORT0 + flow_of(mix, i)));
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 28), &i, sizeof(i));
	return m;
}

/* An opened frame: the inner frame sent, byte for byte; returns its index. */
static bool
check(const struct rte_mbuf *m, uint16_t size, enum mix mix, uint64_t *idx)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(p + 14);
	const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
	uint64_t i;

	if (m->pkt_len != 14u + size || !rte_pktmbuf_is_contiguous(m) ||
	    rte_be_to_cpu_16(ip->total_length) != size || ip->next_proto_id != IPPROTO_UDP ||
	    rte_be_to_cpu_16(udp->dgram_len) != size - 20)
		return false;
	memcpy(&i, udp + 1, sizeof(i));
	*idx = i;
	return rte_be_to_cpu_16(udp->dst_port) == PORT0 + flow_of(mix, i) &&
	       memcmp((const uint8_t *)(udp + 1) + 8, pattern + 8, size - 28u - 8) == 0;
}

struct result {
	double cpp, io_cpp, share;
	bool clean;	/* no involuntary context switch during the run */
};

static long
nivcsw(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : -1;
}

/* One run of npkt frames through the loop; false if a frame was lost or bad. */
static bool
run(uint16_t size, enum mix mix, uint64_t npkt, struct result *res)
{
	struct ms_worker *w = &rig.dp.workers[0];
	struct rte_mbuf *m[2 * BURST];
	struct ms_lcore_stats s0, s1;
	uint64_t sent = 0, done = 0, sum = 0, w0, c0, wall, cpu;
	long cs0 = nivcsw();
	bool ok = true;

	ms_stats_sum(&rig.dp.stats, &s0);
	w0 = ns_of(CLOCK_MONOTONIC);
	c0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
	for (uint64_t loops = 0; done < npkt && loops < 100 * npkt; loops++) {
		unsigned int n;

		while (sent < npkt && sent - done + BURST <= WINDOW) {
			unsigned int b = (unsigned int)RTE_MIN((uint64_t)BURST, npkt - sent);

			unsigned int in;

			for (unsigned int j = 0; j < b; j++)
				if ((m[j] = make(size, mix, sent + j)) == NULL) {
					rte_pktmbuf_free_bulk(m, j);
					return false;
				}
			in = ut_rig_put(&rig, MS_PORT_INNER, 0, m, b);
			if (in < b) {	/* cannot happen: the ring holds 16384 */
				rte_pktmbuf_free_bulk(m + in, b - in);
				return false;
			}
			sent += b;
		}
		ms_worker_poll_once(w);
		while ((n = ut_rig_take_q(&rig, MS_PORT_OUTER, 0, m, RTE_DIM(m))) > 0) {	/* mirror */
			unsigned int in = ut_rig_put(&rig, MS_PORT_OUTER, 0, m, n);

			if (in < n) {
				rte_pktmbuf_free_bulk(m + in, n - in);
				return false;
			}
		}
		while ((n = ut_rig_take_q(&rig, MS_PORT_INNER, 0, m, RTE_DIM(m))) > 0) {	/* sink */
			for (unsigned int j = 0; j < n; j++) {
				uint64_t idx = 0;
				bool good = check(m[j], size, mix, &idx);

				ok &= good;
				sum += idx;
				/* again only if it starts where a fresh mbuf does */
				if (good && m[j]->data_off == RTE_PKTMBUF_HEADROOM &&
				    nb_spare < RTE_DIM(spare))
					spare[nb_spare++] = m[j];
				else
					rte_pktmbuf_free(m[j]);
			}
			done += n;
		}
	}
	cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - c0;
	rte_pktmbuf_free_bulk(spare, nb_spare);
	nb_spare = 0;
	wall = ns_of(CLOCK_MONOTONIC) - w0;
	ms_stats_sum(&rig.dp.stats, &s1);
	res->clean = cs0 >= 0 && nivcsw() == cs0;
	res->share = wall ? RTE_MIN(1.0, (double)cpu / (double)wall) : 1.0;
	res->cpp = (double)(s1.busy_cycles - s0.busy_cycles) / (double)done;
	res->io_cpp = (double)(s1.io_cycles - s0.io_cycles) / (double)done;
	for (int d = 0; d < MS_DROP_MAX; d++)
		ok &= s1.drop[d] == s0.drop[d];
	/* every index 0 .. npkt-1 exactly once: the count and the sum */
	return ok && done == npkt && sum == npkt * (npkt - 1) / 2;
}

/* Best of reps runs of one case; prints its line. False: a run failed. */
static bool
measure(uint16_t size, enum mix mix, uint64_t npkt, int reps)
{
	struct result best = { 0, 0, 0, false }, r;
	double hz = (double)rte_get_tsc_hz();
	int clean = 0;

	for (int i = 0; i < reps; i++) {
		if (!run(size, mix, npkt, &r)) {
			printf("\nringbench: case=%s size=%u: a frame was lost, damaged or dropped",
			       mix_name[mix], size);
			return false;
		}
		clean += r.clean;
		/* a clean run beats any preempted one */
		if (i == 0 || (r.clean && !best.clean) ||
		    (r.clean == best.clean && r.cpp < best.cpp))
			best = r;
	}
	printf("\nringbench: case=%s size=%u sas=%u pkts=%" PRIu64 " reps=%d clean=%d cpp=%.1f "
	       "io_cpp=%.1f noio_cpp=%.1f share=%.2f gbit_per_core=%.2f", mix_name[mix], size,
	       mix == MIX_ONE ? 1 : MIGRATIONS, npkt, reps, clean, best.cpp, best.io_cpp,
	       best.cpp - best.io_cpp, best.share, size * 8.0 * hz / best.cpp / 1e9);
	fflush(stdout);
	return true;
}

static void
install(void)
{
	static struct ms_sa_spec s[2 * MIGRATIONS];
	char err[256] = "";

	for (uint32_t i = 0; i < 2 * MIGRATIONS; i++) {
		ut_spec(&s[i], 1 + i, i % 2 ? MS_DIR_IN : MS_DIR_OUT, 0x1000 + i / 2, ks, 1);
		s[i].sel[0].proto = IPPROTO_UDP;
		s[i].sel[0].dport_lo = s[i].sel[0].dport_hi = (uint16_t)(PORT0 + i / 2);
	}
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add_batch(&rig.dp.sadb, s, RTE_DIM(s), err, sizeof(err)), 0);
	explicit_bzero(s, sizeof(s));
}

/*
 * The cases (one with its duration if case is set), with the worker's RCU
 * thread online; false as soon as one fails.
 */
static bool
cases(bool quick, int one, unsigned int size, unsigned int secs)
{
	static const uint16_t sizes[] = { 1420, 4096, 8192 };

	for (int mix = 0; mix <= MIX_RUNS; mix++)	/* warm up: neighbours, every SA */
		if (!run(1420, (enum mix)mix, 2 * MIGRATIONS, &(struct result){ 0 })) {
			printf("\nringbench: warm-up case=%s: a frame was lost, damaged or dropped",
			       mix_name[mix]);
			return false;
		}
	if (one >= 0) {
		for (uint64_t end = ns_of(CLOCK_MONOTONIC) + secs * 1000000000ull;
		     ns_of(CLOCK_MONOTONIC) < end;)
			if (!measure((uint16_t)size, (enum mix)one, 16384, 1))
				return false;
		return true;
	}
	for (unsigned int i = 0; i < RTE_DIM(sizes); i++)
		for (int mix = 0; mix <= MIX_RUNS; mix++)
			if (!measure(sizes[i], (enum mix)mix, RTE_MAX(1024u, 4096u * 1420 / sizes[i]),
				     quick ? 7 : 15))
				return false;
	return true;
}

static void
test_ringbench(void)
{
	const char *env = getenv("MIGSEC_RINGBENCH");
	bool quick = env != NULL && strcmp(env, "quick") == 0, ok;
	unsigned int size = 0, secs = 0;
	int one = -1;

	if (env != NULL && !quick) {	/* CASE SIZE SECONDS */
		char name[16];

		CU_ASSERT_FATAL(sscanf(env, "%15s %u %u", name, &size, &secs) == 3);
		for (int k = 0; k <= MIX_RUNS; k++)
			if (strcmp(name, mix_name[k]) == 0)
				one = k;
		CU_ASSERT_FATAL(one >= 0 && size >= 64 && size <= MAXLEN && secs <= 60);
	}
	for (unsigned int i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	CU_ASSERT_FATAL(inet_pton(AF_INET, UT_HOST_A, &host_a) == 1 &&
			inet_pton(AF_INET, UT_HOST_B, &host_b) == 1);
	install();
	/* offline again before any assertion ends the test: the rig's teardown waits for it */
	rte_rcu_qsbr_thread_online(rig.dp.rcu, 0);
	ok = cases(quick, one, size, secs);
	rte_rcu_qsbr_thread_offline(rig.dp.rcu, 0);
	printf("\n");
	CU_ASSERT_FATAL(ok);
}

static const CU_TestInfo tests[] = {
	{ "seal and open through the worker loop on ring ports", test_ringbench },
	CU_TEST_INFO_NULL,
};

void
ut_suite_ringbench(void)
{
	ut_rig_max_sa = 2 * MIGRATIONS;
	ut_rig_jumbo = true;
	tl_add_tests(ut_rig_suite("ringbench", &rig, ks), tests);
}
