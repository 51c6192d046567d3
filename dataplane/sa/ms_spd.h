/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SPD_H
#define MS_SPD_H

/*
 * Security policy database: flow selectors compiled into rte_acl contexts,
 * except host pairs (both ends /32 or /128, any protocol, any port), which
 * go into an exact-match rte_hash on (src, dst) consulted after the ACL;
 * the higher priority of the two answers wins, as one ACL would decide.
 * A built SPD is immutable; the SA database builds a new one on every change
 * and swaps it in under RCU, so workers never see a half-built context.
 * Building the ACL is the slow part (tens of ms per thousand rules), so a
 * table whose ACL rules did not change shares the previous SPD's context
 * (reference counted, control thread only): adding or removing a host-pair
 * SA rebuilds only the hash.
 */
#include <stddef.h>
#include <stdint.h>

#include <rte_acl.h>
#include <rte_hash.h>

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

/* One table's compiled ACL, shared by successive SPDs while its rules stay the same. */
struct ms_spd_acl {
	struct rte_acl_ctx *ctx;
	uint32_t refs;			/* SPDs using it; control thread only */
	uint32_t nb;
	struct ms_spd_rule *rules;	/* [nb], what ctx was built from */
	uint32_t *prio;			/* by userdata: the priority of its rules */
};

struct ms_spd {
	struct ms_spd_acl *acl[MS_SPD_MAX];	/* NULL: no prefix rules */
	struct rte_hash *exact[MS_SPD_MAX];	/* NULL: no host-pair rules */
};

/* Build every table from rules. name must be unique among live SPDs. */
int ms_spd_build(struct ms_spd *spd, const char *name, const struct ms_spd_rule *rules,
		 unsigned int n, int socket, char *err, unsigned int errlen);
/* The same, sharing prev's ACL of every table whose ACL rules are unchanged. */
int ms_spd_build_from(struct ms_spd *spd, const struct ms_spd *prev, const char *name,
		      const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
		      unsigned int errlen);
void ms_spd_free(struct ms_spd *spd);

/* The hash key of both families: src then dst, as they lie in the flow key. */
#define MS_SPD_EXACT_OFF 4
_Static_assert(offsetof(struct ms_key4, src) == MS_SPD_EXACT_OFF &&
	       offsetof(struct ms_key4, dst) == MS_SPD_EXACT_OFF + 4 &&
	       offsetof(struct ms_key6, src) == MS_SPD_EXACT_OFF &&
	       offsetof(struct ms_key6, dst) == MS_SPD_EXACT_OFF + 16, "exact key layout");

/* One lookup per key; data packs userdata (low 32 bits) and priority. */
static inline void
ms_spd_exact(const struct ms_spd *spd, enum ms_spd_table t, const uint8_t **keys,
	     uint32_t *res, uint32_t n)
{
	const struct ms_spd_acl *a = spd->acl[t];

	for (uint32_t i = 0; i < n; i++) {
		void *d;
		uint64_t v;

		if (rte_hash_lookup_data(spd->exact[t], keys[i] + MS_SPD_EXACT_OFF, &d) < 0)
			continue;
		v = (uint64_t)(uintptr_t)d;
		if (res[i] == 0 || (uint32_t)(v >> 32) > a->prio[res[i]])
			res[i] = (uint32_t)v;
	}
}

/*
 * Classify n keys (pointers to struct ms_key4 / ms_key6 matching the table's
 * family). res[i] is the userdata of the best match, or 0.
 */
static inline void
ms_spd_classify(const struct ms_spd *spd, enum ms_spd_table t, const uint8_t **keys,
		uint32_t *res, uint32_t n)
{
	if (spd->acl[t] == NULL || rte_acl_classify(spd->acl[t]->ctx, keys, res, n, 1) != 0) {
		for (uint32_t i = 0; i < n; i++)
			res[i] = 0;
	}
	if (spd->exact[t] != NULL)
		ms_spd_exact(spd, t, keys, res, n);
}

#endif
