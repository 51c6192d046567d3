/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_PATH_H
#define MS_PATH_H

/*
 * The packet paths of a worker. Each burst function consumes every mbuf it
 * is given: sent, handed on, or dropped and counted.
 *
 *   inner RX -> ms_outbound_burst -> [classify, seal prepare] -> crypto
 *   outer RX -> ms_inbound_burst  -> [check, SPI, open prepare] -> crypto
 *   crypto   -> ms_crypto_drain   -> [lib/ipsec process, finish] -> TX
 */
#include <rte_crypto.h>

#include "ms_dp.h"

void ms_outbound_burst(struct ms_worker *w, struct rte_mbuf **pkts, uint16_t n);
void ms_inbound_burst(struct ms_worker *w, struct rte_mbuf **pkts, uint16_t n);
/* Dequeue and finish one burst of crypto ops; returns how many. */
unsigned int ms_crypto_drain(struct ms_worker *w);

/*
 * Per-SA steps, exposed for the unit tests. Prepare returns how many packets
 * (at the front of mb) got crypto ops (at the front of cop); the rest are
 * dropped and counted. Process returns how many (at the front) are good.
 */
uint16_t ms_out_prepare(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb,
			uint16_t n, struct rte_crypto_op **cop);
uint16_t ms_in_prepare(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb,
		       uint16_t n, struct rte_crypto_op **cop);
uint16_t ms_sa_process(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb,
		       uint16_t n);

/* Enqueue ops (with their mbufs) on the worker's queue pair; failures dropped. */
void ms_crypto_enqueue(struct ms_worker *w, struct rte_crypto_op **cop, uint16_t n);

typedef uint16_t (*ms_prepare_fn)(struct ms_worker *w, struct ms_sa_rt *rt, struct rte_mbuf **mb,
				  uint16_t n, struct rte_crypto_op **cop);
/*
 * Packets mb[i] for SAs rt[i] (runs of one SA kept in arrival order):
 * crypto ops for all, prepare() per run, one enqueue for the whole burst.
 */
void ms_crypto_submit(struct ms_worker *w, struct rte_mbuf **mb, struct ms_sa_rt **rt,
		      uint16_t n, ms_prepare_fn prepare);

/* Clamp the MSS option of a TCP SYN (l3: IP header, l4off: TCP offset). */
bool ms_mss_clamp(uint8_t *l3, uint32_t len, uint32_t l4off, uint16_t mss_max);

#endif
