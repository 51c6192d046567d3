/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SPD_H
#define MS_SPD_H

/*
 * Security policy database: flow selectors compiled into rte_acl contexts.
 * A built SPD is immutable; the SA database builds a new one on every change
 * and swaps it in under RCU, so workers never see a half-built context.
 */
#include <stdint.h>

#include <rte_acl.h>

#include "ms_sel.h"

enum ms_spd_table {
	MS_SPD_OUT4,	/* outbound SA selectors, IPv4 */
	MS_SPD_OUT6,
	MS_SPD_IN4,	/* inbound SA selectors: plaintext they cover is refused */
	MS_SPD_IN6,
	MS_SPD_FRAG4,	/* outbound SA selectors that limit ports, ports ignored */
	MS_SPD_FRAG6,
	MS_SPD_MAX
};

struct ms_spd_rule {
	struct ms_sel sel;
	uint32_t userdata;	/* returned on match; must not be 0 */
	uint32_t priority;	/* higher wins; 1 .. RTE_ACL_MAX_PRIORITY */
	uint8_t inbound;
	uint8_t frag;		/* for MS_SPD_FRAG*: the selector's ports are not compiled */
};

struct ms_spd {
	struct rte_acl_ctx *ctx[MS_SPD_MAX];	/* NULL: table empty */
};

/* Build every table from rules. name must be unique among live SPDs. */
int ms_spd_build(struct ms_spd *spd, const char *name, const struct ms_spd_rule *rules,
		 unsigned int n, int socket, char *err, unsigned int errlen);
void ms_spd_free(struct ms_spd *spd);

/*
 * Classify n keys (pointers to struct ms_key4 / ms_key6 matching the table's
 * family). res[i] is the userdata of the best match, or 0.
 */
static inline void
ms_spd_classify(const struct ms_spd *spd, enum ms_spd_table t, const uint8_t **keys,
		uint32_t *res, uint32_t n)
{
	if (spd->ctx[t] == NULL || rte_acl_classify(spd->ctx[t], keys, res, n, 1) != 0) {
		for (uint32_t i = 0; i < n; i++)
			res[i] = 0;
	}
}

#endif
