/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_COUNTERS_H
#define MS_COUNTERS_H

/*
 * Every counter name, written once. The data plane's counter structs
 * (dataplane/core/ms_stats.h), its control socket replies (dataplane/ctl/
 * ms_ops*.c: migsec-dpctl stats/sa list/ping, which migsec-control parses)
 * and its telemetry (ms_telemetry.c) are generated from these tables; the
 * docs are checked against them (tests/lib/ops_src.py). Where a counter is a
 * struct field, its JSON and telemetry name is the field's name.
 *
 * No DPDK here: control/ includes it too, e.g. for the drop reasons its
 * migration audit counts as tamper or replay (MS_DROP_TAMPER_NAME).
 */

/*
 * Drop reasons: X(enum suffix, name, tamper, meaning). Every dropped packet
 * is counted under exactly one. tamper = 1: a packet for a known SA that is
 * forged, replayed or misdirected, which migsec-control's migration audit
 * sums and reports ("tamper_drops"); 0: load, configuration or plain noise.
 */
#define MS_DROP_REASONS(X) \
	X(L2_UNSUPPORTED, "l2_unsupported", 0, "frame is not IPv4, IPv6 or ARP") \
	X(INNER_MALFORMED, "inner_malformed", 0, "plaintext IP header or length invalid") \
	X(TO_SELF, "to_self", 0, "addressed to the appliance and not ARP/ND") \
	X(LINK_LOCAL, "link_local", 0, "link-local, multicast or broadcast destination") \
	X(NO_POLICY, "no_policy", 0, "matched no SA and the default policy is discard") \
	X(NO_ROUTE, "no_route", 0, "bypass or delivery with no next hop configured") \
	X(TOO_BIG, "too_big", 0, "too big for the outer MTU after ESP; ICMP sent back") \
	X(TOO_BIG_NODF, "too_big_nodf", 0, "too big for the outer MTU and DF not set") \
	X(NO_NEIGHBOR, "no_neighbor", 0, "next hop unresolved and its hold queue full") \
	X(FRAGMENT_UNCOVERED, "fragment_uncovered", 0, "inner fragment without ports that a port-limited SA could own and no SA covers") \
	X(SEAL_PREPARE, "seal_prepare", 0, "no room in the mbuf to add ESP") \
	X(SEQ_EXHAUSTED, "seq_exhausted", 0, "outbound SA reached its last sequence number (2^63 - 1)") \
	X(CRYPTO_ENQUEUE, "crypto_enqueue", 0, "crypto queue pair refused the operation (full, stopped, failed)") \
	X(CRYPTO_FAILED, "crypto_failed", 0, "crypto device failed an outbound operation") \
	X(CRYPTO_LOST, "crypto_lost", 0, "crypto device never returned the operation (written off)") \
	X(OUTER_MALFORMED, "outer_malformed", 0, "outer IP/UDP header, length or checksum invalid") \
	X(OUTER_FRAGMENT, "outer_fragment", 0, "outer packet is an IP fragment") \
	X(OUTER_OPTIONS, "outer_options", 0, "outer IPv4 options or IPv6 extension headers before UDP") \
	X(NOT_ESP, "not_esp", 0, "plaintext on the outer port and the default policy is discard") \
	X(PLAINTEXT_FOR_SA, "plaintext_for_sa", 1, "plaintext on the outer port that an SA covers") \
	X(ESP_MALFORMED, "esp_malformed", 0, "ESP packet too short or misaligned") \
	X(UNKNOWN_SPI, "unknown_spi", 0, "no inbound SA for the SPI") \
	X(PEER_MISMATCH, "peer_mismatch", 1, "known SPI from the wrong outer address or port") \
	X(REPLAY, "replay", 1, "sequence number already received") \
	X(OUTSIDE_WINDOW, "outside_window", 1, "sequence number older than the replay window") \
	X(ICV_FAIL, "icv_fail", 1, "integrity check (ICV) failed") \
	X(BAD_TRAILER, "bad_trailer", 1, "padding or next header invalid after decryption") \
	X(DECAP_MALFORMED, "decap_malformed", 1, "decrypted inner packet malformed") \
	X(SELECTOR_MISMATCH, "selector_mismatch", 1, "decrypted packet outside the SA's selectors") \
	X(SLOWPATH_FULL, "slowpath_full", 0, "ring to the control thread full") \
	X(NO_MBUF, "no_mbuf", 0, "mbuf or crypto op pool empty") \
	X(TX_FULL, "tx_full", 0, "port TX queue full")

/*
 * X for MS_DROP_REASONS that yields `"name",` for the tamper reasons only:
 *   static const char *const tamper[] = { MS_DROP_REASONS(MS_DROP_TAMPER_NAME) NULL };
 */
#define MS_CTR_IF_0(...)
#define MS_CTR_IF_1(...) __VA_ARGS__
#define MS_DROP_TAMPER_NAME(e, name, tamper, help) MS_CTR_IF_ ## tamper(name,)

/* Where a per-worker counter is reported (MS_LCORE_COUNTERS' second column). */
#define MS_REP_TOTAL	1	/* summed over the workers: STATS, /migsec/stats */
#define MS_REP_WORKER	2	/* per worker: STATS "workers", PING "worker_load",
				 * /migsec/workers */

/*
 * The counters every worker (and the control thread) keeps in its own block,
 * struct ms_lcore_stats: X(field, where reported, meaning). The per-port and
 * per-reason counters of that block are below and above.
 */
#define MS_LCORE_COUNTERS(X) \
	X(sealed_pkts, MS_REP_TOTAL, "packets sealed") \
	X(sealed_bytes, MS_REP_TOTAL, "inner bytes sealed") \
	X(opened_pkts, MS_REP_TOTAL, "packets opened and delivered") \
	X(opened_bytes, MS_REP_TOTAL, "inner bytes delivered") \
	X(bypass_pkts, MS_REP_TOTAL, "packets a bypass SA or policy let through") \
	X(bypass_bytes, MS_REP_TOTAL, "bytes a bypass SA or policy let through") \
	X(slowpath_pkts, MS_REP_TOTAL, "packets handed to the control thread") \
	X(icmp_sent, MS_REP_TOTAL, "ICMP errors sent") \
	X(mss_clamped, MS_REP_TOTAL, "TCP SYNs whose MSS was clamped") \
	X(neigh_refused, MS_REP_TOTAL, "ARP/ND MACs not learned: nobody asked for them") \
	X(neigh_conflict, MS_REP_TOTAL, "ARP/ND that claimed another MAC for a resolved neighbour: ignored") \
	X(neigh_evicted, MS_REP_TOTAL, "neighbour entries aged out or evicted for room") \
	X(neigh_full, MS_REP_TOTAL, "resolutions refused: every neighbour entry in use") \
	X(arp_nd_limited, MS_REP_TOTAL, "ARP/ND requests from unknown hosts over the rate limit: not answered") \
	X(busy_cycles, MS_REP_TOTAL | MS_REP_WORKER, "worker loops that moved packets (TSC)") \
	X(io_cycles, MS_REP_TOTAL | MS_REP_WORKER, "of those, inside the ports' RX/TX bursts") \
	X(idle_cycles, MS_REP_TOTAL | MS_REP_WORKER, "worker loops that found nothing, sleeps included") \
	X(sleep_cycles, MS_REP_WORKER, "adaptive or interrupt polling: asleep (part of idle_cycles)") \
	X(sleeps, MS_REP_WORKER, "adaptive or interrupt polling: times it went to sleep") \
	X(wakeups, MS_REP_WORKER, "interrupt polling: sleeps a frame ended (the rest timed out)")

/* Per port (inner, outer) in each block, struct ms_port_ctr: X(field). */
#define MS_PORT_COUNTERS(X) \
	X(rx_pkts) \
	X(rx_bytes) \
	X(tx_pkts) \
	X(tx_bytes)

/*
 * What the port itself lost before any worker saw it, from DPDK's
 * struct rte_eth_stats: X(name, rte_eth_stats field).
 */
#define MS_PORT_ETH_COUNTERS(X) \
	X(rx_missed, imissed) \
	X(rx_errors, ierrors) \
	X(rx_nombuf, rx_nombuf) \
	X(tx_errors, oerrors)

/*
 * What the kernel dropped before a packet-socket or af_xdp port's driver
 * read it (PACKET_STATISTICS tp_drops; XDP full RX rings and invalid RX
 * descriptors), what it moved to another queue (rollovers), and the
 * af_xdp TX descriptors it refused; 0 where a port has no such sockets:
 * X(name). Read by dataplane/setup/ms_kdrops.c.
 */
#define MS_PORT_KERNEL_COUNTERS(X) \
	X(rx_kernel_drops, MS_KD_DROPS) \
	X(rx_kernel_rollovers, MS_KD_ROLLOVERS) \
	X(tx_kernel_drops, MS_KD_TX)

/* Per SA slot in each block, struct ms_sa_stats (and its drops by reason). */
#define MS_SA_COUNTERS(X) \
	X(pkts, "packets sealed (out) or opened (in)") \
	X(bytes, "inner bytes sealed (out) or opened (in)")

/*
 * The appliance summary's fields: X(name, type). type: STR, U64, BOOL or
 * JSON (BOOL and JSON: the control socket only; telemetry has neither).
 * Which of them a report carries, in its order, is that report's list of
 * enum ms_info (dataplane/ctl: PING, STATS, /migsec/info, /migsec/workers);
 * where each value comes from is dataplane/ctl/ms_report.c's SRC_<name>.
 */
#define MS_INFO_FIELDS(X) \
	X(name, STR) \
	X(version, STR) \
	X(workers, U64) \
	X(policy, STR) \
	X(udp_port, U64) \
	X(replay_window, U64) \
	X(crypto_driver, STR) \
	X(poll_mode, STR) \
	X(power, STR) \
	X(paused, BOOL) \
	X(tsc_hz, U64) \
	X(worker_load, JSON) \
	X(sa_count, U64) \
	X(max_sa, U64) \
	X(uptime_s, U64) \
	X(dumpable, BOOL) \
	X(core_limit, JSON) \
	X(mbufs_in_use, U64) \
	X(crypto_ops_in_use, U64) \
	X(sessions_in_use, U64)

#define MS_INFO_ENUM(name, type) MS_INFO_ ## name,
enum ms_info { MS_INFO_FIELDS(MS_INFO_ENUM) MS_INFO_MAX };
#undef MS_INFO_ENUM

#endif
