/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SPD_H
#define MS_SPD_H

/*
 * Security policy database: flow selectors compiled into rte_acl contexts,
 * except those between two hosts (both ends /32 or /128) with any port, or
 * TCP/UDP with one source or one destination port, which go into
 * exact-match hashes consulted after the ACL (ms_spd_exact.h); the highest
 * priority of the answers wins, as one ACL would decide.
 * A built SPD is immutable; the SA database builds a new one on every change
 * and swaps it in under RCU, so workers never see a half-built context.
 * Building the ACL is the slow part (tens of ms per thousand rules), so a
 * table whose ACL rules did not change shares the previous SPD's context
 * (reference counted, control thread only): adding or removing an SA whose
 * selectors are all exact rebuilds only the hashes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_hash.h>

#include "ms_sel.h"
#include "ms_spd_exact.h"

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
	struct rte_hash *exact[MS_SPD_MAX][MS_SPD_X_MAX];	/* NULL: no such rules */
};

/* Build every table from rules. name must be unique among live SPDs. */
int ms_spd_build(struct ms_spd *spd, const char *name, const struct ms_spd_rule *rules,
		 unsigned int n, int socket, char *err, unsigned int errlen);
/* The same, sharing prev's ACL of every table whose ACL rules are unchanged. */
int ms_spd_build_from(struct ms_spd *spd, const struct ms_spd *prev, const char *name,
		      const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
		      unsigned int errlen);
void ms_spd_free(struct ms_spd *spd);
/* The table a rule belongs to. */
int ms_spd_table_of(const struct ms_spd_rule *r);

/* The hash key of both families: src then dst, as they lie in the flow key. */
#define MS_SPD_EXACT_OFF 4
_Static_assert(offsetof(struct ms_key4, src) == MS_SPD_EXACT_OFF &&
	       offsetof(struct ms_key4, dst) == MS_SPD_EXACT_OFF + 4 &&
	       offsetof(struct ms_key6, src) == MS_SPD_EXACT_OFF &&
	       offsetof(struct ms_key6, dst) == MS_SPD_EXACT_OFF + 16, "exact key layout");

/* A port table's key (kind x) for flow key k (IPv4 or IPv6 table). */
static inline void
ms_spd_xkey(const uint8_t *k, bool v6, enum ms_spd_xkind x, uint8_t *out)
{
	if (v6) {
		const struct ms_key6 *f = (const struct ms_key6 *)(const void *)k;
		struct ms_spd_xkey6 xk = { .port = x == MS_SPD_X_DPORT ? f->dport :
						   x == MS_SPD_X_SPORT ? f->sport : 0,
					   .proto = f->proto };

		memcpy(xk.src, f->src, 16);
		memcpy(xk.dst, f->dst, 16);
		memcpy(out, &xk, sizeof(xk));
	} else {
		const struct ms_key4 *f = (const struct ms_key4 *)(const void *)k;
		struct ms_spd_xkey4 xk = { .src = f->src, .dst = f->dst,
					   .port = x == MS_SPD_X_DPORT ? f->dport :
						   x == MS_SPD_X_SPORT ? f->sport : 0,
					   .proto = f->proto };

		memcpy(out, &xk, sizeof(xk));
	}
}

/*
 * The exact tables after the ACL (res[i]: its answer, 0 for none): a bulk
 * lookup per table that exists; data packs userdata (low 32 bits) and
 * priority; the highest priority wins.
 */
static inline void
ms_spd_exact_chunk(const struct ms_spd *spd, enum ms_spd_table t, const uint8_t **keys,
		   uint32_t *res, uint32_t n)
{
	const struct ms_spd_acl *a = spd->acl[t];
	bool v6 = t == MS_SPD_OUT6 || t == MS_SPD_IN6 || t == MS_SPD_FRAG6;
	uint32_t best[RTE_HASH_LOOKUP_BULK_MAX];

	for (uint32_t i = 0; i < n; i++)
		best[i] = res[i] != 0 ? a->prio[res[i]] : 0;
	for (int x = 0; x < MS_SPD_X_MAX; x++) {
		uint8_t kb[RTE_HASH_LOOKUP_BULK_MAX][sizeof(struct ms_spd_xkey6)];
		const void *kp[RTE_HASH_LOOKUP_BULK_MAX];
		void *d[RTE_HASH_LOOKUP_BULK_MAX];
		uint64_t hits = 0;

		if (spd->exact[t][x] == NULL)
			continue;
		for (uint32_t i = 0; i < n; i++) {
			if (x == MS_SPD_X_ANY) {
				kp[i] = keys[i] + MS_SPD_EXACT_OFF;
			} else {
				ms_spd_xkey(keys[i], v6, (enum ms_spd_xkind)x, kb[i]);
				kp[i] = kb[i];
			}
		}
		rte_hash_lookup_bulk_data(spd->exact[t][x], kp, n, &hits, d);
		for (uint32_t i = 0; hits != 0 && i < n; i++) {
			uint64_t v = (uint64_t)(uintptr_t)d[i];

			if (!(hits >> i & 1) || (uint32_t)(v >> 32) <= best[i])
				continue;
			best[i] = (uint32_t)(v >> 32);
			res[i] = (uint32_t)v;
		}
	}
}

static inline void
ms_spd_exact(const struct ms_spd *spd, enum ms_spd_table t, const uint8_t **keys,
	     uint32_t *res, uint32_t n)
{
	struct rte_hash *const *x = spd->exact[t];

	if (x[MS_SPD_X_ANY] == NULL && x[MS_SPD_X_DPORT] == NULL && x[MS_SPD_X_SPORT] == NULL &&
	    x[MS_SPD_X_PROTO] == NULL)
		return;
	for (uint32_t i = 0; i < n; i += RTE_HASH_LOOKUP_BULK_MAX)
		ms_spd_exact_chunk(spd, t, keys + i, res + i,
				   RTE_MIN(n - i, (uint32_t)RTE_HASH_LOOKUP_BULK_MAX));
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
	ms_spd_exact(spd, t, keys, res, n);
}

#endif
