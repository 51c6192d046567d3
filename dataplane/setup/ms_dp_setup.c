/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Building and tearing down the data plane's shared context: pools, crypto
 * device, ports, rings, RCU, counters, neighbour table, SA database.
 * Used by main() and by the tests' in-process rigs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "ms_cdev.h"
#include "ms_dp.h"
#include "ms_idle.h"
#include "ms_power.h"
#include "ms_log.h"
#include "ms_port.h"
#include "ms_slow.h"
#include "ms_telemetry.h"

#define RING_SIZE 4096

RTE_LOG_REGISTER(ms_logtype, migsec, INFO);

static int
setup_rings(struct ms_dp *dp, char *err, unsigned int errlen)
{
	dp->slow_rx = rte_ring_create("ms_slow_rx", RING_SIZE, dp->socket, RING_F_SC_DEQ);
	dp->slow_tx = rte_ring_create("ms_slow_tx", RING_SIZE, dp->socket,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->workers = rte_zmalloc_socket("ms_workers", sizeof(*dp->workers) * dp->nb_workers,
					 RTE_CACHE_LINE_SIZE, dp->socket);
	if (dp->slow_rx == NULL || dp->slow_tx == NULL || dp->workers == NULL)
		goto nomem;
	/* An idle worker 0 waiting in epoll learns of frames to send through it. */
	if (dp->conf->poll.mode == MS_POLL_INTERRUPT) {
		dp->slow_tx_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (dp->slow_tx_wake < 0) {
			int e = errno;

			snprintf(err, errlen, "poll.mode interrupt: cannot create an eventfd: %s",
				 strerror(e));
			return -e;
		}
	}
	for (unsigned int i = 0; i < dp->nb_workers; i++) {
		dp->workers[i].dp = dp;
		dp->workers[i].idx = i;
	}
	return 0;
nomem:
	snprintf(err, errlen, "cannot allocate rings: %s", rte_strerror(rte_errno));
	return -ENOMEM;
}

static int
setup_rcu(struct ms_dp *dp, char *err, unsigned int errlen)
{
	unsigned int nthreads = dp->nb_workers + 1;	/* + the telemetry reader */
	size_t sz = rte_rcu_qsbr_get_memsize(nthreads);

	dp->rcu = rte_zmalloc_socket("ms_rcu", sz, RTE_CACHE_LINE_SIZE, dp->socket);
	if (dp->rcu == NULL || rte_rcu_qsbr_init(dp->rcu, nthreads) != 0) {
		snprintf(err, errlen, "cannot set up RCU");
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < dp->nb_workers; i++)
		rte_rcu_qsbr_thread_register(dp->rcu, i);
	return 0;
}

_Static_assert(MS_REMOTE_MAX <= MS_ROUTE_MAX, "every remote prefix fits a snapshot");

static void
hop_of(const struct ms_port_conf *pc, struct ms_hop *h)
{
	h->own4 = pc->addr4;
	h->own6 = pc->addr6;
	h->gw4 = pc->gw4;
	h->gw6 = pc->gw6;
}

/*
 * ms_path_fn: the configuration's part of every snapshot (control thread).
 * The only place where what workers do without an SA is read from dp->conf.
 */
static int
path_of_conf(void *arg, struct ms_path_rt *path, char *err, unsigned int errlen)
{
	const struct ms_conf *conf = ((const struct ms_dp *)arg)->conf;
	struct ms_remote rem[MS_REMOTE_MAX];

	path->bypass = conf->policy == MS_POLICY_BYPASS;
	path->mss_clamp = conf->mss_clamp;
	path->udp_port = rte_cpu_to_be_16(conf->udp_port);
	hop_of(&conf->inner, &path->hop[MS_PORT_INNER]);
	hop_of(&conf->outer, &path->hop[MS_PORT_OUTER]);
	for (unsigned int i = 0; i < conf->nb_remote && i < MS_REMOTE_MAX; i++) {
		rem[i].prefix = conf->remote[i].prefix;
		rem[i].via = conf->remote[i].via;
	}
	return ms_remotes_build(&path->remotes, rem, conf->nb_remote, &path->hop[MS_PORT_OUTER],
				err, errlen);
}

/* The SA database and its first snapshot: no SA yet, the configuration. */
static int
setup_sadb(struct ms_dp *dp, char *err, unsigned int errlen)
{
	const struct ms_sadb_ops ops = { .nexthop = ms_slow_nexthop, .path = path_of_conf,
					 .arg = dp };
	struct ms_sa_env env = { 0 };
	int rc;

	env.cdev_id = dp->cdev_id;
	env.sess_pool = dp->sess_pool;
	env.outer_mac = dp->port[MS_PORT_OUTER].mac;
	env.outer_mtu = dp->conf->outer.mtu;
	env.replay_default = dp->conf->replay_window;
	env.udp_cksum_offload = dp->port[MS_PORT_OUTER].tx_udp_cksum;	/* fixed at set-up */
	env.socket = dp->socket;
	rc = ms_sadb_init(&dp->sadb, &env, &dp->stats, dp->rcu, dp->conf->max_sa, &ops);
	if (rc == 0)
		rc = ms_sadb_publish(&dp->sadb, err, errlen);
	return rc;
}

/* Everything before the ports start; any failure leaves nothing running. */
int
ms_dp_setup(struct ms_dp *dp, const struct ms_conf *conf, const struct ms_profile *prof,
      struct ms_cdev *cd, char *err, unsigned int errlen)
{
	bool intr = conf->poll.mode == MS_POLL_INTERRUPT;
	int rc;

	dp->conf = conf;
	dp->slow_tx_wake = -1;
	dp->socket = (int)rte_socket_id();
	dp->burst = (uint16_t)conf->burst;
	dp->tsc_hz = rte_get_timer_hz();
	dp->nb_workers = rte_lcore_count() - 1;
	if (dp->nb_workers == 0) {
		snprintf(err, errlen, "%s: eal.lcores gives no worker lcore (needs the main lcore "
			 "plus at least one)", conf->file);
		return -EINVAL;
	}
	dp->mbuf_pool = rte_pktmbuf_pool_create("ms_mbuf", conf->mbufs, 256, MS_MBUF_PRIV_SIZE,
						(uint16_t)(conf->mbuf_size + RTE_PKTMBUF_HEADROOM),
						dp->socket);
	if (dp->mbuf_pool == NULL) {
		snprintf(err, errlen, "cannot allocate %u mbufs of %u bytes: %s (raise "
			 "eal.memory_mb or lower limits.mbufs)", conf->mbufs, conf->mbuf_size,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = ms_cdev_setup(prof, (uint16_t)dp->nb_workers, conf->sessions, conf->mbufs,
			   dp->socket, cd, err, errlen);
	if (rc != 0)
		return rc;
	dp->cdev_id = cd->dev_id;
	dp->cop_pool = cd->op_pool;
	dp->sess_pool = cd->sess_pool;
	rc = ms_port_setup(&dp->port[MS_PORT_INNER], &conf->inner, (uint16_t)dp->nb_workers,
			   intr, dp->mbuf_pool, dp->socket, err, errlen);
	if (rc == 0)
		rc = ms_port_setup(&dp->port[MS_PORT_OUTER], &conf->outer,
				   (uint16_t)dp->nb_workers, intr, dp->mbuf_pool, dp->socket, err,
				   errlen);
	if (rc == 0)
		rc = setup_rings(dp, err, errlen);
	if (rc == 0)
		rc = setup_rcu(dp, err, errlen);
	if (rc == 0 && ms_stats_init(&dp->stats, dp->nb_workers, conf->max_sa, dp->socket) != 0)
		rc = -ENOMEM;
	if (rc == 0 && ms_neigh_init(&dp->neigh, 4096, dp->socket, dp->rcu) != 0)
		rc = -ENOMEM;
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory during start-up");
		return rc;
	}
	rc = setup_sadb(dp, err, errlen);
	if (rc == 0)
		rc = ms_telemetry_init(dp, dp->nb_workers);
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot set up the SA tables or telemetry");
	return rc;
}

static void
free_ring(struct rte_ring *r)
{
	struct rte_mbuf *m;

	if (r == NULL)
		return;
	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(r);
}

void
ms_dp_teardown(struct ms_dp *dp, struct ms_cdev *cd)
{
	if (dp->sadb.sa != NULL)
		ms_sadb_fini(&dp->sadb);	/* every SA and session wiped */
	free_ring(dp->slow_rx);
	free_ring(dp->slow_tx);
	if (dp->slow_tx_wake >= 0)
		close(dp->slow_tx_wake);
	dp->slow_tx_wake = -1;
	ms_neigh_free(&dp->neigh);
	if (dp->pmgmt != MS_PMGMT_OFF) {	/* lib/power lets go of stopped queues only */
		rte_eth_dev_stop(dp->port[MS_PORT_INNER].port_id);
		rte_eth_dev_stop(dp->port[MS_PORT_OUTER].port_id);
		ms_power_disable(dp);
	}
	if (dp->port[MS_PORT_INNER].conf)
		ms_port_close(&dp->port[MS_PORT_INNER]);
	if (dp->port[MS_PORT_OUTER].conf)
		ms_port_close(&dp->port[MS_PORT_OUTER]);
	if (cd->sess_pool != NULL)
		ms_cdev_close(cd);
	ms_stats_free(&dp->stats);
	rte_free(dp->workers);
	rte_free(dp->rcu);
	rte_mempool_free(dp->mbuf_pool);
}

