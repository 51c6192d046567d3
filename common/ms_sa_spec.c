/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wire SA spec (ms_sa_spec.h): direction names, and the checks the data
 * plane makes on a spec before it builds an SA from it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ms_sa_spec.h"

const char *
ms_dir_name(uint8_t dir)
{
	switch (dir) {
	case MS_DIR_IN: return "in";
	case MS_DIR_OUT: return "out";
	case MS_DIR_BYPASS: return "bypass";
	default: return "?";
	}
}

/* Id, direction and SPI. */
static int
check_kind(const struct ms_sa_spec *s, char *err, unsigned int errlen)
{
	if (s->id == 0) {
		snprintf(err, errlen, "SA id must not be 0");
		return -EINVAL;
	}
	if (s->dir != MS_DIR_IN && s->dir != MS_DIR_OUT && s->dir != MS_DIR_BYPASS) {
		snprintf(err, errlen, "direction must be in, out or bypass");
		return -EINVAL;
	}
	if (s->dir == MS_DIR_BYPASS ? s->spi != 0 : s->spi < 256) {
		snprintf(err, errlen, s->dir == MS_DIR_BYPASS ? "a bypass rule has no SPI"
				      : "SPI %u is reserved (must be >= 256)", s->spi);
		return -EINVAL;
	}
	return 0;
}

/* The inner family, the outer addresses and UDP ports. */
static int
check_addrs(const struct ms_sa_spec *s, char *err, unsigned int errlen)
{
	if (s->inner_af != MS_AF_INET && s->inner_af != MS_AF_INET6) {
		snprintf(err, errlen, "inner address family must be IPv4 or IPv6");
		return -EINVAL;
	}
	if ((s->local.af != MS_AF_INET && s->local.af != MS_AF_INET6) ||
	    s->local.af != s->peer.af || ms_ip_is_zero(&s->local) || ms_ip_is_zero(&s->peer)) {
		snprintf(err, errlen, "outer local and peer addresses must be set and of one family");
		return -EINVAL;
	}
	if (s->sport == 0 || s->dport == 0) {
		snprintf(err, errlen, "outer UDP ports must not be 0");
		return -EINVAL;
	}
	return 0;
}

/* 1 to MS_SA_MAX_SEL valid selectors, all of the inner family. */
static int
check_sels(const struct ms_sa_spec *s, char *err, unsigned int errlen)
{
	if (s->nb_sel == 0 || s->nb_sel > MS_SA_MAX_SEL) {
		snprintf(err, errlen, "an SA needs 1 to %d selectors", MS_SA_MAX_SEL);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < s->nb_sel; i++) {
		char e[128];

		if (ms_sel_check(&s->sel[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "selector %u: %s", i, e);
			return -EINVAL;
		}
		if (s->sel[i].src.ip.af != s->inner_af) {
			snprintf(err, errlen, "selector %u is not of the SA's inner family", i);
			return -EINVAL;
		}
	}
	return 0;
}

int
ms_sa_spec_check(const struct ms_sa_spec *s, char *err, unsigned int errlen)
{
	int rc;

	if ((rc = check_kind(s, err, errlen)) != 0 || (rc = check_addrs(s, err, errlen)) != 0)
		return rc;
	if (s->replay_window != 0 && (s->replay_window < 64 || s->replay_window > 4096)) {
		snprintf(err, errlen, "replay window must be 64..4096 (or 0 for the default)");
		return -EINVAL;
	}
	if (s->seq_start == 0 || s->seq_start > MS_SEQ_LAST) {
		snprintf(err, errlen, "first sequence number must be 1..%" PRIu64
			 " (2^63 - 1, the last an SA uses: no IV is ever reused)", MS_SEQ_LAST);
		return -EINVAL;
	}
	if ((rc = check_sels(s, err, errlen)) != 0)
		return rc;
	if (s->group != 0 && (s->nb_lanes == 0 || s->nb_lanes > MS_LANES_MAX ||
			      s->lane >= s->nb_lanes)) {
		snprintf(err, errlen, "lane %u of %u: a group has 1 to %d lanes", s->lane, s->nb_lanes,
			 MS_LANES_MAX);
		return -EINVAL;
	}
	if (memchr(s->tag, '\0', sizeof(s->tag)) == NULL) {
		snprintf(err, errlen, "tag is not terminated");
		return -EINVAL;
	}
	return 0;
}
