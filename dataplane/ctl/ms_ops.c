/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control requests (ms_ctl_proto.h) executed against the data plane.
 * Runs in the control thread, the SA database's only writer.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include <rte_cryptodev.h>
#include <rte_ethdev.h>

#include "ms_json.h"
#include "ms_cdev.h"
#include "ms_ctl_proto.h"
#include "ms_failover.h"
#include "ms_idle.h"
#include "ms_power.h"
#include "ms_log.h"
#include "ms_ops.h"
#include "ms_worker.h"

static int32_t
reply_json(json_t *j, char **reply, size_t *len)
{
	*reply = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (*reply == NULL)
		return -ENOMEM;
	*len = strlen(*reply);
	return 0;
}

static int32_t
reply_err(int32_t st, const char *msg, char **reply, size_t *len)
{
	*reply = strdup(msg);
	*len = *reply ? strlen(*reply) : 0;
	return st;
}

static json_t *
drops_json(const uint64_t *drop, bool nonzero_only)
{
	json_t *d = json_object();

	for (int r = 0; r < MS_DROP_MAX; r++)
		if (!nonzero_only || drop[r] != 0)
			json_object_set_new(d, ms_drop_name((enum ms_drop)r), json_integer((json_int_t)drop[r]));
	return d;
}

static json_t *
sa_json(const struct ms_ops_ctx *o, const struct ms_sa *sa)
{
	const struct ms_sa_spec *s = &sa->spec;
	struct ms_sa_stats st;
	json_t *j = json_object(), *sels = json_array();
	char b[256];

	ms_stats_sum_sa(&o->dp->stats, sa->rt->slot, &st);
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
	json_object_set_new(j, "pkts", json_integer((json_int_t)st.pkts));
	json_object_set_new(j, "bytes", json_integer((json_int_t)st.bytes));
	if (s->dir == MS_DIR_IN) {
		json_object_set_new(j, "replay_window", json_integer(sa->rt->replay_win));
		json_object_set_new(j, "top_seq", json_integer((json_int_t)
			__atomic_load_n(&sa->rt->replay->top, __ATOMIC_RELAXED)));
	} else if (s->dir == MS_DIR_OUT) {
		json_object_set_new(j, "max_inner", json_integer(sa->rt->max_inner));
	}
	json_object_set_new(j, "drops", drops_json(st.drop, true));
	return j;
}

static int32_t
op_sa_list(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	const struct ms_sadb *db = &o->dp->sadb;
	json_t *a = json_array();

	for (uint32_t s = 0; s < db->max_sa; s++)
		if (db->sa[s] != NULL)
			json_array_append_new(a, sa_json(o, db->sa[s]));
	return reply_json(a, reply, len);
}

static json_t *
port_json(const struct ms_dp *dp, const struct ms_lcore_stats *sum, enum ms_port_idx p)
{
	const struct ms_port *port = &dp->port[p];
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct rte_eth_stats es;
	json_t *j = json_object();

	rte_ether_format_addr(mac, sizeof(mac), &port->mac);
	json_object_set_new(j, "device", json_string(port->conf->device));
	json_object_set_new(j, "mac", json_string(mac));
	json_object_set_new(j, "rx_pkts", json_integer((json_int_t)sum->port[p].rx_pkts));
	json_object_set_new(j, "rx_bytes", json_integer((json_int_t)sum->port[p].rx_bytes));
	json_object_set_new(j, "tx_pkts", json_integer((json_int_t)sum->port[p].tx_pkts));
	json_object_set_new(j, "tx_bytes", json_integer((json_int_t)sum->port[p].tx_bytes));
	/* What the port itself lost before any worker saw it. */
	if (rte_eth_stats_get(port->port_id, &es) == 0) {
		json_object_set_new(j, "rx_missed", json_integer((json_int_t)es.imissed));
		json_object_set_new(j, "rx_errors", json_integer((json_int_t)es.ierrors));
		json_object_set_new(j, "rx_nombuf", json_integer((json_int_t)es.rx_nombuf));
		json_object_set_new(j, "tx_errors", json_integer((json_int_t)es.oerrors));
	}
	return j;
}

/* Per worker: where its time goes. */
static json_t *
workers_json(const struct ms_dp *dp)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < dp->nb_workers; i++) {
		const struct ms_lcore_stats *l = &dp->stats.lc[i];
		json_t *w = json_object();

		json_object_set_new(w, "lcore", json_integer(dp->workers[i].lcore));
		json_object_set_new(w, "busy_cycles",
				    json_integer((json_int_t)__atomic_load_n(&l->busy_cycles, __ATOMIC_RELAXED)));
		json_object_set_new(w, "io_cycles",
				    json_integer((json_int_t)__atomic_load_n(&l->io_cycles, __ATOMIC_RELAXED)));
		json_object_set_new(w, "idle_cycles",
				    json_integer((json_int_t)__atomic_load_n(&l->idle_cycles, __ATOMIC_RELAXED)));
		json_object_set_new(w, "sleep_cycles",
				    json_integer((json_int_t)__atomic_load_n(&l->sleep_cycles, __ATOMIC_RELAXED)));
		json_object_set_new(w, "sleeps",
				    json_integer((json_int_t)__atomic_load_n(&l->sleeps, __ATOMIC_RELAXED)));
		json_array_append_new(a, w);
	}
	return a;
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
	struct ms_lcore_stats s;
	json_t *j = json_object(), *ports = json_object();
	uint64_t total = 0;

	ms_stats_sum(&dp->stats, &s);
	json_object_set_new(j, "sealed_pkts", json_integer((json_int_t)s.sealed_pkts));
	json_object_set_new(j, "sealed_bytes", json_integer((json_int_t)s.sealed_bytes));
	json_object_set_new(j, "opened_pkts", json_integer((json_int_t)s.opened_pkts));
	json_object_set_new(j, "opened_bytes", json_integer((json_int_t)s.opened_bytes));
	json_object_set_new(j, "bypass_pkts", json_integer((json_int_t)s.bypass_pkts));
	json_object_set_new(j, "bypass_bytes", json_integer((json_int_t)s.bypass_bytes));
	json_object_set_new(j, "slowpath_pkts", json_integer((json_int_t)s.slowpath_pkts));
	json_object_set_new(j, "icmp_sent", json_integer((json_int_t)s.icmp_sent));
	json_object_set_new(j, "mss_clamped", json_integer((json_int_t)s.mss_clamped));
	json_object_set_new(j, "handoff_pkts", json_integer((json_int_t)s.handoff_pkts));
	json_object_set_new(j, "busy_cycles", json_integer((json_int_t)s.busy_cycles));
	json_object_set_new(j, "io_cycles", json_integer((json_int_t)s.io_cycles));
	json_object_set_new(j, "idle_cycles", json_integer((json_int_t)s.idle_cycles));
	json_object_set_new(j, "tsc_hz", json_integer((json_int_t)dp->tsc_hz));
	json_object_set_new(j, "poll_mode", json_string(ms_poll_mode_name(dp->conf->poll.mode)));
	json_object_set_new(j, "power", json_string(ms_power_name(dp)));
	json_object_set_new(j, "workers", workers_json(dp));
	for (int r = 0; r < MS_DROP_MAX; r++)
		total += s.drop[r];
	json_object_set_new(j, "dropped", json_integer((json_int_t)total));
	json_object_set_new(j, "drops", drops_json(s.drop, false));
	json_object_set_new(ports, "inner", port_json(dp, &s, MS_PORT_INNER));
	json_object_set_new(ports, "outer", port_json(dp, &s, MS_PORT_OUTER));
	json_object_set_new(j, "ports", ports);
	json_object_set_new(j, "pools", pools_json(dp));
	json_object_set_new(j, "sa_count", json_integer(dp->sadb.count));
	return j;
}

static int32_t
op_ping(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	const struct ms_dp *dp = o->dp;
	struct rte_cryptodev_info ci;
	json_t *j = json_object();
	struct rlimit core;

	rte_cryptodev_info_get(dp->cdev_id, &ci);
	json_object_set_new(j, "name", json_string(dp->conf->name));
	json_object_set_new(j, "version", json_string(MS_VERSION));
	json_object_set_new(j, "workers", json_integer(dp->nb_workers));
	json_object_set_new(j, "policy", json_string(ms_policy_name(dp->conf->policy)));
	json_object_set_new(j, "udp_port", json_integer(dp->conf->udp_port));
	json_object_set_new(j, "replay_window", json_integer(dp->conf->replay_window));
	json_object_set_new(j, "crypto_driver", json_string(ci.driver_name));
	json_object_set_new(j, "poll_mode", json_string(ms_poll_mode_name(dp->conf->poll.mode)));
	json_object_set_new(j, "power", json_string(ms_power_name(dp)));
	json_object_set_new(j, "paused", json_boolean(__atomic_load_n(&dp->paused,
									 __ATOMIC_RELAXED)));
	json_object_set_new(j, "tsc_hz", json_integer((json_int_t)dp->tsc_hz));
	json_object_set_new(j, "worker_load", workers_json(dp));
	json_object_set_new(j, "sa_count", json_integer(dp->sadb.count));
	json_object_set_new(j, "max_sa", json_integer(dp->sadb.max_sa));
	json_object_set_new(j, "uptime_s", json_integer((json_int_t)(time(NULL) - o->started)));
	/* What keeps keys out of core dumps, as the process is now (not as configured). */
	json_object_set_new(j, "dumpable", json_boolean(prctl(PR_GET_DUMPABLE) == 1));
	if (getrlimit(RLIMIT_CORE, &core) != 0)
		json_object_set_new(j, "core_limit", json_null());
	else if (core.rlim_cur == RLIM_INFINITY)
		json_object_set_new(j, "core_limit", json_string("unlimited"));
	else
		json_object_set_new(j, "core_limit", json_integer((json_int_t)core.rlim_cur));
	return reply_json(j, reply, len);
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
static int32_t
op_crypto(struct ms_ops_ctx *o, char **reply, size_t *len)
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
	return reply_json(j, reply, len);
}

static int32_t
op_failover(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	char err[256];
	int rc = ms_failover_run(o->dp, o->cd, FAILOVER_HOLD_MS, err, sizeof(err));

	if (rc != 0) {
		MS_LOG(WARNING, "crypto fail-over refused: %s", err);
		return reply_err(rc, err, reply, len);
	}
	return op_crypto(o, reply, len);
}

/*
 * Pause: no worker takes packets from the ports (they wait in the RX
 * queues) once this returns; what is in flight is finished and sent. For
 * maintenance of the links, e.g. before a virtual port's peer restarts.
 */
static int32_t
op_pause(struct ms_ops_ctx *o, bool pause, char **reply, size_t *len)
{
	__atomic_store_n(&o->dp->paused, pause, __ATOMIC_RELEASE);
	/* a hold returns once every worker has passed a loop boundary */
	if (pause && ms_workers_hold(o->dp, FAILOVER_HOLD_MS) != 0) {
		__atomic_store_n(&o->dp->paused, 0, __ATOMIC_RELEASE);
		return reply_err(-ETIMEDOUT, "the workers did not stop within the hold time",
				 reply, len);
	}
	if (pause)
		ms_workers_release(o->dp);
	MS_LOG(NOTICE, "workers %s", pause ? "paused: packets wait in the RX queues" : "resumed");
	return reply_json(json_pack("{s:b}", "paused", pause), reply, len);
}

/* The SA's local outer address must be one of ours. */
static bool
local_is_ours(const struct ms_dp *dp, const struct ms_ip *ip)
{
	const struct ms_port_conf *pc = dp->port[MS_PORT_OUTER].conf;

	if (ip->af == MS_AF_INET)
		return pc->addr4.ip.af == MS_AF_INET && pc->addr4.ip.v4 == ip->v4;
	return pc->addr6.ip.af == MS_AF_INET6 && memcmp(pc->addr6.ip.v6, ip->v6, 16) == 0;
}

static int32_t
op_sa_add(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply, size_t *len)
{
	struct ms_ctl_sa_add req;
	char err[256], ip[MS_IPSTRLEN];
	uint32_t id;
	int32_t rc;

	if (blen != sizeof(req)) {
		snprintf(err, sizeof(err), "SA_ADD body is %u bytes, expected %zu", blen,
			 sizeof(req));
		return reply_err(-EINVAL, err, reply, len);
	}
	memcpy(&req, body, sizeof(req));
	id = req.spec.id;
	rc = ms_sa_spec_check(&req.spec, err, sizeof(err));
	if (rc == 0 && !local_is_ours(o->dp, &req.spec.local)) {
		snprintf(err, sizeof(err), "local address %s is not this appliance's outer address",
			 ms_ip_str(&req.spec.local, ip, sizeof(ip)));
		rc = -EADDRNOTAVAIL;
	}
	if (rc == 0)
		rc = ms_sadb_add(&o->dp->sadb, &req.spec, err, sizeof(err));
	if (rc == 0)
		MS_LOG(INFO, "SA %u added: %s spi 0x%x peer %s tag '%s'", req.spec.id,
		       ms_dir_name(req.spec.dir), req.spec.spi,
		       ms_ip_str(&req.spec.peer, ip, sizeof(ip)), req.spec.tag);
	else
		MS_LOG(WARNING, "SA add refused: %s", err);
	explicit_bzero(&req, sizeof(req));
	if (rc != 0)
		return reply_err(rc, err, reply, len);
	snprintf(err, sizeof(err), "{\"id\":%u}", id);
	return reply_err(0, err, reply, len);
}

static int32_t
op_sa_del(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply, size_t *len)
{
	struct ms_ctl_sa_id req;
	char err[128];
	int32_t rc;

	if (blen != sizeof(req)) {
		snprintf(err, sizeof(err), "SA_DEL body is %u bytes, expected %zu", blen,
			 sizeof(req));
		return reply_err(-EINVAL, err, reply, len);
	}
	memcpy(&req, body, sizeof(req));
	rc = ms_sadb_del(&o->dp->sadb, req.id, err, sizeof(err));
	if (rc != 0)
		return reply_err(rc, err, reply, len);
	MS_LOG(INFO, "SA %u deleted, its keys wiped", req.id);
	snprintf(err, sizeof(err), "{\"id\":%u}", req.id);
	return reply_err(0, err, reply, len);
}

int32_t
ms_ops_handle(void *arg, uint16_t op, const uint8_t *body, uint32_t len, char **reply,
	      size_t *rlen)
{
	struct ms_ops_ctx *o = arg;
	bool empty = len == 0;

	switch (op) {
	case MS_CTL_PING:
		return empty ? op_ping(o, reply, rlen) : reply_err(-EINVAL, "PING has no body", reply, rlen);
	case MS_CTL_SA_ADD:
		return op_sa_add(o, body, len, reply, rlen);
	case MS_CTL_SA_DEL:
		return op_sa_del(o, body, len, reply, rlen);
	case MS_CTL_SA_LIST:
		return empty ? op_sa_list(o, reply, rlen)
			     : reply_err(-EINVAL, "SA_LIST has no body", reply, rlen);
	case MS_CTL_CRYPTO:
		return empty ? op_crypto(o, reply, rlen)
			     : reply_err(-EINVAL, "CRYPTO has no body", reply, rlen);
	case MS_CTL_FAILOVER:
		return empty ? op_failover(o, reply, rlen)
			     : reply_err(-EINVAL, "FAILOVER has no body", reply, rlen);
	case MS_CTL_PAUSE:
	case MS_CTL_RESUME:
		return empty ? op_pause(o, op == MS_CTL_PAUSE, reply, rlen)
			     : reply_err(-EINVAL, "PAUSE/RESUME have no body", reply, rlen);
	case MS_CTL_STATS:
		return empty ? reply_json(ms_ops_stats_json(o->dp), reply, rlen)
			     : reply_err(-EINVAL, "STATS has no body", reply, rlen);
	default:
		return reply_err(-EOPNOTSUPP, "unknown request", reply, rlen);
	}
}
