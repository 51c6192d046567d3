/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The poll loop of one worker lcore: RX burst on both ports, classify and
 * prepare, one crypto enqueue per burst, dequeue, finish, TX burst. No
 * locks, no syscalls, no allocation besides mempools, no logging.
 */
#include <errno.h>

#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "ms_tx.h"
#include "ms_idle.h"
#include "ms_path.h"
#include "ms_worker.h"

/*
 * A worker reports a quiescent state only with no crypto op in flight (ops
 * point at SAs). If ops stay in flight this many loops, it stops taking new
 * packets until they drain, so SA deletion never waits long.
 */
#define QS_FORCE_LOOPS 1024
#define DRAIN_MS 200
/*
 * Back-pressure: a loop takes up to two bursts in (inner, outer) but one
 * dequeue returns one burst. Dequeue until the device has
 * nothing ready (at most DRAIN_BURSTS bursts), and take no new packets
 * while more than INFLIGHT_MAX ops are in flight: the ports' RX rings hold
 * the excess, instead of the crypto queue pair refusing it (counted as
 * crypto_enqueue drops) and starving the other direction.
 */
#define DRAIN_BURSTS 4
#define INFLIGHT_MAX 512

/*
 * Ops still in flight after this many loops and this long (both: a worker
 * preempted for a while has not been waiting) were lost by a failed device.
 * They are written off so that the worker goes on (and reports quiescent
 * states again); the control thread reacts (ms_failover_watch()).
 */
#define LOST_LOOPS (1u << 20)
#define LOST_MS 100

static void
rx_count(struct ms_worker *w, enum ms_port_idx p, struct rte_mbuf **m, uint16_t n)
{
	struct ms_port_ctr *c = &w->dp->stats.lc[w->idx].port[p];
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += m[i]->pkt_len;
	ms_ctr_add(&c->rx_pkts, n);
	ms_ctr_add(&c->rx_bytes, bytes);
}

/* One RX burst from port p (its cycles count as I/O); returns how many. */
static uint16_t
rx_burst(struct ms_worker *w, enum ms_port_idx p, struct rte_mbuf **m)
{
	uint64_t t0 = rte_rdtsc();
	uint16_t n = rte_eth_rx_burst(w->dp->port[p].port_id, (uint16_t)w->idx, m, w->dp->burst);

	w->io_tsc += rte_rdtsc() - t0;
	if (n)
		rx_count(w, p, m, n);
	return n;
}

/* Returns how many packets it took in. */
static unsigned int
poll_ports(struct ms_worker *w)
{
	struct ms_dp *dp = w->dp;
	struct rte_mbuf *m[MS_BURST_MAX];
	unsigned int got = 0;
	uint16_t n;

	n = rx_burst(w, MS_PORT_INNER, m);
	got += n;
	if (n)
		ms_outbound_burst(w, m, n);
	n = rx_burst(w, MS_PORT_OUTER, m);
	got += n;
	if (n)
		ms_inbound_burst(w, m, n);
	if (w->idx == 0) {	/* frames the control thread wants sent */
		n = (uint16_t)rte_ring_sc_dequeue_burst(dp->slow_tx, (void **)m, dp->burst, NULL);
		for (uint16_t i = 0; i < n; i++)
			ms_tx(w, (enum ms_port_idx)ms_meta(m[i])->port, m[i]);
		got += n;
	}
	return got;
}

static void
drain_crypto(struct ms_worker *w)
{
	uint64_t end = rte_get_timer_cycles() + w->dp->tsc_hz * DRAIN_MS / 1000;

	while (w->inflight > 0 && rte_get_timer_cycles() < end)
		ms_crypto_drain(w);
	ms_tx_flush(w, MS_PORT_INNER);
	ms_tx_flush(w, MS_PORT_OUTER);
}

/*
 * One loop. Its cycles count as busy when it moved a packet, idle when it
 * found nothing: busy cycles per packet is the cost of the work itself,
 * whatever else shares the core (the benchmark reports it). Of a busy
 * loop's cycles, those inside the ports' RX and TX bursts also count as
 * io_cycles: on virtual ports they are the copies a NIC's DMA would make.
 */
unsigned int
ms_worker_poll_once(struct ms_worker *w)
{
	struct ms_lcore_stats *st = &w->dp->stats.lc[w->idx];
	uint32_t hold = __atomic_load_n(&w->dp->hold_seq, __ATOMIC_ACQUIRE);
	uint32_t paused = __atomic_load_n(&w->dp->paused, __ATOMIC_ACQUIRE);
	uint64_t t0 = rte_rdtsc(), t1;
	unsigned int work = 0;

	/*
	 * lost_hold: this worker wrote ops off. An op its device hands back
	 * late may point at an SA freed since: it touches neither the device
	 * nor new packets until the control thread has stopped the device (or
	 * its failed primary), which makes such ops unreachable.
	 */
	if (likely(!__atomic_load_n(&w->lost_hold, __ATOMIC_ACQUIRE))) {
		if (!(hold & 1) && !paused &&
		    (w->inflight == 0 ||
		     (w->since_qs < QS_FORCE_LOOPS && w->inflight <= INFLIGHT_MAX)))
			work = poll_ports(w);
		for (unsigned int i = 0; i < DRAIN_BURSTS; i++) {
			unsigned int n = ms_crypto_drain(w);

			work += n;
			if (n < w->dp->burst)
				break;
		}
	}
	ms_tx_flush(w, MS_PORT_INNER);
	ms_tx_flush(w, MS_PORT_OUTER);
	t1 = rte_rdtsc();
	/* read by other threads too (tests wait for a whole loop) */
	__atomic_store_n(&w->loop_tsc, t1, __ATOMIC_RELEASE);
	if (work) {
		ms_ctr_add(&st->busy_cycles, t1 - t0);
		ms_ctr_add(&st->io_cycles, w->io_tsc);
	} else {
		ms_ctr_add(&st->idle_cycles, t1 - t0);
	}
	w->io_tsc = 0;
	if (w->inflight == 0) {
		rte_rcu_qsbr_quiescent(w->dp->rcu, w->idx);
		w->since_qs = 0;
		w->zero_tsc = t0;
		if (hold & 1)	/* every op this worker enqueued is back */
			__atomic_store_n(&w->hold_ack, hold, __ATOMIC_RELEASE);
	} else if (unlikely(++w->since_qs > LOST_LOOPS) &&
		   t0 - w->zero_tsc > w->dp->tsc_hz / 1000 * LOST_MS) {
		/* their mbufs stay with the device: it may never give them back */
		ms_count_drop(&w->dp->stats, w->idx, -1, MS_DROP_CRYPTO_LOST, w->inflight);
		w->inflight = 0;
		__atomic_store_n(&w->lost_hold, 1, __ATOMIC_RELEASE);
	}
	return work;
}

int
ms_worker_main(void *arg)
{
	struct ms_worker *w = arg;
	struct ms_dp *dp = w->dp;
	struct ms_idle idle;

	ms_idle_init(w, &idle, &dp->conf->poll, dp->tsc_hz);
	rte_rcu_qsbr_thread_online(dp->rcu, w->idx);
	if (idle.mode != MS_POLL_BUSY) {
		while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
			unsigned int work = ms_worker_poll_once(w);

			ms_idle_after_poll(w, &idle, work, w->loop_tsc);
		}
	} else {
		while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED))
			ms_worker_poll_once(w);
	}
	drain_crypto(w);
	ms_idle_fini(w, &idle);
	rte_rcu_qsbr_thread_offline(dp->rcu, w->idx);
	return 0;
}

int
ms_workers_hold(struct ms_dp *dp, unsigned int timeout_ms)
{
	uint32_t seq = (__atomic_load_n(&dp->hold_seq, __ATOMIC_RELAXED) + 1) | 1;
	uint64_t end = rte_get_timer_cycles() + dp->tsc_hz * timeout_ms / 1000;

	__atomic_store_n(&dp->hold_seq, seq, __ATOMIC_RELEASE);
	while (rte_get_timer_cycles() < end) {
		unsigned int held = 0;

		for (unsigned int i = 0; i < dp->nb_workers; i++)
			held += __atomic_load_n(&dp->workers[i].hold_ack, __ATOMIC_ACQUIRE) == seq;
		if (held == dp->nb_workers)
			return 0;
		rte_delay_us_sleep(100);
	}
	ms_workers_release(dp);
	return -ETIMEDOUT;
}

void
ms_workers_release(struct ms_dp *dp)
{
	uint32_t seq = __atomic_load_n(&dp->hold_seq, __ATOMIC_RELAXED);

	__atomic_store_n(&dp->hold_seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}
