/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_PORT_H
#define MS_PORT_H

/* Ethernet port set-up: any ethdev (vfio-pci NIC, af_packet, memif, tap, ring). */
#include <rte_mempool.h>

#include "ms_dp.h"

/* Port name EAL gives a device string: "net_x0,iface=y" -> "net_x0"; PCI stays. */
void ms_port_devname(const char *device, char *name, size_t len);
/* True if device is a vdev spec (net_...), false for a bus address. */
bool ms_port_is_vdev(const char *device);

/*
 * Configure (not start) port with nq RX/TX queue pairs; with rx_intr, with
 * RX interrupts if the driver takes them (port->rx_intr says).
 */
int ms_port_setup(struct ms_port *port, const struct ms_port_conf *pc, uint16_t nq, bool rx_intr,
		  struct rte_mempool *pool, int socket, char *err, unsigned int errlen);
int ms_port_start(struct ms_port *port, char *err, unsigned int errlen);
void ms_port_close(struct ms_port *port);

#endif
