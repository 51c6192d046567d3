/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SPD_EXACT_H
#define MS_SPD_EXACT_H

/*
 * The SPD's exact-match tables (ms_spd.h): selectors between two hosts
 * (both ends /32 or /128) in one of three shapes, each an rte_hash:
 *  - ANY:   any protocol, any port            key (src, dst)
 *  - DPORT: TCP or UDP, any source port, one destination port
 *                                             key (src, dst, dport, proto)
 *  - SPORT: TCP or UDP, one source port, any destination port
 *                                             key (src, dst, sport, proto)
 *  - PROTO: one protocol, any port (and the fragment tables' rules of a
 *    protocol, whose ports are never compiled)  key (src, dst, 0, proto)
 * A migration's selectors have these shapes (the migration port one way,
 * the replies the other way), so they never rebuild an ACL. Everything
 * else goes to the ACL. A rule of a higher priority already holding a key
 * keeps it.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>

#include "ms_sel.h"

struct ms_spd_rule;

enum ms_spd_xkind { MS_SPD_X_ANY, MS_SPD_X_DPORT, MS_SPD_X_SPORT, MS_SPD_X_PROTO, MS_SPD_X_MAX };

/* Which exact table takes r (ports as compiled for its table), or -1: the ACL. */
int ms_spd_xkind(const struct ms_spd_rule *r);
/* The table of kind x for the rules of SPD table t (*h NULL if it has none). */
int ms_spd_exact_build(struct rte_hash **h, enum ms_spd_xkind x, int t, const char *name,
		       const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
		       unsigned int errlen);

/* Port-table keys, composed from a flow key for each lookup. */
struct ms_spd_xkey4 {
	uint32_t src, dst;
	uint16_t port;		/* network order */
	uint8_t proto;
	uint8_t pad;
};

struct ms_spd_xkey6 {
	uint8_t src[16], dst[16];
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};

#endif
