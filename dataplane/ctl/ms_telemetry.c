/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "ms_report.h"
#include "ms_telemetry.h"

/*
 * Telemetry callbacks run in DPDK's telemetry threads, one per client. They
 * read the SA snapshot as one RCU reader; the mutex keeps two clients from
 * using that reader id at once (not on the fast path).
 */
static struct ms_dp *tdp;
static unsigned int t_rcu_id;
static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;

#define U64(d, name, v) rte_tel_data_add_dict_u64(d, name, v)
#define NB(a) (sizeof(a) / sizeof((a)[0]))

/* /migsec/info, in this order. */
static const enum ms_info info_fields[] = {
	MS_INFO_name, MS_INFO_version, MS_INFO_policy, MS_INFO_workers, MS_INFO_poll_mode,
	MS_INFO_udp_port, MS_INFO_replay_window, MS_INFO_sa_count, MS_INFO_mbufs_in_use,
	MS_INFO_crypto_ops_in_use, MS_INFO_sessions_in_use,
};
/* /migsec/workers: how they poll, before each worker's own dict. */
static const enum ms_info workers_fields[] = {
	MS_INFO_poll_mode, MS_INFO_power, MS_INFO_tsc_hz,
};

static int
tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_info_src src = { .dp = tdp };
	const struct ms_out o = { .t = d };

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	ms_report_info(&o, &src, info_fields, NB(info_fields));
	return 0;
}

/* The sum of every worker's block, into a dict started here. */
static void
sum_dict(struct rte_tel_data *d, struct ms_lcore_stats *sum)
{
	ms_stats_sum(&tdp->stats, sum);
	rte_tel_data_start_dict(d);
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_out o = { .t = d };
	struct ms_lcore_stats s;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	sum_dict(d, &s);
	ms_report_totals(&o, &s);
	ms_out_u64(&o, "dropped", ms_report_dropped(&s));
	return 0;
}

static int
tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_out o = { .t = d };
	struct ms_lcore_stats s;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	sum_dict(d, &s);
	ms_report_drops(&o, s.drop, false);
	return 0;
}

static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[MS_PORT_MAX] = { "inner", "outer" };
	struct ms_lcore_stats s;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	sum_dict(d, &s);
	for (int p = 0; p < MS_PORT_MAX; p++) {
		const struct ms_out c = { .t = rte_tel_data_alloc() };

		if (c.t == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c.t);
		ms_report_port(&c, tdp, &s, (enum ms_port_idx)p);
		rte_tel_data_add_dict_container(d, names[p], c.t, 0);
	}
	return 0;
}

/* Per worker: where its time goes (busy, idle, asleep), in TSC cycles. */
static int
tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_info_src src = { .dp = tdp };
	const struct ms_out o = { .t = d };

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	ms_report_info(&o, &src, workers_fields, NB(workers_fields));
	for (unsigned int i = 0; i < tdp->nb_workers; i++) {
		const struct ms_out c = { .t = rte_tel_data_alloc() };
		char name[24];

		if (c.t == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c.t);
		ms_report_worker(&c, tdp, i);
		snprintf(name, sizeof(name), "worker%u", i);
		rte_tel_data_add_dict_container(d, name, c.t, 0);
	}
	return 0;
}

/* The SA snapshot, read as the telemetry threads' one RCU reader (t_lock). */
static const struct ms_tables *
snapshot_enter(void)
{
	pthread_mutex_lock(&t_lock);
	rte_rcu_qsbr_thread_online(tdp->rcu, t_rcu_id);
	return ms_sadb_tables(&tdp->sadb);
}

static void
snapshot_leave(void)
{
	rte_rcu_qsbr_thread_offline(tdp->rcu, t_rcu_id);
	pthread_mutex_unlock(&t_lock);
}

static int
tel_sa_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_tables *t;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
	t = snapshot_enter();
	for (uint32_t i = 0; t != NULL && i < t->nb_rt; i++)
		rte_tel_data_add_array_u64(d, t->rt[i]->id);
	snapshot_leave();
	return 0;
}

/* Inside the snapshot: rt stays valid until snapshot_leave(). */
static void
sa_info_dict(struct rte_tel_data *d, const struct ms_sa_rt *rt)
{
	const struct ms_out o = { .t = d };
	struct ms_sa_stats st;

	ms_stats_sum_sa(&tdp->stats, rt->slot, &st);
	rte_tel_data_start_dict(d);
	U64(d, "id", rt->id);
	U64(d, "spi", rt->spi);
	rte_tel_data_add_dict_string(d, "dir", ms_dir_name(rt->dir));
	ms_report_sa(&o, &st);
	if (rt->group != 0) {	/* a lane of a migration's lane group */
		U64(d, "group", rt->group);
		U64(d, "lane", rt->lane);
	}
	if (rt->dir == MS_DIR_IN)
		U64(d, "top_seq", __atomic_load_n(&rt->replay->top, __ATOMIC_RELAXED));
	ms_report_drops(&o, st.drop, true);
}

static int
tel_sa_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_tables *t;
	const struct ms_sa_rt *rt = NULL;
	char *end;
	unsigned long id;

	RTE_SET_USED(cmd);
	if (params == NULL || *params == '\0')
		return -EINVAL;
	id = strtoul(params, &end, 0);
	if (*end != '\0' || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	t = snapshot_enter();
	for (uint32_t i = 0; t != NULL && i < t->nb_rt; i++)
		if (t->rt[i]->id == id)
			rt = t->rt[i];
	if (rt != NULL)
		sa_info_dict(d, rt);
	snapshot_leave();
	return rt != NULL ? 0 : -EINVAL;
}

int
ms_telemetry_init(struct ms_dp *dp, unsigned int rcu_id)
{
	int rc;

	tdp = dp;
	t_rcu_id = rcu_id;
	rc = rte_rcu_qsbr_thread_register(dp->rcu, rcu_id);
	if (rc != 0)
		return rc;
	rc = rte_telemetry_register_cmd("/migsec/info", tel_info, "Appliance summary") ||
	     rte_telemetry_register_cmd("/migsec/stats", tel_stats, "Appliance counters") ||
	     rte_telemetry_register_cmd("/migsec/drops", tel_drops, "Drops by reason") ||
	     rte_telemetry_register_cmd("/migsec/ports", tel_ports, "Port counters") ||
	     rte_telemetry_register_cmd("/migsec/workers", tel_workers,
					"Per worker: busy, idle and asleep TSC cycles") ||
	     rte_telemetry_register_cmd("/migsec/sa/list", tel_sa_list, "Installed SA ids") ||
	     rte_telemetry_register_cmd("/migsec/sa/info", tel_sa_info,
					"One SA and its counters. Parameter: SA id");
	return rc ? -EINVAL : 0;
}
