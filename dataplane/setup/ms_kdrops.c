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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "ms_kdrops.h"
#include "ms_log.h"
#include "ms_xskdiag.h"

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
	/* an af_xdp port: its sockets' inodes, read through ms_xskdiag.c */
	uint32_t ifindex;
	unsigned int nb_xsk;
	unsigned long xsk[KFD_MAX];
};

#define KINO_MAX 64	/* packet sockets on one interface, this namespace */

/*
 * The inodes of this network namespace's packet sockets bound to interface
 * ifindex, from the kernel's list (/proc/self/net/packet: ... Iface ...
 * Inode). The port's sockets are found by these inodes, without a system
 * call on any descriptor: the process's other descriptors belong to DPDK's
 * threads (the interrupt thread closes and re-creates its epoll descriptor
 * whenever its sources change), and probing a descriptor that another
 * thread may close and reuse at that moment is a race (ThreadSanitizer
 * reports the fstat()).
 */
static unsigned int
packet_inodes(int ifindex, unsigned long *ino, unsigned int max)
{
	FILE *f = fopen("/proc/self/net/packet", "re");
	char line[256];
	unsigned int n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {	/* the first is a header */
		unsigned long inode;
		int iface;

		if (sscanf(line, "%*s %*s %*s %*s %d %*s %*s %*s %lu", &iface, &inode) == 2 &&
		    iface == ifindex)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* The descriptor behind /proc/self/fd/name: a socket with one of the inodes (which), or 0. */
static unsigned long
socket_among(int dfd, const char *name, const unsigned long *ino, unsigned int nino)
{
	char link[64];
	ssize_t len = readlinkat(dfd, name, link, sizeof(link) - 1);
	unsigned long i;

	if (len <= 0)
		return 0;
	link[len] = '\0';
	if (sscanf(link, "socket:[%lu]", &i) != 1)
		return 0;
	for (unsigned int k = 0; k < nino; k++)
		if (ino[k] == i)
			return i;
	return 0;
}

/* A zeroed record and /proc/self/fd opened to search for the port's sockets. */
static struct ms_kdrops *
kd_new(DIR **dp)
{
	struct ms_kdrops *kd = calloc(1, sizeof(*kd));
	DIR *d = opendir("/proc/self/fd");

	if (kd == NULL || d == NULL) {
		free(kd);
		if (d != NULL)
			closedir(d);
		return NULL;
	}
	*dp = d;
	return kd;
}

/*
 * An af_xdp port: this process's AF_XDP sockets on the interface (their
 * inodes among /proc/self/fd, as for packet sockets). Their losses are
 * read from the kernel's socket diagnostics when a report asks.
 */
static struct ms_kdrops *
xsk_attach(const struct ms_port *port, uint32_t ifindex)
{
	struct ms_xsk_stat st[KFD_MAX];
	unsigned long ino[KFD_MAX];
	int n = ms_xsk_diag(ifindex, st, KFD_MAX);
	struct ms_kdrops *kd;
	struct dirent *e;
	DIR *d;

	if (n < 0)
		MS_LOG(WARNING, "port %s: this kernel has no AF_XDP socket diagnostics "
		       "(CONFIG_XDP_SOCKETS_DIAG): what its AF_XDP sockets lose to a full RX ring "
		       "is not counted (rx_kernel_drops stays 0; rx_missed still counts the "
		       "PMD's own)", port->name);
	if (n <= 0)
		return NULL;
	for (int i = 0; i < n; i++)
		ino[i] = st[i].ino;
	kd = kd_new(&d);
	if (kd == NULL)
		return NULL;
	kd->ifindex = ifindex;
	while ((e = readdir(d)) != NULL && kd->nb_xsk < KFD_MAX) {
		unsigned long i = e->d_name[0] == '.' ? 0 :
				  socket_among(dirfd(d), e->d_name, ino, (unsigned int)n);

		if (i != 0)
			kd->xsk[kd->nb_xsk++] = i;
	}
	closedir(d);
	if (kd->nb_xsk == 0) {
		free(kd);
		return NULL;
	}
	return kd;
}

/*
 * The af_xdp sockets' losses the PMD does not report: RX ring full and
 * invalid RX descriptors (its imissed, rx_missed here, is their
 * rx_dropped, which also holds the packets lost to an empty fill ring:
 * not added again), or TX descriptors refused. The kernel's counts are
 * cumulative.
 */
static uint64_t
xsk_read(const struct ms_kdrops *kd, enum ms_kd_what what)
{
	struct ms_xsk_stat st[KFD_MAX];
	int n = ms_xsk_diag(kd->ifindex, st, KFD_MAX);
	uint64_t sum = 0;

	for (int i = 0; i < n; i++)
		for (unsigned int k = 0; k < kd->nb_xsk; k++)
			if (st[i].ino == kd->xsk[k])
				sum += what == MS_KD_DROPS ? st[i].rx_full + st[i].rx_invalid :
				       what == MS_KD_TX ? st[i].tx_invalid : 0;
	return sum;
}

void
ms_kdrops_attach(struct ms_port *port)
{
	struct rte_eth_dev_info info;
	unsigned long ino[KINO_MAX];
	unsigned int nino;
	struct ms_kdrops *kd;
	struct dirent *e;
	DIR *d;

	if (rte_eth_dev_info_get(port->port_id, &info) != 0 || info.if_index == 0)
		return;
	nino = packet_inodes((int)info.if_index, ino, KINO_MAX);
	if (nino == 0) {
		if (info.driver_name == NULL || strcmp(info.driver_name, "net_af_xdp") != 0)
			return;
		kd = xsk_attach(port, info.if_index);
		if (kd != NULL) {
			pthread_mutex_lock(&kd_lock);
			port->kd = kd;
			pthread_mutex_unlock(&kd_lock);
			MS_LOG(INFO, "port %s: %u AF_XDP socket(s) on interface %u; their full "
			       "RX rings count as rx_kernel_drops, refused TX descriptors as "
			       "tx_kernel_drops", port->name, kd->nb_xsk, info.if_index);
		}
		return;
	}
	kd = kd_new(&d);
	if (kd == NULL) {
		MS_LOG(WARNING, "port %s: cannot look for its packet sockets; kernel-side drops "
		       "are not counted", port->name);
		return;
	}
	while ((e = readdir(d)) != NULL && kd->nb_fd < KFD_MAX)
		if (e->d_name[0] != '.' && socket_among(dirfd(d), e->d_name, ino, nino) != 0)
			kd->fd[kd->nb_fd++] = atoi(e->d_name);
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

int
ms_kdrops_fd(const struct ms_port *port, uint16_t q, uint16_t nq)
{
	int fd = -1;

	pthread_mutex_lock(&kd_lock);
	if (port->kd != NULL && port->kd->nb_xsk == 0 && port->kd->nb_fd == nq && q < nq)
		fd = port->kd->fd[q];
	pthread_mutex_unlock(&kd_lock);
	return fd;
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
	if (kd != NULL && kd->nb_xsk > 0) {
		total = xsk_read(kd, what);
		goto out;
	}
	if (kd != NULL && what == MS_KD_TX)
		goto out;	/* a packet socket counts no TX loss */
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
