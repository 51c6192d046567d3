/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_INTR_H
#define MS_INTR_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_epoll.h>

#include "ms_dp.h"

/*
 * poll.mode "interrupt", on each worker lcore (the third stage of
 * ms_idle.h): the worker waits in its thread's epoll set until one of its
 * RX queues has a frame, or for sleep_max_us at most (rounded up to whole
 * milliseconds). What wakes it, per queue:
 *  - the queue's packet socket (net_af_packet), readable while a frame
 *    waits in its ring; it stays in the set;
 *  - else the driver's RX interrupt (rte_eth_dev_rx_intr_*: net_tap, NICs),
 *    armed only around a wait: while armed, some drivers and peers pay a
 *    notification per burst;
 *  - else nothing (af_xdp, memif, net_ring here): the timeout alone.
 * A wait comes only after a poll that found nothing with everything armed,
 * so a frame that arrived while arming is never left for the timeout.
 * Worker 0 also wakes when the control thread queues frames for it to send
 * (dp->slow_tx_wake): ARP and ND replies and resolved held packets.
 */
struct ms_intr {
	unsigned int nb_irq;			/* ports whose queue wakes by interrupt */
	uint16_t irq_port[MS_PORT_MAX];
	unsigned int nb_fd;			/* packet sockets in the epoll set */
	struct rte_epoll_event fd_ev[MS_PORT_MAX];	/* registered: must not move */
	struct rte_epoll_event slow_ev;		/* worker 0: dp->slow_tx_wake */
	bool slow_on;
	bool armed;
	int timeout_ms;
};

/* On the worker's lcore, before its loop; logs the wake sources once. */
void ms_intr_init(struct ms_worker *w, struct ms_intr *in, const struct ms_poll_conf *pc);
/* On the worker's lcore, after its loop. */
void ms_intr_fini(struct ms_worker *w, struct ms_intr *in);
void ms_intr_arm(struct ms_worker *w, struct ms_intr *in);
void ms_intr_disarm(struct ms_worker *w, struct ms_intr *in);
/* Wait (armed, RCU-offline); counts it. Disarms. True if an event ended it. */
bool ms_intr_wait(struct ms_worker *w, struct ms_intr *in);

#endif
