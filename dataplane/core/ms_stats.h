/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_STATS_H
#define MS_STATS_H

/*
 * Counters. Every worker owns its own cache-aligned block (single writer);
 * readers (control socket, telemetry) sum the blocks. Every dropped packet is
 * counted under exactly one reason.
 */
#include <stdint.h>

#include <rte_common.h>

/* X(enum suffix, name, meaning) */
#define MS_DROP_REASONS(X) \
	X(L2_UNSUPPORTED, "l2_unsupported", "frame is not IPv4, IPv6 or ARP") \
	X(INNER_MALFORMED, "inner_malformed", "plaintext IP header or length invalid") \
	X(TO_SELF, "to_self", "addressed to the appliance and not ARP/ND") \
	X(LINK_LOCAL, "link_local", "link-local, multicast or broadcast destination") \
	X(NO_POLICY, "no_policy", "matched no SA and the default policy is discard") \
	X(NO_ROUTE, "no_route", "bypass or delivery with no next hop configured") \
	X(TOO_BIG, "too_big", "too big for the outer MTU after ESP; ICMP sent back") \
	X(TOO_BIG_NODF, "too_big_nodf", "too big for the outer MTU and DF not set") \
	X(NO_NEIGHBOR, "no_neighbor", "next hop unresolved and its hold queue full") \
	X(SEAL_PREPARE, "seal_prepare", "no room in the mbuf to add ESP") \
	X(SEQ_EXHAUSTED, "seq_exhausted", "outbound SA ran out of sequence numbers") \
	X(CRYPTO_ENQUEUE, "crypto_enqueue", "crypto queue pair refused the operation (full, stopped, failed)") \
	X(CRYPTO_FAILED, "crypto_failed", "crypto device failed an outbound operation") \
	X(CRYPTO_LOST, "crypto_lost", "crypto device never returned the operation (written off)") \
	X(OUTER_MALFORMED, "outer_malformed", "outer IP/UDP header, length or checksum invalid") \
	X(OUTER_FRAGMENT, "outer_fragment", "outer packet is an IP fragment") \
	X(OUTER_OPTIONS, "outer_options", "outer IPv4 options or IPv6 extension headers before UDP") \
	X(NOT_ESP, "not_esp", "plaintext on the outer port and the default policy is discard") \
	X(PLAINTEXT_FOR_SA, "plaintext_for_sa", "plaintext on the outer port that an SA covers") \
	X(ESP_MALFORMED, "esp_malformed", "ESP packet too short or misaligned") \
	X(UNKNOWN_SPI, "unknown_spi", "no inbound SA for the SPI") \
	X(PEER_MISMATCH, "peer_mismatch", "known SPI from the wrong outer address or port") \
	X(REPLAY, "replay", "sequence number already received") \
	X(OUTSIDE_WINDOW, "outside_window", "sequence number older than the replay window") \
	X(ICV_FAIL, "icv_fail", "integrity check (ICV) failed") \
	X(BAD_TRAILER, "bad_trailer", "padding or next header invalid after decryption") \
	X(DECAP_MALFORMED, "decap_malformed", "decrypted inner packet malformed") \
	X(SELECTOR_MISMATCH, "selector_mismatch", "decrypted packet outside the SA's selectors") \
	X(HANDOFF_FULL, "handoff_full", "ring to the SA's owning worker full") \
	X(SLOWPATH_FULL, "slowpath_full", "ring to the control thread full") \
	X(NO_MBUF, "no_mbuf", "mbuf or crypto op pool empty") \
	X(TX_FULL, "tx_full", "port TX queue full")

#define MS_DROP_ENUM(e, n, d) MS_DROP_ ## e,
enum ms_drop { MS_DROP_REASONS(MS_DROP_ENUM) MS_DROP_MAX };
#undef MS_DROP_ENUM

enum ms_port_idx { MS_PORT_INNER = 0, MS_PORT_OUTER = 1, MS_PORT_MAX };

struct ms_port_ctr {
	uint64_t rx_pkts, rx_bytes;
	uint64_t tx_pkts, tx_bytes;
};

/* One per worker (and one for the control thread, index nb_workers). */
struct ms_lcore_stats {
	struct ms_port_ctr port[MS_PORT_MAX];
	uint64_t sealed_pkts, sealed_bytes;	/* inner bytes sealed */
	uint64_t opened_pkts, opened_bytes;	/* inner bytes delivered */
	uint64_t bypass_pkts, bypass_bytes;
	uint64_t slowpath_pkts;
	uint64_t icmp_sent;
	uint64_t mss_clamped;
	uint64_t handoff_pkts;
	uint64_t busy_cycles;		/* worker loops that moved packets (TSC) */
	uint64_t io_cycles;		/* of those, inside the ports' RX/TX bursts */
	uint64_t idle_cycles;		/* worker loops that found nothing, sleeps included */
	uint64_t sleep_cycles;		/* adaptive polling: asleep (part of idle_cycles) */
	uint64_t sleeps;		/* adaptive polling: times it went to sleep */
	uint64_t drop[MS_DROP_MAX];
} __rte_cache_aligned;

/* One per SA slot per worker. */
struct ms_sa_stats {
	uint64_t pkts, bytes;		/* sealed (out) or opened (in) */
	uint64_t drop[MS_DROP_MAX];
} __rte_cache_aligned;

struct ms_stats {
	unsigned int nb_blocks;		/* workers + 1 */
	unsigned int max_sa;
	struct ms_lcore_stats *lc;	/* [nb_blocks] */
	struct ms_sa_stats *sa;		/* [nb_blocks * max_sa] */
};

/* Relaxed single-writer add: a plain add, but a defined read for others. */
static inline void
ms_ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline struct ms_sa_stats *
ms_sa_stats(const struct ms_stats *st, unsigned int block, uint32_t slot)
{
	return &st->sa[(size_t)block * st->max_sa + slot];
}

static inline void
ms_count_drop(const struct ms_stats *st, unsigned int block, int32_t slot, enum ms_drop r,
	      uint64_t n)
{
	ms_ctr_add(&st->lc[block].drop[r], n);
	if (slot >= 0)
		ms_ctr_add(&ms_sa_stats(st, block, (uint32_t)slot)->drop[r], n);
}

int ms_stats_init(struct ms_stats *st, unsigned int nb_workers, unsigned int max_sa, int socket);
void ms_stats_free(struct ms_stats *st);
/* Sum of every block. */
void ms_stats_sum(const struct ms_stats *st, struct ms_lcore_stats *out);
void ms_stats_sum_sa(const struct ms_stats *st, uint32_t slot, struct ms_sa_stats *out);
/* Only after an RCU grace period since the slot's SA was unpublished. */
void ms_stats_reset_sa(struct ms_stats *st, uint32_t slot);

const char *ms_drop_name(enum ms_drop r);
const char *ms_drop_help(enum ms_drop r);

#endif
