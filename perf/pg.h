/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PG_H
#define PG_H

/*
 * migsec-pktgen: generator, sink and impairer of migration-like traffic.
 *
 * One process runs one poll loop on one worker lcore; the main lcore only
 * reports (once a second) and stops the loop. Every counter has one writer,
 * the worker; the reporter reads them with relaxed loads. Roles (gen, sink,
 * impair, mirror) are attached to ports and combined in that one loop.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#define PG_PORTS_MAX 4
#define PG_QUEUES_MAX 4
#define PG_ADDRS_MAX 4
#define PG_BURST 32
#define PG_SIZE_MIN 60		/* IPv4 + UDP + struct pg_hdr */
#define PG_SIZE_MAX 9000
#define PG_FLOWS_MAX 65536
#define PG_CTL_MAX 16

/* Relaxed single-writer counter update, readable by the reporter. */
static inline void
pg_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline uint64_t
pg_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* xorshift64*: the impairer's seeded random numbers. */
static inline uint64_t
pg_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

struct pg_port {
	uint16_t id;
	uint16_t nq;
	struct rte_ether_addr mac;
	uint32_t addr[PG_ADDRS_MAX];	/* IPv4 (network order) we answer ARP for */
	unsigned int nb_addr;
	uint64_t arp_in, arp_out, other_in;	/* ARP seen/sent, frames no role wanted */
	uint64_t tx_full;		/* frames the port refused (freed, counted) */
	uint16_t nctl;			/* ARP frames waiting for room on queue 0 */
	struct rte_mbuf *ctl[PG_CTL_MAX];
};

/* Generator settings and state. */
struct pg_gen_conf {
	int port;			/* -1: no generator */
	uint32_t size;			/* IPv4 packet length, bytes */
	uint32_t flows;
	uint64_t pages;			/* pages per flow before the page number wraps */
	double pps;			/* 0: flat out */
	uint64_t count;			/* 0: unbounded */
	double duration;		/* seconds, 0: unbounded */
	uint32_t src, dst, nexthop;	/* IPv4, network order */
	uint16_t dport_base;
	bool have_dmac;
	struct rte_ether_addr dmac;
};

struct pg_gen_stats {
	uint64_t tx_pkts, tx_bytes;	/* bytes: IPv4 packet length */
	uint64_t tx_retry;		/* bursts the port did not fully take (kept, resent) */
	uint64_t no_mbuf;
	uint64_t start_tsc, end_tsc;	/* first and last transmission */
	uint32_t done;			/* count or duration reached */
};

struct pg_hist;

struct pg_sink_stats {
	uint64_t rx_pkts, rx_bytes;	/* valid pages (bytes: IPv4 length) */
	uint64_t unique;		/* first arrivals of a (flow, seq) */
	uint64_t dup;			/* a (flow, seq) seen before */
	uint64_t reordered;		/* arrived after a later one of its flow */
	uint64_t late;			/* older than the duplicate window: not checkable */
	uint64_t corrupt;		/* bad header, length or content */
	uint64_t not_ours;		/* IP frames without a page */
	uint64_t expected;		/* sum over flows of highest seq + 1 */
	uint64_t first_tsc, last_tsc;
};

struct pg_impair_conf {
	int a, b;			/* -1: no impairer */
	uint32_t drop, corrupt, dup, reorder, replay;	/* per million packets */
	uint32_t reorder_gap;		/* packets a reordered one is held back */
	uint32_t replay_gap;		/* packets before a copy is replayed */
	uint32_t delay_us;		/* every packet, on top */
	uint64_t seed;
};

struct pg_impair_stats {
	uint64_t fwd;			/* frames passed on (including copies) */
	uint64_t dropped, corrupted, duplicated, reordered, replayed, delayed;
	uint64_t overflow;		/* held/delayed queue full: passed on at once */
};

/* Everything the loop reads; set up by main() before launch. */
struct pg {
	struct pg_port port[PG_PORTS_MAX];
	unsigned int nb_ports;
	struct rte_mempool *pool;
	uint64_t hz;
	uint32_t stop;			/* set by the main lcore */
	uint32_t gen_done_drain_ms;	/* after the generator is done, wait then stop */

	struct pg_gen_conf gen;
	struct pg_gen_stats gst;
	struct pg_gen *gs;

	int sink_port;			/* -1: no sink */
	uint32_t sink_flows;
	struct pg_sink_stats sst;
	struct pg_sink *ss;
	struct pg_hist *hist;

	struct pg_impair_conf imp;
	struct pg_impair_stats ist;
	struct pg_impair *is;

	int mirror_port;		/* -1: none */
	uint64_t mirrored;

	uint64_t loops_busy, busy_cycles;	/* worker loops that moved packets */
};

/* Packet format (pg_pkt.c). */
struct pg_hdr {
	uint16_t magic;
	uint16_t len;			/* pattern bytes that follow */
	uint32_t flow;
	uint64_t page;
	uint64_t seq;			/* per flow, from 0 */
	uint64_t tsc;			/* sender's TSC at transmission */
} __rte_packed;

#define PG_MAGIC 0x4d50		/* "MP" */
#define PG_HDR_OFF (RTE_ETHER_HDR_LEN + 20 + 8)

void pg_fill(uint8_t *p, uint32_t len, uint32_t flow, uint64_t page);
bool pg_check(const uint8_t *p, uint32_t len, uint32_t flow, uint64_t page);
/* Write a whole frame for (flow, seq) of size bytes of IPv4. */
void pg_build(struct rte_mbuf *m, const struct pg_gen_conf *g, const struct rte_ether_addr *smac,
	      uint32_t flow, uint64_t seq);
/* The page header of a frame, or NULL if it is not one of ours. */
const struct pg_hdr *pg_parse(const struct rte_mbuf *m, uint32_t *iplen);

/* ARP (pg_arp.c). Returns true if m was ARP (consumed). */
bool pg_arp_input(struct pg *pg, struct pg_port *pt, struct rte_mbuf *m,
		  uint32_t want_ip, struct rte_ether_addr *learned, bool *got);
void pg_arp_request(struct pg *pg, struct pg_port *pt, uint32_t sip, uint32_t tip);
/* Transmit all of m on (port, queue); what the port refuses is freed and counted. */
void pg_tx_all(struct pg_port *pt, uint16_t q, struct rte_mbuf **m, uint16_t n);
/*
 * ARP frames go out before anything else: a generator flat out must not
 * starve the neighbour resolution of the device under test. Retried every
 * loop until the port takes them.
 */
void pg_ctl_send(struct pg_port *pt, struct rte_mbuf *m);
void pg_ctl_flush(struct pg_port *pt);

/* Roles; each *_init returns 0 or -errno, each poll returns packets moved. */
int pg_gen_init(struct pg *pg);
unsigned int pg_gen_poll(struct pg *pg);
void pg_gen_assign(struct pg *pg);
void pg_gen_free(struct pg *pg);
int pg_sink_init(struct pg *pg);
void pg_sink_input(struct pg *pg, struct rte_mbuf **m, uint16_t n, uint64_t now);
int pg_impair_init(struct pg *pg);
unsigned int pg_impair_poll(struct pg *pg);
void pg_impair_flush(struct pg *pg);
void pg_mirror_input(struct pg *pg, uint16_t q, struct rte_mbuf **m, uint16_t n);

/* Latency histogram (pg_hist.c): log-linear, cycles in, nanoseconds out. */
struct pg_hist *pg_hist_create(void);
void pg_hist_add(struct pg_hist *h, uint64_t cycles);
uint64_t pg_hist_count(const struct pg_hist *h);
/* q in [0,1]; result in cycles (the bucket's upper bound). */
uint64_t pg_hist_quantile(const struct pg_hist *h, double q);
/* Snapshot for the reporter (relaxed reads of single-writer buckets). */
void pg_hist_copy(const struct pg_hist *h, struct pg_hist *out);
void pg_hist_free(struct pg_hist *h);

/* The worker loop (pg_loop.c). */
int pg_loop(void *arg);

#endif
