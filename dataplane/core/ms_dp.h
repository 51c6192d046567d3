/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_DP_H
#define MS_DP_H

/*
 * The data plane's shared context. Written during start-up by main(), then
 * read-only for workers; mutable state lives in the per-worker blocks, the
 * counters (single writer each) and the SA database (RCU).
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ms_conf.h"
#include "ms_neigh.h"
#include "ms_sadb.h"
#include "ms_stats.h"

#define MS_BURST_MAX 128
#define MS_TXQ_MAX 256

struct ms_kdrops;

/* Queues of one port whose packet socket a worker can wait on. */
#define MS_WAKE_FD_MAX 16

struct ms_port {
	uint16_t port_id;
	bool tx_udp_cksum;		/* NIC computes UDP checksums (IPv6 outer) */
	struct rte_ether_addr mac;
	const struct ms_port_conf *conf;	/* control thread only (snapshot: struct ms_hop) */
	char name[64];
	struct ms_kdrops *kd;		/* kernel-side drops (setup/ms_kdrops.c) or NULL */
	/* poll.mode interrupt (fast/ms_intr.h): how a worker waits on queue q */
	bool rx_intr;			/* configured with RX interrupts (rte_eth_dev_rx_intr_*) */
	uint16_t nb_q;
	int wake_fd[MS_WAKE_FD_MAX];	/* queue q's packet socket, readable when a frame waits; or -1 */
};

/* Slow-path work handed from workers to the control thread. */
enum ms_slow_kind {
	MS_SLOW_ARP = 1,	/* ARP frame received */
	MS_SLOW_ND,		/* IPv6 neighbour discovery received */
	MS_SLOW_HOLD,		/* ready packet whose next hop is unresolved */
	MS_SLOW_TOO_BIG,	/* send ICMP "too big" for this packet */
};

/* Per-packet metadata in each mbuf's private area. */
struct ms_mbuf_meta {
	uint64_t sqn;		/* inbound: 64-bit ESN, as authenticated in the AAD */
	uint32_t seq;		/* inbound: ESP sequence number on the wire (low 32 bits) */
	uint32_t inner_len;	/* outbound: inner bytes sealed */
	uint8_t slow_kind;
	uint8_t port;		/* enum ms_port_idx the packet came from / goes to */
	uint16_t mtu;		/* MS_SLOW_TOO_BIG: MTU to report */
	int32_t sa_slot;	/* MS_SLOW_HOLD: counters to charge, or -1 */
	struct ms_ip nh;	/* MS_SLOW_HOLD: next hop to resolve */
};

#define MS_MBUF_PRIV_SIZE RTE_ALIGN(sizeof(struct ms_mbuf_meta), RTE_MBUF_PRIV_ALIGN)

static inline struct ms_mbuf_meta *
ms_meta(struct rte_mbuf *m)
{
	return (struct ms_mbuf_meta *)rte_mbuf_to_priv(m);
}

struct ms_dp;

struct ms_txq {
	uint16_t n;
	struct rte_mbuf *m[MS_TXQ_MAX];
};

struct ms_worker {
	struct ms_dp *dp;
	unsigned int idx;		/* worker index = queue id = crypto qp = RCU id */
	unsigned int lcore;
	uint32_t inflight;		/* crypto ops enqueued, not yet dequeued */
	uint32_t since_qs;		/* loops since the last quiescent report */
	uint32_t hold_ack;		/* dp->hold_seq seen with nothing in flight */
	uint64_t zero_tsc;		/* last loop with nothing in flight */
	uint32_t lost_hold;		/* wrote ops off: no crypto until the control thread acts */
	uint64_t loop_tsc;		/* TSC at the end of the last loop (release store) */
	uint64_t io_tsc;		/* this loop's TSC inside RX/TX bursts */
	struct ms_txq tx[MS_PORT_MAX];
} __rte_cache_aligned;

enum ms_pmgmt { MS_PMGMT_OFF = 0, MS_PMGMT_PAUSE, MS_PMGMT_MONITOR };

struct ms_dp {
	/*
	 * Control thread (and set-up) only. What workers need of it is decided
	 * into each SA database snapshot (struct ms_path_rt) or SA (struct
	 * ms_sa_rt) when that is built.
	 */
	const struct ms_conf *conf;
	struct ms_port port[MS_PORT_MAX];
	uint8_t cdev_id;
	int socket;
	uint16_t burst;
	struct rte_mempool *mbuf_pool;
	struct rte_mempool *cop_pool;
	struct rte_mempool *sess_pool;
	struct rte_rcu_qsbr *rcu;	/* threads: workers 0..n-1, then telemetry */
	struct ms_sadb sadb;
	struct ms_neigh neigh;
	struct ms_stats stats;
	struct rte_ring *slow_rx;	/* MP/SC: workers -> control thread */
	struct rte_ring *slow_tx;	/* SP/SC: control thread -> worker 0 -> ports */
	int slow_tx_wake;		/* poll.mode interrupt: eventfd worker 0 waits on, or -1 */
	unsigned int nb_workers;
	struct ms_worker *workers;
	uint32_t stop;			/* set once, read by workers */
	uint32_t hold_seq;		/* odd: workers hold (control thread writes) */
	uint32_t paused;		/* workers take no packets (MS_CTL_PAUSE) */
	uint64_t tsc_hz;
	enum ms_pmgmt pmgmt;		/* lib/power on the workers' RX queues */
};

/* Control-thread block of counters: the one after the workers'. */
static inline unsigned int
ms_ctl_block(const struct ms_dp *dp)
{
	return dp->nb_workers;
}

struct ms_cdev;
struct ms_profile;

/*
 * Everything before the ports start: on failure a message is in err and
 * ms_dp_teardown() releases whatever was built. Needs the EAL; workers are
 * the EAL's worker lcores.
 */
int ms_dp_setup(struct ms_dp *dp, const struct ms_conf *conf, const struct ms_profile *prof,
		struct ms_cdev *cd, char *err, unsigned int errlen);
/* Wipes every SA, frees every packet, closes ports and the crypto device. */
void ms_dp_teardown(struct ms_dp *dp, struct ms_cdev *cd);

#endif
