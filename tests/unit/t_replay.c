/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Anti-replay: the data plane (lib/ipsec's window plus migsec's own checks)
 * against a deliberately naive reference, on random arrival orders with
 * duplicates, reordering and jumps, with and without a 2^32 ESN wrap.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ms_replay.h"
#include "ms_sadb.h"
#include "tl.h"
#include "ut.h"

#define NPKT 2500
#define NEVENTS 2500
#define WIN 128

static struct ut_rig rig;
static uint8_t ks[36];

/*
 * The reference: a set of seen numbers and the highest one, and the same as
 * it was before the current burst. The data plane checks every packet of a
 * burst against the window as it was before the burst (nothing
 * unauthenticated may move it), then, once the ICV verified, against the
 * window as the burst's earlier packets left it: a packet seen before the
 * burst is a replay even if a newer one in the burst has since made it too
 * old.
 */
struct naive {
	uint64_t top, top0;
	uint8_t seen[NPKT], seen0[NPKT];
	uint64_t base;		/* sequence number of packet 0 */
};

static void
naive_burst(struct naive *nv)
{
	nv->top0 = nv->top;
	memcpy(nv->seen0, nv->seen, sizeof(nv->seen));
}

static enum ms_drop
naive_verdict(struct naive *nv, unsigned int idx)
{
	uint64_t sqn = nv->base + idx;

	if (sqn + WIN <= nv->top0)
		return MS_DROP_OUTSIDE_WINDOW;
	if (nv->seen0[idx])
		return MS_DROP_REPLAY;
	if (sqn + WIN <= nv->top)
		return MS_DROP_OUTSIDE_WINDOW;
	if (nv->seen[idx])
		return MS_DROP_REPLAY;
	nv->seen[idx] = 1;
	if (sqn > nv->top)
		nv->top = sqn;
	return MS_DROP_MAX;	/* accepted */
}

/* The seeded generator: a failure is replayed with the printed seed. */
static uint32_t
rnd(uint32_t n)
{
	return ut_rnd(n);
}

/* NPKT sealed frames, in sequence order, from an outbound SA starting at base. */
static void
make_frames(struct rte_mbuf **frames, uint64_t base)
{
	struct ms_sa_spec s;
	char err[256];
	unsigned int got = 0;

	ut_spec(&s, 1, MS_DIR_OUT, 0x3001, ks, base);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	for (unsigned int i = 0; i < NPKT; i += 32) {
		struct rte_mbuf *in[32];
		unsigned int n = RTE_MIN(32u, (unsigned int)NPKT - i);

		for (unsigned int j = 0; j < n; j++) {
			uint32_t idx = i + j;

			in[j] = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2,
					      (const uint8_t *)&idx, sizeof(idx));
		}
		ut_rig_inject(&rig, MS_PORT_INNER, in, n);
		ut_rig_run(&rig);
		got += ut_rig_take(&rig, MS_PORT_OUTER, frames + got, NPKT - got);
	}
	CU_ASSERT_EQUAL_FATAL(got, NPKT);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1, err, sizeof(err)), 0);
}

/* The next arrival: mostly in order, some late, duplicated or far ahead. */
static int
pick(int *cursor)
{
	uint32_t r = rnd(100);
	int idx;

	if (r < 60)
		idx = *cursor + (int)rnd(3);		/* in order, small gaps */
	else if (r < 85)
		idx = *cursor - (int)rnd(WIN + 40);	/* late: in/out of window */
	else if (r < 99)
		idx = *cursor - (int)rnd(4);		/* duplicates */
	else
		idx = *cursor + (int)rnd(WIN + WIN / 2);	/* jump ahead */
	if (idx < 0)
		idx = 0;
	if (idx > NPKT - 1)
		idx = NPKT - 1;
	if (idx > *cursor)
		*cursor = idx;
	return idx;
}

static void
run_against_naive(uint64_t base)
{
	static struct rte_mbuf *frames[NPKT];
	static struct naive nv;
	struct ms_sa_spec s;
	char err[256];
	uint64_t exp_replay = 0, exp_old = 0, got_ok = 0, exp_ok = 0, got_replay, got_old;
	uint64_t r0 = ut_drops(&rig, MS_DROP_REPLAY), o0 = ut_drops(&rig, MS_DROP_OUTSIDE_WINDOW);
	int cursor = 0;

	make_frames(frames, base);
	memset(&nv, 0, sizeof(nv));
	nv.base = base;
	nv.top = base - 1;
	ut_spec(&s, 2, MS_DIR_IN, 0x3001, ks, base);
	s.replay_window = WIN;
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	for (int e = 0; e < NEVENTS;) {
		struct rte_mbuf *burst[32], *out[64];
		uint8_t delivered[NPKT] = { 0 }, expect[NPKT] = { 0 };
		unsigned int n = 1 + rnd(32), got;

		naive_burst(&nv);
		for (unsigned int j = 0; j < n; j++, e++) {
			int idx = pick(&cursor);

			burst[j] = rte_pktmbuf_copy(frames[idx], rig.dp.mbuf_pool, 0, UINT32_MAX);
			switch (naive_verdict(&nv, (unsigned int)idx)) {
			case MS_DROP_REPLAY: exp_replay++; break;
			case MS_DROP_OUTSIDE_WINDOW: exp_old++; break;
			default: expect[idx] = 1; exp_ok++; break;
			}
		}
		ut_rig_inject(&rig, MS_PORT_OUTER, burst, n);
		ut_rig_run(&rig);
		got = ut_rig_take(&rig, MS_PORT_INNER, out, RTE_DIM(out));
		for (unsigned int j = 0; j < got; j++) {
			uint32_t idx;

			memcpy(&idx, rte_pktmbuf_mtod_offset(out[j], uint8_t *, 42), 4);
			CU_ASSERT_FATAL(idx < NPKT);
			CU_ASSERT_EQUAL(delivered[idx], 0);	/* never twice */
			delivered[idx] = 1;
		}
		got_ok += got;
		rte_pktmbuf_free_bulk(out, got);
		CU_ASSERT_EQUAL(memcmp(delivered, expect, sizeof(expect)), 0);
		if (memcmp(delivered, expect, sizeof(expect)) != 0)
			break;
	}
	CU_ASSERT_EQUAL(got_ok, exp_ok);
	/* Every drop under the reason the reference gives, exactly. */
	got_replay = ut_drops(&rig, MS_DROP_REPLAY) - r0;
	got_old = ut_drops(&rig, MS_DROP_OUTSIDE_WINDOW) - o0;
	CU_ASSERT_EQUAL(got_replay, exp_replay);
	CU_ASSERT_EQUAL(got_old, exp_old);
	/* The walk covers every outcome. */
	CU_ASSERT(exp_replay > 100 && exp_old > 50 && exp_ok > NEVENTS / 5);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, err, sizeof(err)), 0);
	rte_pktmbuf_free_bulk(frames, NPKT);
}

/*
 * An authentic, never-seen packet far behind a newer one in the same burst:
 * too old, not delivered, and the window is not wedged for what follows.
 */
static void
test_burst_jump(void)
{
	static struct rte_mbuf *frames[NPKT];
	struct rte_mbuf *b[3], *out[8];
	struct ms_sa_spec s;
	char err[256];
	uint64_t old0 = ut_drops(&rig, MS_DROP_OUTSIDE_WINDOW), icv0 = ut_drops(&rig, MS_DROP_ICV_FAIL);
	uint32_t idx;

	make_frames(frames, 1);
	ut_spec(&s, 2, MS_DIR_IN, 0x3001, ks, 1);
	s.replay_window = WIN;
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	b[0] = rte_pktmbuf_copy(frames[2000], rig.dp.mbuf_pool, 0, UINT32_MAX);
	b[1] = rte_pktmbuf_copy(frames[1800], rig.dp.mbuf_pool, 0, UINT32_MAX);
	ut_rig_inject(&rig, MS_PORT_OUTER, b, 2);
	ut_rig_run(&rig);
	b[0] = rte_pktmbuf_copy(frames[2001], rig.dp.mbuf_pool, 0, UINT32_MAX);
	ut_rig_inject(&rig, MS_PORT_OUTER, b, 1);
	ut_rig_run(&rig);
	CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, out, 8), 2);
	memcpy(&idx, rte_pktmbuf_mtod_offset(out[0], uint8_t *, 42), 4);
	CU_ASSERT_EQUAL(idx, 2000);
	memcpy(&idx, rte_pktmbuf_mtod_offset(out[1], uint8_t *, 42), 4);
	CU_ASSERT_EQUAL(idx, 2001);
	rte_pktmbuf_free_bulk(out, 2);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_OUTSIDE_WINDOW), old0 + 1);
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_ICV_FAIL), icv0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, err, sizeof(err)), 0);
	rte_pktmbuf_free_bulk(frames, NPKT);
}

static void
test_naive(void)
{
	run_against_naive(1);
}

static void
test_naive_esn_wrap(void)
{
	/* Packets straddle 2^32: the low 32 bits on the wire wrap to 0. */
	run_against_naive((1ULL << 32) - NPKT / 2);
}

/*
 * The ESN high half, checked by the independent ESP (OpenSSL, ut_pkt.c)
 * rather than by the data plane opening what it sealed: frames sealed by
 * the data plane across 2^32 open only with the right high half in the
 * AAD, and frames sealed independently across 2^32 are delivered by the
 * data plane, one with the wrong high half refused.
 */
#define ESN_BASE ((1ULL << 32) - 4)
#define ESN_N 8

static void
esn_sealed_by_dp(struct rte_mbuf **frames)
{
	uint8_t inner[2048];
	uint32_t ilen, spi, seq, idx;

	for (unsigned int i = 0; i < ESN_N; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(frames[i], const uint8_t *);
		uint64_t sqn = ESN_BASE + i;

		CU_ASSERT_EQUAL(ut_esp_open(f, frames[i]->pkt_len, ks, (uint32_t)(sqn >> 32), inner,
					    &ilen, &spi, &seq), 0);
		CU_ASSERT_EQUAL(seq, (uint32_t)sqn);
		memcpy(&idx, inner + 28, sizeof(idx));
		CU_ASSERT_EQUAL(idx, i);
		/* the other high half: the ICV covers it */
		CU_ASSERT_EQUAL(ut_esp_open(f, frames[i]->pkt_len, ks, (uint32_t)(sqn >> 32) ^ 1,
					    inner, &ilen, &spi, &seq), -1);
	}
}

static void
esn_inject(uint64_t sqn, uint32_t idx)
{
	struct rte_mbuf *f = ut_frame_udp4(rig.dp.mbuf_pool, UT_HOST_A, UT_HOST_B, 1, 2,
					   (const uint8_t *)&idx, sizeof(idx));
	struct rte_mbuf *m = ut_esp_seal(rig.dp.mbuf_pool, ks, 0x3002, sqn,
					 rte_pktmbuf_mtod_offset(f, uint8_t *, 14), f->pkt_len - 14,
					 IPPROTO_IPIP, 2, false);

	rte_pktmbuf_free(f);
	ut_rig_inject(&rig, MS_PORT_OUTER, &m, 1);
	ut_rig_run(&rig);
}

static void
esn_opened_by_dp(void)
{
	struct ms_sa_spec s;
	struct rte_mbuf *out[4];
	char err[256];
	uint64_t icv0 = ut_drops(&rig, MS_DROP_ICV_FAIL);
	uint32_t idx;

	ut_spec(&s, 3, MS_DIR_IN, 0x3002, ks, ESN_BASE);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	for (uint32_t i = 0; i < ESN_N; i++) {
		if (i == ESN_N / 2 + 1)		/* past the wrap, sealed with high half 0 */
			esn_inject((uint32_t)(ESN_BASE + i), 1000);
		esn_inject(ESN_BASE + i, i);
		CU_ASSERT_EQUAL_FATAL(ut_rig_take(&rig, MS_PORT_INNER, out, 4), 1);
		memcpy(&idx, rte_pktmbuf_mtod_offset(out[0], uint8_t *, 42), sizeof(idx));
		CU_ASSERT_EQUAL(idx, i);
		rte_pktmbuf_free(out[0]);
	}
	CU_ASSERT_EQUAL(ut_drops(&rig, MS_DROP_ICV_FAIL), icv0 + 1);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 3, err, sizeof(err)), 0);
}

static void
test_esn_independent(void)
{
	static struct rte_mbuf *frames[NPKT];

	make_frames(frames, ESN_BASE);
	esn_sealed_by_dp(frames);
	rte_pktmbuf_free_bulk(frames, NPKT);
	esn_opened_by_dp();
}

static void
test_esn_reconstruct(void)
{
	const uint64_t hi = 1ULL << 32;

	CU_ASSERT_EQUAL(ms_replay_esn(100, 101), 101);
	CU_ASSERT_EQUAL(ms_replay_esn(100, 50), 50);
	CU_ASSERT_EQUAL(ms_replay_esn(5000, 3900), 3900);	/* old stays old */
	/* top just past a wrap: numbers just below it belong to the old subspace */
	CU_ASSERT_EQUAL(ms_replay_esn(hi + 5, 0xfffffff0u), 0xfffffff0u);
	CU_ASSERT_EQUAL(ms_replay_esn(hi + 5, 6), hi + 6);
	/* top just before a wrap: small numbers are the next subspace */
	CU_ASSERT_EQUAL(ms_replay_esn(hi - 3, 2), hi + 2);
	CU_ASSERT_EQUAL(ms_replay_esn(hi - 3, 0xfffffff0u), 0xfffffff0u);
	CU_ASSERT_EQUAL(ms_replay_esn(3 * hi + 7, 0x7fffffffu), 3 * hi + 0x7fffffffu);
	/* behind the very start: no such number */
	CU_ASSERT_EQUAL(ms_replay_esn(5, 0xffffff00u), 0);
	CU_ASSERT(ms_replay_too_old(1000, 0, 64));
	CU_ASSERT(ms_replay_too_old(1000, 936, 64));
	CU_ASSERT(!ms_replay_too_old(1000, 937, 64));
}

/*
 * The window structure alone: 200,000 random events per window size, every
 * size edge. Jumps beyond the whole bitmap move the top about 46 numbers an
 * event on average, so the reference's set spans 2^24 numbers (a bitmap).
 */
#define WS_EVENTS 200000
#define WS_SPAN (1u << 24)

static bool
ws_seen(const uint64_t *seen, uint64_t sqn)
{
	return seen[sqn / 64] >> (sqn % 64) & 1;
}

static uint64_t
ws_next(uint64_t cursor, uint32_t win)
{
	uint32_t c = rnd(100);

	if (c < 50)
		return cursor + rnd(3);
	if (c < 90)
		return cursor > win + 80 ? cursor - rnd(win + 80) : rnd(64);
	if (c < 99)
		return cursor > 4 ? cursor - rnd(4) : cursor;
	return cursor + rnd(9000);	/* beyond the whole bitmap */
}

/*
 * base: the window starts with top = base (an SA installed with seq_start
 * base + 1); 2^40 puts the slots' 32-bit block tags past their own wrap.
 */
static void
window_struct(uint64_t base)
{
	static const uint32_t wins[] = { 64, 65, 1024, 4095, 4096 };
	static struct ms_replay r;
	static uint64_t seen[WS_SPAN / 64];

	for (unsigned int w = 0; w < RTE_DIM(wins); w++) {
		uint64_t top = base, cursor = 0, errors = 0;
		int e;

		ms_replay_init(&r, base);
		memset(seen, 0, sizeof(seen));
		for (e = 0; e < WS_EVENTS; e++) {
			uint64_t x = ws_next(cursor, wins[w]), sqn = base + x;
			enum ms_replay_verdict want, got;

			if (x >= WS_SPAN)
				break;
			if (x > cursor)
				cursor = x;
			if (sqn == 0 || sqn + wins[w] <= top)
				want = MS_REPLAY_OLD;
			else if (ws_seen(seen, x))
				want = MS_REPLAY_DUP;
			else
				want = MS_REPLAY_OK;
			got = ms_replay_update(&r, sqn, wins[w]);
			errors += got != want;
			if (want == MS_REPLAY_OK) {
				seen[x / 64] |= 1ULL << (x % 64);
				if (sqn > top)
					top = sqn;
			}
		}
		CU_ASSERT_EQUAL(e, WS_EVENTS);	/* every event, as the name says */
		CU_ASSERT_EQUAL(errors, 0);
		CU_ASSERT_EQUAL(r.top, top);
	}
}

static void
test_window_struct(void)
{
	window_struct(0);
	window_struct(1ULL << 40);
	window_struct((1ULL << 32) - 3000);
}

/*
 * Two threads record the same numbers at once, each in its own slightly
 * shuffled order (as two workers that both receive packets of one SA):
 * every number must be accepted exactly once, by one of them, and the
 * other must see it as a replay (or, far behind, as too old).
 */
#define MT_NUMS 300000u
#define MT_WIN 1024u
#define MT_JITTER 16u

struct mt_arg {
	struct ms_replay *r;
	uint8_t *ok;		/* per number: how many times accepted */
	uint64_t base;
	uint32_t seed;
	uint32_t dup, old;
	pthread_barrier_t *go;
	uint32_t *done, *other;	/* numbers this thread and the other have passed */
};

static void *
mt_worker(void *p)
{
	struct mt_arg *a = p;
	uint32_t s = a->seed;

	pthread_barrier_wait(a->go);
	for (uint32_t blk = 0; blk < MT_NUMS; blk += MT_JITTER) {
		uint32_t idx[MT_JITTER], n = RTE_MIN(MT_JITTER, MT_NUMS - blk);

		/*
		 * Stay within one block of the other, so that both record the
		 * same numbers at the same time: spin a little, then yield (a
		 * loaded machine may run both threads on one core).
		 */
		for (uint32_t spin = 0; blk > __atomic_load_n(a->other, __ATOMIC_ACQUIRE) + MT_JITTER;
		     spin++)
			if (spin > 2000)
				sched_yield();

		for (uint32_t i = 0; i < n; i++)
			idx[i] = blk + i;
		for (uint32_t i = n - 1; i > 0; i--) {	/* Fisher-Yates, xorshift */
			uint32_t j, t;

			s ^= s << 13; s ^= s >> 17; s ^= s << 5;
			j = s % (i + 1);
			t = idx[i]; idx[i] = idx[j]; idx[j] = t;
		}
		for (uint32_t i = 0; i < n; i++) {
			switch (ms_replay_update(a->r, a->base + idx[i], MT_WIN)) {
			case MS_REPLAY_OK:
				__atomic_fetch_add(&a->ok[idx[i]], 1, __ATOMIC_RELAXED);
				break;
			case MS_REPLAY_DUP:
				a->dup++;
				break;
			case MS_REPLAY_OLD:
				a->old++;
				break;
			}
		}
		__atomic_store_n(a->done, blk + n, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void
test_window_two_threads(void)
{
	static const uint64_t bases[] = { 0, (1ULL << 32) - MT_NUMS / 2 };
	static struct ms_replay r;
	static uint8_t ok[MT_NUMS];

	for (unsigned int b = 0; b < RTE_DIM(bases); b++) {
		pthread_barrier_t go;
		pthread_attr_t attr;
		cpu_set_t cpus;
		pthread_t t[2];
		struct mt_arg a[2];
		uint32_t once = 0, twice = 0, never = 0, done[2] = { 0, 0 };

		ms_replay_init(&r, bases[b]);
		memset(ok, 0, sizeof(ok));
		pthread_barrier_init(&go, NULL, 2);
		/* EAL pinned this thread to one core; the two must run side by side. */
		CPU_ZERO(&cpus);
		for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
			CPU_SET(c, &cpus);
		pthread_attr_init(&attr);
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
		for (int i = 0; i < 2; i++) {
			a[i] = (struct mt_arg){ .r = &r, .ok = ok, .base = bases[b] + 1,
						.seed = 0x9e3779b9u * (uint32_t)(i + 1 + 2 * b), .go = &go,
						.done = &done[i], .other = &done[1 - i] };
			CU_ASSERT_FATAL(pthread_create(&t[i], &attr, mt_worker, &a[i]) == 0);
		}
		pthread_attr_destroy(&attr);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&go);
		for (uint32_t i = 0; i < MT_NUMS; i++) {
			once += ok[i] == 1;
			twice += ok[i] > 1;
			never += ok[i] == 0;
		}
		printf("\n    two threads from %" PRIu64 ": %u accepted once, %u twice, %u never; "
		       "replays %u + %u, too old %u + %u", bases[b] + 1, once, twice, never,
		       a[0].dup, a[1].dup, a[0].old, a[1].old);
		CU_ASSERT_EQUAL(twice, 0);
		CU_ASSERT_EQUAL(never, 0);
		CU_ASSERT_EQUAL(a[0].dup + a[1].dup + a[0].old + a[1].old, MT_NUMS);
		CU_ASSERT_EQUAL(r.top, bases[b] + MT_NUMS);
	}
}

static const CU_TestInfo tests[] = {
	{ "ESN reconstruction and window edges", test_esn_reconstruct },
	{ "window vs naive: 200,000 events per size 64..4096 from 3 starts, jumps past the bitmap", test_window_struct },
	{ "window from two threads at once: each number accepted exactly once", test_window_two_threads },
	{ "old authentic packet behind a newer one in one burst", test_burst_jump },
	{ "random arrivals vs naive reference", test_naive },
	{ "random arrivals across the 2^32 ESN wrap vs naive", test_naive_esn_wrap },
	{ "ESN high half across 2^32, both ways, vs independent ESP", test_esn_independent },
	CU_TEST_INFO_NULL,
};

void
ut_suite_replay(void)
{
	tl_add_tests(ut_rig_suite("replay", &rig, ks), tests);
}
