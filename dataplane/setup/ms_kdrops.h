/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_KDROPS_H
#define MS_KDROPS_H

/*
 * Losses inside the kernel, before a port's driver saw the packet: a
 * packet-socket port (net_af_packet) reads a ring the kernel fills, and
 * the kernel drops what does not fit while the poller is off its CPU. No
 * ethdev counter shows those (the PMD reports no imissed): they are read
 * here from the sockets themselves (PACKET_STATISTICS tp_drops). A port
 * without such sockets (a NIC, memif, tap, whose drivers count their own)
 * reports 0. An af_xdp port's AF_XDP sockets lose packets the PMD does not
 * count (a full RX ring; its imissed is only their rx_dropped): those are
 * read from the kernel's socket diagnostics (ms_xskdiag.h), with the TX
 * descriptors the kernel refused (tx_kernel_drops).
 *
 * Also counted: packets the kernel gave to another queue than the one
 * their flow hashes to, because that queue's ring was (nearly) full
 * (PACKET_ROLLOVER_STATS: the PMD's fan-out group rolls over). Those
 * arrive out of order with their flow's other packets; a burst of them
 * explains `outside_window` drops no receiver could avoid.
 */
#include <stdint.h>

#include "ms_dp.h"

/* Main lcore, after the port started: find the port's packet sockets. */
void ms_kdrops_attach(struct ms_port *port);
/* Main lcore, when the port closes. */
void ms_kdrops_detach(struct ms_port *port);
enum ms_kd_what { MS_KD_DROPS, MS_KD_ROLLOVERS, MS_KD_TX };

/*
 * The packet socket of queue q of a port with nq queues (a descriptor the
 * PMD owns, readable while a frame waits in its ring), or -1: not a
 * packet-socket port, or not one socket per queue. The PMD opens them in
 * queue order and they are found in descriptor order.
 */
int ms_kdrops_fd(const struct ms_port *port, uint16_t q, uint16_t nq);

/* Control or telemetry thread: kernel drops (or rollovers) since the port started. */
uint64_t ms_kdrops_read(const struct ms_port *port, enum ms_kd_what what);

#endif
