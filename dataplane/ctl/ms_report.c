/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters and the appliance summary, written once for both kinds of report
 * (ms_report.h). Every name written here comes from common/ms_counters.h.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <rte_cryptodev.h>
#include <rte_ethdev.h>

#include "ms_conf.h"
#include "ms_ops.h"
#include "ms_power.h"
#include "ms_kdrops.h"
#include "ms_report.h"

void
ms_out_u64(const struct ms_out *o, const char *name, uint64_t v)
{
	if (o->j != NULL)
		json_object_set_new(o->j, name, json_integer((json_int_t)v));
	else
		rte_tel_data_add_dict_u64(o->t, name, v);
}

void
ms_out_str(const struct ms_out *o, const char *name, const char *v)
{
	if (o->j != NULL)
		json_object_set_new(o->j, name, json_string(v));
	else
		rte_tel_data_add_dict_string(o->t, name, v);
}

void
ms_out_json(const struct ms_out *o, const char *name, json_t *v)
{
	if (o->j != NULL)
		json_object_set_new(o->j, name, v);
	else
		json_decref(v);
}

#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

void
ms_report_totals(const struct ms_out *o, const struct ms_lcore_stats *sum)
{
#define TOTAL(field, rep, help) \
	if ((rep) & MS_REP_TOTAL) \
		ms_out_u64(o, #field, sum->field);
	MS_LCORE_COUNTERS(TOTAL)
#undef TOTAL
}

uint64_t
ms_report_dropped(const struct ms_lcore_stats *sum)
{
	uint64_t total = 0;

	for (int r = 0; r < MS_DROP_MAX; r++)
		total += sum->drop[r];
	return total;
}

void
ms_report_drops(const struct ms_out *o, const uint64_t *drop, bool nonzero_only)
{
	for (int r = 0; r < MS_DROP_MAX; r++)
		if (!nonzero_only || drop[r] != 0)
			ms_out_u64(o, ms_drop_name((enum ms_drop)r), drop[r]);
}

void
ms_report_worker(const struct ms_out *o, const struct ms_dp *dp, unsigned int w)
{
	const struct ms_lcore_stats *l = &dp->stats.lc[w];

	ms_out_u64(o, "lcore", dp->workers[w].lcore);
#define WORKER(field, rep, help) \
	if ((rep) & MS_REP_WORKER) \
		ms_out_u64(o, #field, LOAD(l->field));
	MS_LCORE_COUNTERS(WORKER)
#undef WORKER
}

json_t *
ms_report_workers_json(const struct ms_dp *dp)
{
	json_t *a = json_array();

	for (unsigned int w = 0; w < dp->nb_workers; w++) {
		struct ms_out o = { .j = json_object() };

		ms_report_worker(&o, dp, w);
		json_array_append_new(a, o.j);
	}
	return a;
}

/* JSON names the port by its MAC address, telemetry by its DPDK port id. */
void
ms_report_port(const struct ms_out *o, const struct ms_dp *dp,
	       const struct ms_lcore_stats *sum, enum ms_port_idx p)
{
	const struct ms_port *port = &dp->port[p];
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct rte_eth_stats es;

	ms_out_str(o, "device", port->conf->device);
	if (o->j != NULL) {
		rte_ether_format_addr(mac, sizeof(mac), &port->mac);
		ms_out_str(o, "mac", mac);
	} else {
		ms_out_u64(o, "port_id", port->port_id);
	}
#define PORT(field) ms_out_u64(o, #field, sum->port[p].field);
	MS_PORT_COUNTERS(PORT)
#undef PORT
	if (rte_eth_stats_get(port->port_id, &es) != 0)
		return;
#define ETH(name, field) ms_out_u64(o, #name, es.field);
	MS_PORT_ETH_COUNTERS(ETH)
#undef ETH
#define KERNEL(name, what) ms_out_u64(o, #name, ms_kdrops_read(port, what));
	MS_PORT_KERNEL_COUNTERS(KERNEL)
#undef KERNEL
}

void
ms_report_sa(const struct ms_out *o, const struct ms_sa_stats *sum)
{
#define SA(field, help) ms_out_u64(o, #field, sum->field);
	MS_SA_COUNTERS(SA)
#undef SA
}

/* ---- the appliance summary ---------------------------------------------- */

static const char *
crypto_driver(const struct ms_dp *dp)
{
	struct rte_cryptodev_info ci;

	rte_cryptodev_info_get(dp->cdev_id, &ci);
	return ci.driver_name;
}

/* What keeps keys out of core dumps, as the process is now (not as configured). */
static json_t *
core_limit_json(void)
{
	struct rlimit core;

	if (getrlimit(RLIMIT_CORE, &core) != 0)
		return json_null();
	if (core.rlim_cur == RLIM_INFINITY)
		return json_string("unlimited");
	return json_integer((json_int_t)core.rlim_cur);
}

/* Where each MS_INFO_FIELDS value comes from; c is a const struct ms_info_src *. */
#define SRC_name(c)		((c)->dp->conf->name)
#define SRC_version(c)		MS_VERSION
#define SRC_workers(c)		((c)->dp->nb_workers)
#define SRC_policy(c)		ms_policy_name((c)->dp->conf->policy)
#define SRC_udp_port(c)		((c)->dp->conf->udp_port)
#define SRC_replay_window(c)	((c)->dp->conf->replay_window)
#define SRC_crypto_driver(c)	crypto_driver((c)->dp)
#define SRC_poll_mode(c)	ms_poll_mode_name((c)->dp->conf->poll.mode)
#define SRC_power(c)		ms_power_name((c)->dp)
#define SRC_paused(c)		LOAD((c)->dp->paused)
#define SRC_tsc_hz(c)		((c)->dp->tsc_hz)
#define SRC_worker_load(c)	ms_report_workers_json((c)->dp)
#define SRC_sa_count(c)		LOAD((c)->dp->sadb.count)
#define SRC_max_sa(c)		((c)->dp->sadb.max_sa)
#define SRC_uptime_s(c)		(time(NULL) - (c)->started)
#define SRC_dumpable(c)		(prctl(PR_GET_DUMPABLE) == 1)
#define SRC_core_limit(c)	core_limit_json()
#define SRC_mbufs_in_use(c)	rte_mempool_in_use_count((c)->dp->mbuf_pool)
#define SRC_crypto_ops_in_use(c) rte_mempool_in_use_count((c)->dp->cop_pool)
#define SRC_sessions_in_use(c)	rte_mempool_in_use_count((c)->dp->sess_pool)

#define OUT_STR(o, name, v)	ms_out_str(o, name, v)
#define OUT_U64(o, name, v)	ms_out_u64(o, name, (uint64_t)(v))
#define OUT_BOOL(o, name, v)	ms_out_json(o, name, json_boolean(v))
#define OUT_JSON(o, name, v)	ms_out_json(o, name, v)

static void
info_field(const struct ms_out *o, const struct ms_info_src *c, enum ms_info f)
{
	switch (f) {
#define FIELD(name, type) \
	case MS_INFO_ ## name: \
		OUT_ ## type(o, #name, SRC_ ## name(c)); \
		break;
	MS_INFO_FIELDS(FIELD)
#undef FIELD
	case MS_INFO_MAX:
		break;
	}
}

void
ms_report_info(const struct ms_out *o, const struct ms_info_src *c, const enum ms_info *f,
	       unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		info_field(o, c, f[i]);
}
