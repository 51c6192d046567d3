/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_XSKDIAG_H
#define MS_XSKDIAG_H

/*
 * The AF_XDP sockets of this network namespace, from the kernel's socket
 * diagnostics (NETLINK_SOCK_DIAG, XDP_SHOW_INFO | XDP_SHOW_STATS): inode,
 * interface, and their XDP statistics, without a call on any socket's own
 * descriptor (those belong to the af_xdp PMD, and to threads that may
 * close them).
 */
#include <stdint.h>

struct ms_xsk_stat {
	unsigned long ino;
	uint32_t ifindex;
	uint64_t rx_dropped;	/* the af_xdp PMD reports these as imissed */
	uint64_t rx_invalid;
	uint64_t rx_full;	/* the RX ring was full: lost */
	uint64_t fill_empty;	/* the fill ring was empty (the loss is in rx_dropped) */
	uint64_t tx_invalid;	/* TX descriptors the kernel refused: not sent */
};

/*
 * Up to max sockets on interface ifindex into out; their count, or -1 when
 * the kernel has no AF_XDP socket diagnostics (CONFIG_XDP_SOCKETS_DIAG).
 */
int ms_xsk_diag(uint32_t ifindex, struct ms_xsk_stat *out, unsigned int max);

#endif
