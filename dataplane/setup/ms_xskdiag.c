/* SPDX-License-Identifier: BSD-3-Clause */
/* AF_XDP socket statistics from the kernel's socket diagnostics (ms_xskdiag.h). */
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/xdp_diag.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ms_xskdiag.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif

#define XD_ROUNDS 64	/* replies read per dump, at most (bounded) */

/* One diagnostic message: its socket, if on ifindex. */
static int
parse_one(const struct nlmsghdr *h, uint32_t ifindex, struct ms_xsk_stat *s)
{
	const struct xdp_diag_msg *m = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	const struct rtattr *a = (const struct rtattr *)(m + 1);
	bool on = false;

	if (len < 0)
		return 0;
	memset(s, 0, sizeof(*s));
	s->ino = m->xdiag_ino;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == XDP_DIAG_INFO &&
		    RTA_PAYLOAD(a) >= sizeof(struct xdp_diag_info)) {
			const struct xdp_diag_info *i = RTA_DATA(a);

			on = i->ifindex == ifindex;
			s->ifindex = i->ifindex;
		} else if (a->rta_type == XDP_DIAG_STATS &&
			   RTA_PAYLOAD(a) >= sizeof(struct xdp_diag_stats)) {
			const struct xdp_diag_stats *st = RTA_DATA(a);

			s->rx_dropped = st->n_rx_dropped;
			s->rx_invalid = st->n_rx_invalid;
			s->rx_full = st->n_rx_full;
			s->fill_empty = st->n_fill_ring_empty;
			s->tx_invalid = st->n_tx_invalid;
		}
	}
	return on ? 1 : 0;
}

int
ms_xsk_diag(uint32_t ifindex, struct ms_xsk_stat *out, unsigned int max)
{
	struct {
		struct nlmsghdr nlh;
		struct xdp_diag_req req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_XDP, .xdiag_show = XDP_SHOW_INFO | XDP_SHOW_STATS },
	};
	static __thread char buf[16384] __attribute__((aligned(8)));
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	unsigned int n = 0;
	bool done = false;

	if (fd < 0)
		return -1;
	if (send(fd, &q, sizeof(q), 0) != (ssize_t)sizeof(q)) {
		close(fd);
		return -1;
	}
	for (int r = 0; r < XD_ROUNDS && !done; r++) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		size_t left = got > 0 ? (size_t)got : 0;

		if (got <= 0)
			break;
		/* NLMSG_OK / NLMSG_NEXT, without their signed and unsigned mix */
		for (; left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= left;
		     left -= NLMSG_ALIGN(h->nlmsg_len) < left ? NLMSG_ALIGN(h->nlmsg_len) : left,
		     h = (const struct nlmsghdr *)((const char *)h + NLMSG_ALIGN(h->nlmsg_len))) {
			if (h->nlmsg_type == NLMSG_ERROR) {	/* e.g. no xsk_diag in this kernel */
				close(fd);
				return -1;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (n < max && parse_one(h, ifindex, &out[n]) == 1)
				n++;
		}
	}
	close(fd);
	return done ? (int)n : -1;
}
