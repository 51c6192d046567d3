/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Interrupt polling (ms_intr.h): a worker's wake sources and its waits.
 * Set-up and tear-down run on the worker's lcore (the epoll set is its
 * thread's own); the waits only once it has been idle for a while.
 */
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "ms_intr.h"
#include "ms_log.h"

/* In rte_epoll_wait(): reset the slow path's eventfd (it counts, never blocks). */
static void
slow_woke(int fd, void *arg)
{
	uint64_t n;

	(void)arg;
	if (read(fd, &n, sizeof(n)) < 0)
		return;		/* EAGAIN: another wait took it */
}

void
ms_intr_init(struct ms_worker *w, struct ms_intr *in, const struct ms_poll_conf *pc)
{
	uint16_t q = (uint16_t)w->idx;
	unsigned int none = 0;

	memset(in, 0, sizeof(*in));
	in->timeout_ms = (int)((pc->sleep_max_us + 999) / 1000);
	for (int p = 0; p < MS_PORT_MAX; p++) {
		const struct ms_port *port = &w->dp->port[p];
		int fd = q < MS_WAKE_FD_MAX ? port->wake_fd[q] : -1;

		/* A packet socket first: its driver has no RX interrupts to ask for. */
		if (fd >= 0) {
			struct rte_epoll_event *ev = &in->fd_ev[in->nb_fd];

			ev->epdata.event = EPOLLIN;
			ev->epdata.data = NULL;
			ev->epdata.cb_fun = NULL;	/* the poll loop reads the ring */
			if (rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD, fd, ev) == 0) {
				in->nb_fd++;
				continue;
			}
		}
		/* The ethdev logs "Rx Intr handle unset" for a driver without them. */
		if (port->rx_intr &&
		    rte_eth_dev_rx_intr_ctl_q(port->port_id, q, RTE_EPOLL_PER_THREAD,
					      RTE_INTR_EVENT_ADD, NULL) == 0) {
			in->irq_port[in->nb_irq++] = port->port_id;
			continue;
		}
		none++;
	}
	if (w->idx == 0 && w->dp->slow_tx_wake >= 0) {
		in->slow_ev.epdata.event = EPOLLIN;
		in->slow_ev.epdata.cb_fun = slow_woke;
		in->slow_on = rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_ADD,
					    w->dp->slow_tx_wake, &in->slow_ev) == 0;
		if (!in->slow_on)
			MS_LOG(WARNING, "worker 0: frames of the control thread (ARP, ND) wait up "
			       "to %d ms: cannot wait on its eventfd", in->timeout_ms);
	}
	MS_LOG(INFO, "worker %u: interrupt polling, waits after %u us without work: %u queue(s) "
	       "wake by RX interrupt, %u by their packet socket, %u only after %d ms%s", w->idx,
	       pc->sleep_after_us, in->nb_irq, in->nb_fd, none, in->timeout_ms,
	       in->slow_on ? "; and by the control thread's frames" : "");
}

void
ms_intr_fini(struct ms_worker *w, struct ms_intr *in)
{
	ms_intr_disarm(w, in);
	for (unsigned int i = 0; i < in->nb_irq; i++)
		(void)rte_eth_dev_rx_intr_ctl_q(in->irq_port[i], (uint16_t)w->idx,
						RTE_EPOLL_PER_THREAD, RTE_INTR_EVENT_DEL, NULL);
	for (unsigned int i = 0; i < in->nb_fd; i++)
		(void)rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, in->fd_ev[i].fd,
				    &in->fd_ev[i]);
	if (in->slow_on)
		(void)rte_epoll_ctl(RTE_EPOLL_PER_THREAD, EPOLL_CTL_DEL, in->slow_ev.fd,
				    &in->slow_ev);
	in->slow_on = false;
	in->nb_irq = in->nb_fd = 0;
}

void
ms_intr_arm(struct ms_worker *w, struct ms_intr *in)
{
	for (unsigned int i = 0; i < in->nb_irq; i++)
		(void)rte_eth_dev_rx_intr_enable(in->irq_port[i], (uint16_t)w->idx);
	in->armed = true;
}

void
ms_intr_disarm(struct ms_worker *w, struct ms_intr *in)
{
	if (!in->armed)
		return;
	for (unsigned int i = 0; i < in->nb_irq; i++)
		(void)rte_eth_dev_rx_intr_disable(in->irq_port[i], (uint16_t)w->idx);
	in->armed = false;
}

bool
ms_intr_wait(struct ms_worker *w, struct ms_intr *in)
{
	struct ms_lcore_stats *st = &w->dp->stats.lc[w->idx];
	struct rte_epoll_event ev[MS_PORT_MAX * 2 + 1];
	uint64_t t0, t1;
	int n;

	/* Nothing in flight, no SA referenced: safe to leave RCU while waiting. */
	rte_rcu_qsbr_thread_offline(w->dp->rcu, w->idx);
	t0 = rte_rdtsc();
	n = rte_epoll_wait(RTE_EPOLL_PER_THREAD, ev, (int)RTE_DIM(ev), in->timeout_ms);
	t1 = rte_rdtsc();
	rte_rcu_qsbr_thread_online(w->dp->rcu, w->idx);
	ms_intr_disarm(w, in);
	ms_ctr_add(&st->idle_cycles, t1 - t0);
	ms_ctr_add(&st->sleep_cycles, t1 - t0);
	ms_ctr_add(&st->sleeps, 1);
	if (n > 0)
		ms_ctr_add(&st->wakeups, 1);
	return n > 0;
}
