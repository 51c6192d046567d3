/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

static int
table_of(const struct ms_spd_rule *r)
{
	bool v6 = r->sel.src.ip.af == MS_AF_INET6;

	if (r->frag)
		return v6 ? MS_SPD_FRAG6 : MS_SPD_FRAG4;
	if (r->inbound)
		return v6 ? MS_SPD_IN6 : MS_SPD_IN4;
	return v6 ? MS_SPD_OUT6 : MS_SPD_OUT4;
}

static int
build_one(struct ms_spd *spd, int t, const char *name, const struct ms_spd_rule *rules,
	  unsigned int n, int socket, char *err, unsigned int errlen)
{
	bool v6 = t == MS_SPD_OUT6 || t == MS_SPD_IN6 || t == MS_SPD_FRAG6;
	unsigned int count = 0, nf = v6 ? NF6 : NF4;
	struct rte_acl_param prm = { 0 };
	struct rte_acl_config cfg = { 0 };
	char cname[RTE_ACL_NAMESIZE];
	struct rte_acl_ctx *ctx;
	int rc;

	for (unsigned int i = 0; i < n; i++)
		count += table_of(&rules[i]) == t;
	if (count == 0)
		return 0;
	snprintf(cname, sizeof(cname), "%s_%d", name, t);
	prm.name = cname;
	prm.socket_id = socket;
	prm.rule_size = RTE_ACL_RULE_SZ(nf);
	prm.max_rule_num = count;
	ctx = rte_acl_create(&prm);
	if (ctx == NULL) {
		snprintf(err, errlen, "rte_acl_create(%s) failed: %s", cname, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (table_of(&rules[i]) != t)
			continue;
		if (v6) {
			struct acl6_rule a;

			rule6(&a, &rules[i]);
			rc = rte_acl_add_rules(ctx, (struct rte_acl_rule *)&a, 1);
		} else {
			struct acl4_rule a;

			rule4(&a, &rules[i]);
			rc = rte_acl_add_rules(ctx, (struct rte_acl_rule *)&a, 1);
		}
		if (rc != 0) {
			snprintf(err, errlen, "rte_acl_add_rules failed: %s", strerror(-rc));
			rte_acl_free(ctx);
			return rc;
		}
	}
	cfg.num_categories = 1;
	cfg.num_fields = nf;
	memcpy(cfg.defs, v6 ? defs6 : defs4, sizeof(cfg.defs[0]) * nf);
	rc = rte_acl_build(ctx, &cfg);
	if (rc != 0) {
		snprintf(err, errlen, "rte_acl_build failed: %s", strerror(-rc));
		rte_acl_free(ctx);
		return rc;
	}
	spd->ctx[t] = ctx;
	return 0;
}

int
ms_spd_build(struct ms_spd *spd, const char *name, const struct ms_spd_rule *rules,
	     unsigned int n, int socket, char *err, unsigned int errlen)
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
		int rc = build_one(spd, t, name, rules, n, socket, err, errlen);

		if (rc != 0) {
			ms_spd_free(spd);
			return rc;
		}
	}
	return 0;
}

void
ms_spd_free(struct ms_spd *spd)
{
	for (int t = 0; t < MS_SPD_MAX; t++) {
		rte_acl_free(spd->ctx[t]);
		spd->ctx[t] = NULL;
	}
}
