/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "ms_spd.h"

#define NF4 5
#define NF6 11

RTE_ACL_RULE_DEF(acl4_rule, NF4);
RTE_ACL_RULE_DEF(acl6_rule, NF6);

/* rte_acl wants the first field one byte long, the rest in 4-byte groups. */
static const struct rte_acl_field_def defs4[NF4] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = 0,
	  .input_index = 0, .offset = offsetof(struct ms_key4, proto) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = 1,
	  .input_index = 1, .offset = offsetof(struct ms_key4, src) },
	{ .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = 2,
	  .input_index = 2, .offset = offsetof(struct ms_key4, dst) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 3,
	  .input_index = 3, .offset = offsetof(struct ms_key4, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 4,
	  .input_index = 3, .offset = offsetof(struct ms_key4, dport) },
};

#define V6F(i, base, in) { .type = RTE_ACL_FIELD_TYPE_MASK, .size = 4, .field_index = (i), \
	.input_index = (in), .offset = offsetof(struct ms_key6, base) + 4 * ((i - 1) % 4) }

static const struct rte_acl_field_def defs6[NF6] = {
	{ .type = RTE_ACL_FIELD_TYPE_BITMASK, .size = 1, .field_index = 0,
	  .input_index = 0, .offset = offsetof(struct ms_key6, proto) },
	V6F(1, src, 1), V6F(2, src, 2), V6F(3, src, 3), V6F(4, src, 4),
	V6F(5, dst, 5), V6F(6, dst, 6), V6F(7, dst, 7), V6F(8, dst, 8),
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 9,
	  .input_index = 9, .offset = offsetof(struct ms_key6, sport) },
	{ .type = RTE_ACL_FIELD_TYPE_RANGE, .size = 2, .field_index = 10,
	  .input_index = 9, .offset = offsetof(struct ms_key6, dport) },
};

/* What both families' rules share: the rule's data, protocol and ports. */
static void
fill_common(struct rte_acl_rule_data *d, struct rte_acl_field *f, const struct ms_spd_rule *r,
	    int pidx)
{
	d->category_mask = 1;
	d->priority = (int32_t)r->priority;
	d->userdata = r->userdata;
	f[0].value.u8 = r->sel.proto;
	f[0].mask_range.u8 = r->sel.proto ? 0xff : 0;
	f[pidx].value.u16 = r->frag ? 0 : r->sel.sport_lo;
	f[pidx].mask_range.u16 = r->frag ? UINT16_MAX : r->sel.sport_hi;
	f[pidx + 1].value.u16 = r->frag ? 0 : r->sel.dport_lo;
	f[pidx + 1].mask_range.u16 = r->frag ? UINT16_MAX : r->sel.dport_hi;
}

static void
rule4(struct acl4_rule *a, const struct ms_spd_rule *r)
{
	memset(a, 0, sizeof(*a));
	fill_common(&a->data, a->field, r, 3);
	a->field[1].value.u32 = ntohl(r->sel.src.ip.v4);
	a->field[1].mask_range.u32 = r->sel.src.len;
	a->field[2].value.u32 = ntohl(r->sel.dst.ip.v4);
	a->field[2].mask_range.u32 = r->sel.dst.len;
}

static void
v6_words(struct rte_acl_field *f, const struct ms_prefix *p)
{
	for (int i = 0; i < 4; i++) {
		uint32_t w;
		int bits = p->len - 32 * i;

		memcpy(&w, p->ip.v6 + 4 * i, 4);
		f[i].value.u32 = ntohl(w);
		f[i].mask_range.u32 = (uint32_t)(bits < 0 ? 0 : bits > 32 ? 32 : bits);
	}
}

static void
rule6(struct acl6_rule *a, const struct ms_spd_rule *r)
{
	memset(a, 0, sizeof(*a));
	fill_common(&a->data, a->field, r, 9);
	v6_words(&a->field[1], &r->sel.src);
	v6_words(&a->field[5], &r->sel.dst);
}

int
ms_spd_table_of(const struct ms_spd_rule *r)
{
	bool v6 = r->sel.src.ip.af == MS_AF_INET6;

	if (r->frag)
		return v6 ? MS_SPD_FRAG6 : MS_SPD_FRAG4;
	if (r->inbound)
		return v6 ? MS_SPD_IN6 : MS_SPD_IN4;
	return v6 ? MS_SPD_OUT6 : MS_SPD_OUT4;
}

static bool
in_acl(const struct ms_spd_rule *r, int t)
{
	return ms_spd_table_of(r) == t && ms_spd_xkind(r) < 0;
}

/* Field by field: the rules' padding is not ours to compare. */
static bool
prefix_eq(const struct ms_prefix *a, const struct ms_prefix *b)
{
	return a->len == b->len && ms_ip_eq(&a->ip, &b->ip);
}

static bool
rule_eq(const struct ms_spd_rule *a, const struct ms_spd_rule *b)
{
	return prefix_eq(&a->sel.src, &b->sel.src) && prefix_eq(&a->sel.dst, &b->sel.dst) &&
	       a->sel.proto == b->sel.proto && a->sel.sport_lo == b->sel.sport_lo &&
	       a->sel.sport_hi == b->sel.sport_hi && a->sel.dport_lo == b->sel.dport_lo &&
	       a->sel.dport_hi == b->sel.dport_hi && a->userdata == b->userdata &&
	       a->priority == b->priority && a->inbound == b->inbound && a->frag == b->frag;
}

/* Does prev's ACL of table t hold exactly the ACL rules of t in rules? */
static bool
acl_same(const struct ms_spd_acl *prev, int t, const struct ms_spd_rule *rules, unsigned int n)
{
	unsigned int j = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!in_acl(&rules[i], t))
			continue;
		if (j >= prev->nb || !rule_eq(&prev->rules[j], &rules[i]))
			return false;
		j++;
	}
	return j == prev->nb;
}

static void
acl_put(struct ms_spd_acl *a)
{
	if (a == NULL || --a->refs > 0)
		return;
	rte_acl_free(a->ctx);
	rte_free(a->rules);
	rte_free(a->prio);
	rte_free(a);
}

static int
add_one(struct rte_acl_ctx *ctx, bool v6, const struct ms_spd_rule *r)
{
	if (v6) {
		struct acl6_rule a;

		rule6(&a, r);
		return rte_acl_add_rules(ctx, (struct rte_acl_rule *)&a, 1);
	}
	struct acl4_rule a;

	rule4(&a, r);
	return rte_acl_add_rules(ctx, (struct rte_acl_rule *)&a, 1);
}

/* The rules of a, their priorities by userdata, into the new context. */
static int
acl_fill(struct ms_spd_acl *a, bool v6, int t, const struct ms_spd_rule *rules, unsigned int n,
	 int socket, char *err, unsigned int errlen)
{
	uint32_t max_ud = 0;

	for (unsigned int i = 0; i < n; i++)
		if (in_acl(&rules[i], t))
			max_ud = RTE_MAX(max_ud, rules[i].userdata);
	a->rules = rte_zmalloc_socket("ms_spd_rules", sizeof(*a->rules) * a->nb, 0, socket);
	a->prio = rte_zmalloc_socket("ms_spd_prio", sizeof(*a->prio) * (max_ud + 1), 0, socket);
	if (a->rules == NULL || a->prio == NULL) {
		snprintf(err, errlen, "out of memory building the SPD");
		return -ENOMEM;
	}
	for (unsigned int i = 0, j = 0; i < n; i++) {
		int rc;

		if (!in_acl(&rules[i], t))
			continue;
		a->rules[j++] = rules[i];
		a->prio[rules[i].userdata] = RTE_MAX(a->prio[rules[i].userdata], rules[i].priority);
		rc = add_one(a->ctx, v6, &rules[i]);
		if (rc != 0) {
			snprintf(err, errlen, "rte_acl_add_rules failed: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int
acl_build(struct ms_spd *spd, int t, const char *name, const struct ms_spd_rule *rules,
	  unsigned int n, int socket, char *err, unsigned int errlen)
{
	bool v6 = t == MS_SPD_OUT6 || t == MS_SPD_IN6 || t == MS_SPD_FRAG6;
	unsigned int count = 0, nf = v6 ? NF6 : NF4;
	struct rte_acl_param prm = { 0 };
	struct rte_acl_config cfg = { 0 };
	char cname[RTE_ACL_NAMESIZE];
	struct ms_spd_acl *a;
	int rc;

	for (unsigned int i = 0; i < n; i++)
		count += in_acl(&rules[i], t);
	if (count == 0)
		return 0;
	a = rte_zmalloc_socket("ms_spd_acl", sizeof(*a), 0, socket);
	if (a == NULL) {
		snprintf(err, errlen, "out of memory building the SPD");
		return -ENOMEM;
	}
	a->refs = 1;
	a->nb = count;
	spd->acl[t] = a;	/* freed with spd on failure */
	snprintf(cname, sizeof(cname), "%s_%d", name, t);
	prm.name = cname;
	prm.socket_id = socket;
	prm.rule_size = RTE_ACL_RULE_SZ(nf);
	prm.max_rule_num = count;
	a->ctx = rte_acl_create(&prm);
	if (a->ctx == NULL) {
		snprintf(err, errlen, "rte_acl_create(%s) failed: %s", cname, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = acl_fill(a, v6, t, rules, n, socket, err, errlen);
	if (rc != 0)
		return rc;
	cfg.num_categories = 1;
	cfg.num_fields = nf;
	memcpy(cfg.defs, v6 ? defs6 : defs4, sizeof(cfg.defs[0]) * nf);
	rc = rte_acl_build(a->ctx, &cfg);
	if (rc != 0)
		snprintf(err, errlen, "rte_acl_build failed: %s", strerror(-rc));
	return rc;
}

static int
build_one(struct ms_spd *spd, const struct ms_spd *prev, int t, const char *name,
	  const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
	  unsigned int errlen)
{
	int rc;

	if (prev != NULL && prev->acl[t] != NULL && acl_same(prev->acl[t], t, rules, n)) {
		spd->acl[t] = prev->acl[t];
		spd->acl[t]->refs++;
		rc = 0;
	} else {
		rc = acl_build(spd, t, name, rules, n, socket, err, errlen);
	}
	for (int x = 0; rc == 0 && x < MS_SPD_X_MAX; x++)
		rc = ms_spd_exact_build(&spd->exact[t][x], (enum ms_spd_xkind)x, t, name, rules, n,
					socket, err, errlen);
	return rc;
}

int
ms_spd_build_from(struct ms_spd *spd, const struct ms_spd *prev, const char *name,
		  const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
		  unsigned int errlen)
{
	memset(spd, 0, sizeof(*spd));
	for (unsigned int i = 0; i < n; i++) {
		if (rules[i].userdata == 0 || rules[i].priority == 0 ||
		    rules[i].priority > RTE_ACL_MAX_PRIORITY) {
			snprintf(err, errlen, "rule %u: userdata and priority must be set", i);
			return -EINVAL;
		}
	}
	for (int t = 0; t < MS_SPD_MAX; t++) {
		int rc = build_one(spd, prev, t, name, rules, n, socket, err, errlen);

		if (rc != 0) {
			ms_spd_free(spd);
			return rc;
		}
	}
	return 0;
}

int
ms_spd_build(struct ms_spd *spd, const char *name, const struct ms_spd_rule *rules,
	     unsigned int n, int socket, char *err, unsigned int errlen)
{
	return ms_spd_build_from(spd, NULL, name, rules, n, socket, err, errlen);
}

void
ms_spd_free(struct ms_spd *spd)
{
	for (int t = 0; t < MS_SPD_MAX; t++) {
		acl_put(spd->acl[t]);
		spd->acl[t] = NULL;
		for (int x = 0; x < MS_SPD_X_MAX; x++) {
			rte_hash_free(spd->exact[t][x]);
			spd->exact[t][x] = NULL;
		}
	}
}
