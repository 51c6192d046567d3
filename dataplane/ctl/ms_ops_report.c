/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's reports: PING, STATS, SA_LIST, CRYPTO. Control
 * thread only (ms_ops_handle). Names and the counters' order are
 * common/ms_counters.h's, written through ms_report.c like telemetry's.
 */
#include <rte_cryptodev.h>

#include "ms_cdev.h"
#include "ms_failover.h"
#include "ms_json.h"
#include "ms_ops.h"
#include "ms_profile.h"
#include "ms_report.h"

/* PING: the appliance summary, in this order. */
static const enum ms_info ping_fields[] = {
	MS_INFO_name, MS_INFO_version, MS_INFO_workers, MS_INFO_policy, MS_INFO_udp_port,
	MS_INFO_replay_window, MS_INFO_crypto_driver, MS_INFO_poll_mode, MS_INFO_power,
	MS_INFO_paused, MS_INFO_tsc_hz, MS_INFO_worker_load, MS_INFO_sa_count, MS_INFO_max_sa,
	MS_INFO_uptime_s, MS_INFO_dumpable, MS_INFO_core_limit,
};
/* STATS: how the workers poll, after the totals; the SA count, last. */
static const enum ms_info stats_poll_fields[] = {
	MS_INFO_tsc_hz, MS_INFO_poll_mode, MS_INFO_power,
};
static const enum ms_info stats_tail_fields[] = { MS_INFO_sa_count };

#define NB(a) (sizeof(a) / sizeof((a)[0]))

static json_t *
drops_json(const uint64_t *drop, bool nonzero_only)
{
	struct ms_out d = { .j = json_object() };

	ms_report_drops(&d, drop, nonzero_only);
	return d.j;
}

static json_t *
port_json(const struct ms_dp *dp, const struct ms_lcore_stats *sum, enum ms_port_idx p)
{
	struct ms_out o = { .j = json_object() };

	ms_report_port(&o, dp, sum, p);
	return o.j;
}

static json_t *
pool_json(const struct rte_mempool *mp)
{
	return json_pack("{s:I,s:I}", "size", (json_int_t)mp->size,
			 "in_use", (json_int_t)rte_mempool_in_use_count(mp));
}

/* Buffers out of their pools: what a leak would show, and a soak checks. */
static json_t *
pools_json(const struct ms_dp *dp)
{
	return json_pack("{s:o,s:o,s:o}", "mbufs", pool_json(dp->mbuf_pool),
			 "crypto_ops", pool_json(dp->cop_pool),
			 "sessions", pool_json(dp->sess_pool));
}

json_t *
ms_ops_stats_json(const struct ms_dp *dp)
{
	const struct ms_info_src src = { .dp = dp };
	struct ms_out o = { .j = json_object() };
	json_t *ports = json_object();
	struct ms_lcore_stats s;

	ms_stats_sum(&dp->stats, &s);
	ms_report_totals(&o, &s);
	ms_report_info(&o, &src, stats_poll_fields, NB(stats_poll_fields));
	json_object_set_new(o.j, "workers", ms_report_workers_json(dp));
	ms_out_u64(&o, "dropped", ms_report_dropped(&s));
	json_object_set_new(o.j, "drops", drops_json(s.drop, false));
	json_object_set_new(ports, "inner", port_json(dp, &s, MS_PORT_INNER));
	json_object_set_new(ports, "outer", port_json(dp, &s, MS_PORT_OUTER));
	json_object_set_new(o.j, "ports", ports);
	json_object_set_new(o.j, "pools", pools_json(dp));
	ms_report_info(&o, &src, stats_tail_fields, NB(stats_tail_fields));
	return o.j;
}

int32_t
ms_ops_ping(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	const struct ms_info_src src = { .dp = o->dp, .started = o->started };
	struct ms_out j = { .j = json_object() };

	ms_report_info(&j, &src, ping_fields, NB(ping_fields));
	return ms_ops_reply_json(j.j, reply, len);
}

/* Where the SA is and what its direction adds (replay state, size limit). */
static void
sa_spec_json(json_t *j, const struct ms_sa *sa)
{
	const struct ms_sa_spec *s = &sa->spec;
	json_t *sels = json_array();
	char b[256];

	for (unsigned int i = 0; i < s->nb_sel; i++)
		json_array_append_new(sels, json_string(ms_sel_str(&s->sel[i], b, sizeof(b))));
	json_object_set_new(j, "id", json_integer(s->id));
	json_object_set_new(j, "spi", json_integer(s->spi));
	json_object_set_new(j, "dir", json_string(ms_dir_name(s->dir)));
	json_object_set_new(j, "expires", json_integer((json_int_t)s->expires));
	if (s->group != 0) {
		json_object_set_new(j, "group", json_integer(s->group));
		json_object_set_new(j, "lane", json_integer(s->lane));
		json_object_set_new(j, "lanes", json_integer(s->nb_lanes));
	}
	json_object_set_new(j, "tag", json_string(s->tag));
	json_object_set_new(j, "inner", json_string(s->inner_af == MS_AF_INET ? "ipv4" : "ipv6"));
	json_object_set_new(j, "local", ms_ip_json(&s->local));
	json_object_set_new(j, "peer", ms_ip_json(&s->peer));
	json_object_set_new(j, "sport", json_integer(s->sport));
	json_object_set_new(j, "dport", json_integer(s->dport));
	json_object_set_new(j, "selectors", sels);
	json_object_set_new(j, "created", json_integer((json_int_t)sa->created));
}

static json_t *
sa_json(const struct ms_ops_ctx *o, const struct ms_sa *sa)
{
	struct ms_out j = { .j = json_object() };
	struct ms_sa_stats st;

	ms_stats_sum_sa(&o->dp->stats, sa->rt->slot, &st);
	sa_spec_json(j.j, sa);
	ms_report_sa(&j, &st);
	if (sa->spec.dir == MS_DIR_IN) {
		json_object_set_new(j.j, "replay_window", json_integer(sa->rt->replay_win));
		json_object_set_new(j.j, "top_seq", json_integer((json_int_t)
			__atomic_load_n(&sa->rt->replay->top, __ATOMIC_RELAXED)));
	} else if (sa->spec.dir == MS_DIR_OUT) {
		json_object_set_new(j.j, "max_inner", json_integer(sa->rt->max_inner));
	}
	json_object_set_new(j.j, "drops", drops_json(st.drop, true));
	return j.j;
}

int32_t
ms_ops_sa_list(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	const struct ms_sadb *db = &o->dp->sadb;
	json_t *a = json_array();

	for (uint32_t s = 0; s < db->max_sa; s++)
		if (db->sa[s] != NULL)
			json_array_append_new(a, sa_json(o, db->sa[s]));
	return ms_ops_reply_json(a, reply, len);
}

static json_t *
cdev_json(uint8_t id, const char *role, const char *state)
{
	struct rte_cryptodev_stats st = { 0 };
	struct rte_cryptodev_info ci;
	json_t *j = json_object();

	rte_cryptodev_info_get(id, &ci);
	rte_cryptodev_stats_get(id, &st);
	json_object_set_new(j, "role", json_string(role));
	json_object_set_new(j, "device", json_string(rte_cryptodev_name_get(id)));
	json_object_set_new(j, "driver", json_string(ci.driver_name));
	json_object_set_new(j, "state", json_string(state));
	json_object_set_new(j, "queue_pairs", json_integer(ci.max_nb_queue_pairs));
	json_object_set_new(j, "enqueued", json_integer((json_int_t)st.enqueued_count));
	json_object_set_new(j, "dequeued", json_integer((json_int_t)st.dequeued_count));
	json_object_set_new(j, "enqueue_errors", json_integer((json_int_t)st.enqueue_err_count));
	json_object_set_new(j, "dequeue_errors", json_integer((json_int_t)st.dequeue_err_count));
	return j;
}

/* The crypto profile and its devices; a fail-over profile lists both members. */
int32_t
ms_ops_crypto(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	const struct ms_cdev *cd = o->cd;
	json_t *j = json_object(), *devs = json_array();

	json_object_set_new(j, "profile", json_string(o->prof->name));
	json_object_set_new(j, "description", json_string(o->prof->description));
	json_object_set_new(j, "mode", json_string(cd->failover ? MS_FAILOVER_MODE : "single"));
	json_object_set_new(j, "workers", json_integer(cd->nb_qp));
	if (cd->failover) {
		json_array_append_new(devs, cdev_json(cd->dev_id, "scheduler",
						      cd->failed ? "failed" : "active"));
		json_array_append_new(devs, cdev_json(cd->member_id[MS_PRIMARY], "primary",
						      cd->primary_stopped ? "stopped" : "active"));
		json_array_append_new(devs, cdev_json(cd->member_id[MS_SECONDARY], "secondary",
						      cd->primary_stopped ? "active" : "standby"));
	} else {
		json_array_append_new(devs, cdev_json(cd->dev_id, "device",
						      cd->failed ? "failed" : "active"));
	}
	json_object_set_new(j, "devices", devs);
	return ms_ops_reply_json(j, reply, len);
}
