/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel-side drops of packet-socket ports (ms_kdrops.h). Attach runs on the
 * main lcore once the port is up; reads come from the control thread and
 * DPDK's telemetry threads, never from a worker. Each read of
 * PACKET_STATISTICS returns what the kernel counted since the last read and
 * clears it, so reads are serialised and summed into the port's total.
 */
#include <dirent.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <rte_ethdev.h>

#include "ms_kdrops.h"
#include "ms_log.h"

#define KFD_MAX 16	/* packet sockets of one port (one per queue) */

/*
 * One lock for every port: a read clears the kernel's counts, so one reader
 * at a time; and a port closing must not free what a telemetry thread reads.
 */
static pthread_mutex_t kd_lock = PTHREAD_MUTEX_INITIALIZER;

struct ms_kdrops {
	unsigned int nb_fd;
	int fd[KFD_MAX];
	uint64_t total;
};

/* Is fd a packet socket bound to interface ifindex? */
static bool
packet_socket_of(int fd, int ifindex)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	int domain = 0;
	socklen_t dlen = sizeof(domain);
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) != 0 || domain != AF_PACKET)
		return false;
	if (getsockname(fd, (struct sockaddr *)&sll, &len) != 0 ||
	    len < offsetof(struct sockaddr_ll, sll_addr))
		return false;
	return sll.sll_ifindex == ifindex;
}

void
ms_kdrops_attach(struct ms_port *port)
{
	struct rte_eth_dev_info info;
	struct ms_kdrops *kd;
	struct dirent *e;
	DIR *d;

	if (rte_eth_dev_info_get(port->port_id, &info) != 0 || info.if_index == 0)
		return;
	kd = calloc(1, sizeof(*kd));
	d = opendir("/proc/self/fd");
	if (kd == NULL || d == NULL) {
		free(kd);
		if (d != NULL)
			closedir(d);
		MS_LOG(WARNING, "port %s: cannot look for its packet sockets; kernel-side drops "
		       "are not counted", port->name);
		return;
	}
	while ((e = readdir(d)) != NULL && kd->nb_fd < KFD_MAX) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(d) && packet_socket_of(fd, (int)info.if_index))
			kd->fd[kd->nb_fd++] = fd;
	}
	closedir(d);
	if (kd->nb_fd == 0) {
		free(kd);
		return;
	}
	pthread_mutex_lock(&kd_lock);
	port->kd = kd;
	pthread_mutex_unlock(&kd_lock);
	MS_LOG(INFO, "port %s: %u packet socket(s) on interface %u; their kernel-side drops "
	       "are counted as rx_kernel_drops", port->name, kd->nb_fd, info.if_index);
}

void
ms_kdrops_detach(struct ms_port *port)
{
	pthread_mutex_lock(&kd_lock);
	free(port->kd);
	port->kd = NULL;
	pthread_mutex_unlock(&kd_lock);
}

/* The kernel keeps rollover counts itself (never cleared): their sum. */
static uint64_t
rollovers(const struct ms_kdrops *kd)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < kd->nb_fd; i++) {
		struct tpacket_rollover_stats rs;
		socklen_t len = sizeof(rs);

		/* EINVAL: not in a fan-out group with rollover (one queue). */
		if (getsockopt(kd->fd[i], SOL_PACKET, PACKET_ROLLOVER_STATS, &rs, &len) == 0)
			sum += rs.tp_all;
	}
	return sum;
}

uint64_t
ms_kdrops_read(const struct ms_port *port, enum ms_kd_what what)
{
	struct ms_kdrops *kd;
	uint64_t total = 0;

	pthread_mutex_lock(&kd_lock);
	kd = port->kd;
	if (kd != NULL && what == MS_KD_ROLLOVERS) {
		total = rollovers(kd);
		goto out;
	}
	for (unsigned int i = 0; kd != NULL && i < kd->nb_fd; i++) {
		struct tpacket_stats ts;
		socklen_t len = sizeof(ts);

		if (getsockopt(kd->fd[i], SOL_PACKET, PACKET_STATISTICS, &ts, &len) == 0)
			kd->total += ts.tp_drops;
	}
	if (kd != NULL)
		total = kd->total;
out:
	pthread_mutex_unlock(&kd_lock);
	return total;
}
