/* SPDX-License-Identifier: BSD-3-Clause */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "ms_idle.h"
#include "ms_power.h"
#include "ms_ops.h"
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

static int
tel_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", tdp->conf->name);
	rte_tel_data_add_dict_string(d, "version", MS_VERSION);
	rte_tel_data_add_dict_string(d, "policy", ms_policy_name(tdp->conf->policy));
	U64(d, "workers", tdp->nb_workers);
	rte_tel_data_add_dict_string(d, "poll_mode", ms_poll_mode_name(tdp->conf->poll.mode));
	U64(d, "udp_port", tdp->conf->udp_port);
	U64(d, "replay_window", tdp->conf->replay_window);
	U64(d, "sa_count", __atomic_load_n(&tdp->sadb.count, __ATOMIC_RELAXED));
	U64(d, "mbufs_in_use", rte_mempool_in_use_count(tdp->mbuf_pool));
	U64(d, "crypto_ops_in_use", rte_mempool_in_use_count(tdp->cop_pool));
	U64(d, "sessions_in_use", rte_mempool_in_use_count(tdp->sess_pool));
	return 0;
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ms_lcore_stats s;
	uint64_t total = 0;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	ms_stats_sum(&tdp->stats, &s);
	for (int r = 0; r < MS_DROP_MAX; r++)
		total += s.drop[r];
	rte_tel_data_start_dict(d);
	U64(d, "sealed_pkts", s.sealed_pkts);
	U64(d, "sealed_bytes", s.sealed_bytes);
	U64(d, "opened_pkts", s.opened_pkts);
	U64(d, "opened_bytes", s.opened_bytes);
	U64(d, "bypass_pkts", s.bypass_pkts);
	U64(d, "bypass_bytes", s.bypass_bytes);
	U64(d, "slowpath_pkts", s.slowpath_pkts);
	U64(d, "icmp_sent", s.icmp_sent);
	U64(d, "mss_clamped", s.mss_clamped);
	U64(d, "handoff_pkts", s.handoff_pkts);
	U64(d, "busy_cycles", s.busy_cycles);
	U64(d, "io_cycles", s.io_cycles);
	U64(d, "idle_cycles", s.idle_cycles);
	U64(d, "dropped", total);
	return 0;
}

static int
tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ms_lcore_stats s;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	ms_stats_sum(&tdp->stats, &s);
	rte_tel_data_start_dict(d);
	for (int r = 0; r < MS_DROP_MAX; r++)
		U64(d, ms_drop_name((enum ms_drop)r), s.drop[r]);
	return 0;
}

static int
tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const names[MS_PORT_MAX] = { "inner", "outer" };
	struct ms_lcore_stats s;
	struct rte_eth_stats es;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	ms_stats_sum(&tdp->stats, &s);
	rte_tel_data_start_dict(d);
	for (int p = 0; p < MS_PORT_MAX; p++) {
		struct rte_tel_data *c = rte_tel_data_alloc();

		if (c == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
		rte_tel_data_add_dict_string(c, "device", tdp->port[p].conf->device);
		U64(c, "port_id", tdp->port[p].port_id);
		U64(c, "rx_pkts", s.port[p].rx_pkts);
		U64(c, "rx_bytes", s.port[p].rx_bytes);
		U64(c, "tx_pkts", s.port[p].tx_pkts);
		U64(c, "tx_bytes", s.port[p].tx_bytes);
		if (rte_eth_stats_get(tdp->port[p].port_id, &es) == 0) {
			U64(c, "rx_missed", es.imissed);
			U64(c, "rx_errors", es.ierrors);
			U64(c, "rx_nombuf", es.rx_nombuf);
			U64(c, "tx_errors", es.oerrors);
		}
		rte_tel_data_add_dict_container(d, names[p], c, 0);
	}
	return 0;
}

/* Per worker: where its time goes (busy, idle, asleep), in TSC cycles. */
static int
tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "poll_mode", ms_poll_mode_name(tdp->conf->poll.mode));
	rte_tel_data_add_dict_string(d, "power", ms_power_name(tdp));
	U64(d, "tsc_hz", tdp->tsc_hz);
	for (unsigned int i = 0; i < tdp->nb_workers; i++) {
		const struct ms_lcore_stats *l = &tdp->stats.lc[i];
		struct rte_tel_data *c = rte_tel_data_alloc();
		char name[24];

		if (c == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
		U64(c, "lcore", tdp->workers[i].lcore);
		U64(c, "busy_cycles", __atomic_load_n(&l->busy_cycles, __ATOMIC_RELAXED));
		U64(c, "io_cycles", __atomic_load_n(&l->io_cycles, __ATOMIC_RELAXED));
		U64(c, "idle_cycles", __atomic_load_n(&l->idle_cycles, __ATOMIC_RELAXED));
		U64(c, "sleep_cycles", __atomic_load_n(&l->sleep_cycles, __ATOMIC_RELAXED));
		U64(c, "sleeps", __atomic_load_n(&l->sleeps, __ATOMIC_RELAXED));
		snprintf(name, sizeof(name), "worker%u", i);
		rte_tel_data_add_dict_container(d, name, c, 0);
	}
	return 0;
}

static int
tel_sa_list(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_tables *t;

	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
	pthread_mutex_lock(&t_lock);
	rte_rcu_qsbr_thread_online(tdp->rcu, t_rcu_id);
	t = ms_sadb_tables(&tdp->sadb);
	for (uint32_t i = 0; t != NULL && i < t->nb_rt; i++)
		rte_tel_data_add_array_u64(d, t->rt[i]->id);
	rte_rcu_qsbr_thread_offline(tdp->rcu, t_rcu_id);
	pthread_mutex_unlock(&t_lock);
	return 0;
}

static int
tel_sa_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ms_tables *t;
	struct ms_sa_stats st;
	const struct ms_sa_rt *rt = NULL;
	char *end;
	unsigned long id;
	int rc = -EINVAL;

	RTE_SET_USED(cmd);
	if (params == NULL || *params == '\0')
		return -EINVAL;
	id = strtoul(params, &end, 0);
	if (*end != '\0' || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	pthread_mutex_lock(&t_lock);
	rte_rcu_qsbr_thread_online(tdp->rcu, t_rcu_id);
	t = ms_sadb_tables(&tdp->sadb);
	for (uint32_t i = 0; t != NULL && i < t->nb_rt; i++)
		if (t->rt[i]->id == id)
			rt = t->rt[i];
	if (rt != NULL) {
		ms_stats_sum_sa(&tdp->stats, rt->slot, &st);
		rte_tel_data_start_dict(d);
		U64(d, "id", rt->id);
		U64(d, "spi", rt->spi);
		rte_tel_data_add_dict_string(d, "dir", ms_dir_name(rt->dir));
		U64(d, "pkts", st.pkts);
		U64(d, "bytes", st.bytes);
		if (rt->group != 0) {	/* a lane of a migration's lane group */
			U64(d, "group", rt->group);
			U64(d, "lane", rt->lane);
		}
		if (rt->dir == MS_DIR_IN)
			U64(d, "top_seq", __atomic_load_n(&rt->replay->top, __ATOMIC_RELAXED));
		for (int r = 0; r < MS_DROP_MAX; r++)
			if (st.drop[r] != 0)
				U64(d, ms_drop_name((enum ms_drop)r), st.drop[r]);
		rc = 0;
	}
	rte_rcu_qsbr_thread_offline(tdp->rcu, t_rcu_id);
	pthread_mutex_unlock(&t_lock);
	return rc;
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
