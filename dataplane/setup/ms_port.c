/* SPDX-License-Identifier: BSD-3-Clause */
/* The inner and outer ports: set-up, start and close, on the main lcore. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "ms_log.h"
#include "ms_kdrops.h"
#include "ms_port.h"

bool
ms_port_is_vdev(const char *device)
{
	return strncmp(device, "net_", 4) == 0 || strncmp(device, "eth_", 4) == 0;
}

void
ms_port_devname(const char *device, char *name, size_t len)
{
	size_t n = strcspn(device, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, device, n);
	name[n] = '\0';
}

/* RSS over the workers' queues, UDP checksum and fast free where the device offers them. */
static void
choose_offloads(struct ms_port *port, const struct rte_eth_dev_info *info, uint16_t nq,
		struct rte_eth_conf *conf)
{
	if (nq > 1 && info->flow_type_rss_offloads != 0) {
		conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf->rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP |
						     RTE_ETH_RSS_TCP) & info->flow_type_rss_offloads;
	}
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) {
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		port->tx_udp_cksum = true;
	}
	if (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
}

/*
 * The ethdev refuses an MTU whose frame exceeds the driver's max_rx_pktlen.
 * A NIC then truly cannot take the frames: refuse to start. A virtual port
 * over a kernel interface may report less than it carries (net_af_packet
 * says 1518 bytes yet moves 9000-byte frames when its blocksz/framesz hold
 * them): the kernel side of the link sets the real limit there, so leave
 * the driver's MTU alone, say what was set, and carry pc->mtu.
 */
static int
set_mtu(const struct ms_port *port, const struct ms_port_conf *pc,
	const struct rte_eth_dev_info *info, char *err, unsigned int errlen)
{
	uint32_t frame = pc->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	uint16_t now = 0;
	int rc;

	if (pc->mtu > info->max_mtu || frame > info->max_rx_pktlen) {
		if (!ms_port_is_vdev(pc->device)) {
			snprintf(err, errlen, "port %s takes frames of at most %u bytes (MTU %u): "
				 "mtu = %u does not fit; lower it or use a NIC that takes jumbo "
				 "frames", port->name, info->max_rx_pktlen, info->max_mtu, pc->mtu);
			return -EINVAL;
		}
		(void)rte_eth_dev_get_mtu(port->port_id, &now);
		MS_LOG(NOTICE, "port %s: its driver takes frames of at most %u bytes, so its "
		       "ethdev MTU stays %u; migsec carries packets up to MTU %u as configured "
		       "(the kernel side of the link sets the real limit)", port->name,
		       info->max_rx_pktlen, now, pc->mtu);
		return 0;
	}
	rc = rte_eth_dev_set_mtu(port->port_id, (uint16_t)pc->mtu);
	if (rc != 0 && rc != -ENOTSUP) {
		snprintf(err, errlen, "port %s: cannot set MTU %u: %s", port->name, pc->mtu,
			 strerror(-rc));
		return rc;
	}
	return 0;
}

int
ms_port_setup(struct ms_port *port, const struct ms_port_conf *pc, uint16_t nq, bool rx_intr,
	      struct rte_mempool *pool, int socket, char *err, unsigned int errlen)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t rxd = (uint16_t)pc->rx_desc, txd = (uint16_t)pc->tx_desc;
	int rc;

	port->conf = pc;
	ms_port_devname(pc->device, port->name, sizeof(port->name));
	rc = rte_eth_dev_get_port_by_name(port->name, &port->port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %s (%s) not found: %s", port->name, pc->device,
			 ms_port_is_vdev(pc->device) ? "check the vdev arguments (interface name?)"
						     : "is the NIC bound to vfio-pci (dpdk-devbind.py)?");
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port->port_id, &info);
	if (rc != 0) {
		snprintf(err, errlen, "port %s: cannot read device info", port->name);
		return rc;
	}
	if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
		snprintf(err, errlen, "port %s supports %u RX / %u TX queues; %u workers need one "
			 "each (for af_packet add qpairs=%u to the device string)", port->name,
			 info.max_rx_queues, info.max_tx_queues, nq, nq);
		return -ENOSPC;
	}
	choose_offloads(port, &info, nq, &conf);
	port->nb_q = nq;
	/*
	 * The ethdev has no capability flag for RX interrupts: ask, and
	 * configure without them if the driver refuses (the worker then waits
	 * on the queue's packet socket or its timeout).
	 */
	conf.intr_conf.rxq = rx_intr;
	rc = rte_eth_dev_configure(port->port_id, nq, nq, &conf);
	if (rc != 0 && rx_intr) {
		MS_LOG(INFO, "port %s: no RX interrupts (%s)", port->name, strerror(-rc));
		conf.intr_conf.rxq = 0;
		rc = rte_eth_dev_configure(port->port_id, nq, nq, &conf);
	}
	port->rx_intr = rc == 0 && conf.intr_conf.rxq;
	if (rc != 0) {
		snprintf(err, errlen, "port %s: configure failed: %s", port->name, strerror(-rc));
		return rc;
	}
	if ((rc = set_mtu(port, pc, &info, err, errlen)) != 0)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &rxd, &txd);
	for (uint16_t q = 0; rc == 0 && q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port->port_id, q, rxd, (unsigned int)socket, NULL, pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port->port_id, q, txd, (unsigned int)socket, NULL);
	}
	if (rc != 0) {
		snprintf(err, errlen, "port %s: queue set-up failed: %s", port->name, strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(port->port_id, &port->mac);
	return 0;
}

int
ms_port_start(struct ms_port *port, char *err, unsigned int errlen)
{
	int rc = rte_eth_dev_start(port->port_id);

	if (rc != 0) {
		snprintf(err, errlen, "port %s: start failed: %s", port->name, strerror(-rc));
		return rc;
	}
	/* ND goes to solicited-node multicast groups. */
	rc = rte_eth_allmulticast_enable(port->port_id);
	if (rc != 0 && rc != -ENOTSUP)
		MS_LOG(WARNING, "port %s: cannot enable all-multicast: %s", port->name,
		       strerror(-rc));
	ms_kdrops_attach(port);
	for (uint16_t q = 0; q < MS_WAKE_FD_MAX; q++)
		port->wake_fd[q] = q < port->nb_q ? ms_kdrops_fd(port, q, port->nb_q) : -1;
	return 0;
}

void
ms_port_close(struct ms_port *port)
{
	rte_eth_dev_stop(port->port_id);
	ms_kdrops_detach(port);
	rte_eth_dev_close(port->port_id);
}
