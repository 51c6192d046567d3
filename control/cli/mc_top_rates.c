/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl top's rates: the difference of two status replies of one
 * appliance over the time between them. Pure functions of the replies.
 */
#include <math.h>
#include <string.h>

#include "mc_show.h"
#include "mc_top.h"

static const json_t *
find_mig(const json_t *reply, const char *id)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(reply, "migrations"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "migration")) ?: "", id) == 0)
			return m;
	return NULL;
}

static long long
drops_total(const json_t *m)
{
	json_t *d = json_object_get(m, "drops"), *v;
	const char *k;
	long long n = 0;

	json_object_foreach(d, k, v)
		n += (long long)json_integer_value(v);
	return n;
}

/* Per second between two replies; NAN when there is no earlier one or a counter went back. */
static double
rate(const json_t *cur, const json_t *prev, const char *key, double dt)
{
	long long c = mc_jint(cur, key), p = prev ? mc_jint(prev, key) : 0;

	if (prev == NULL || dt <= 0 || c < p)
		return NAN;
	return (double)(c - p) / dt;
}

struct mc_rates
mc_top_mig_rates(const json_t *m, const json_t *prev_reply, double dt)
{
	const char *id = json_string_value(json_object_get(m, "migration")) ?: "";
	const json_t *pm = prev_reply ? find_mig(prev_reply, id) : NULL;
	long long d = drops_total(m), pd = pm ? drops_total(pm) : 0;
	struct mc_rates r = {
		.out_mbps = rate(m, pm, "out_bytes", dt) * 8 / 1e6,
		.out_pps = rate(m, pm, "out_pkts", dt),
		.in_mbps = rate(m, pm, "in_bytes", dt) * 8 / 1e6,
		.in_pps = rate(m, pm, "in_pkts", dt),
		.drops = pm && dt > 0 && d >= pd ? (double)(d - pd) / dt : NAN,
	};

	return r;
}

struct mc_rates
mc_top_appliance_rates(const json_t *c, const json_t *pc, double dt)
{
	struct mc_rates r = {
		.out_mbps = rate(c, pc, "sealed_bytes", dt) * 8 / 1e6,
		.out_pps = rate(c, pc, "sealed_pkts", dt),
		.in_mbps = rate(c, pc, "opened_bytes", dt) * 8 / 1e6,
		.in_pps = rate(c, pc, "opened_pkts", dt),
		.drops = rate(c, pc, "dropped", dt),
	};

	return r;
}
