/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-dataplane: seals live-migration traffic between an inner port (the
 * local hypervisor host) and an outer port (the migration network) with
 * ESP-in-UDP, AES-256-GCM. Set-up returns -errno; only main() exits.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pdump.h>

#include "ms_cdev.h"
#include "ms_ctl.h"
#include "ms_eal.h"
#include "ms_log.h"
#include "ms_ops.h"
#include "ms_port.h"
#include "ms_slow.h"
#include "ms_telemetry.h"
#include "ms_worker.h"

RTE_LOG_REGISTER(ms_logtype, migsec, INFO);

#define TICK_MS 100
#define RING_SIZE 4096

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	quit = 1;
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s -c FILE [--check]\n"
		"\n"
		"migsec data plane: seals live-migration traffic with ESP-in-UDP AES-256-GCM.\n"
		"\n"
		"  -c, --config FILE  libconfig file (see conf/migsec.conf.example)\n"
		"      --check        validate the configuration and crypto profile, then exit\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n"
		"\n"
		"SAs are installed through the control socket (control.socket), e.g. with\n"
		"migsec-dpctl. SIGINT/SIGTERM stop the workers, wipe every key and exit 0.\n"
		"Exit status: 0 clean stop, 1 configuration error, 2 usage, 3 start-up failure.\n",
		prog);
}

/* Keys must never reach a core dump or swap. */
static void
harden_process(void)
{
	struct rlimit no_core = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0)
		MS_LOG(WARNING, "cannot disable core dumps: %s", strerror(errno));
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		MS_LOG(WARNING, "mlockall failed (%s): key memory could be swapped", strerror(errno));
}

static int
setup_rings(struct ms_dp *dp, char *err, unsigned int errlen)
{
	char name[32];

	dp->slow_rx = rte_ring_create("ms_slow_rx", RING_SIZE, dp->socket, RING_F_SC_DEQ);
	dp->slow_tx = rte_ring_create("ms_slow_tx", RING_SIZE, dp->socket,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	dp->workers = rte_zmalloc_socket("ms_workers", sizeof(*dp->workers) * dp->nb_workers,
					 RTE_CACHE_LINE_SIZE, dp->socket);
	if (dp->slow_rx == NULL || dp->slow_tx == NULL || dp->workers == NULL)
		goto nomem;
	for (unsigned int i = 0; i < dp->nb_workers; i++) {
		snprintf(name, sizeof(name), "ms_handoff_%u", i);
		dp->workers[i].dp = dp;
		dp->workers[i].idx = i;
		dp->workers[i].handoff = rte_ring_create(name, RING_SIZE, dp->socket, RING_F_SC_DEQ);
		if (dp->workers[i].handoff == NULL)
			goto nomem;
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

/* Everything before the ports start; any failure leaves nothing running. */
static int
setup(struct ms_dp *dp, const struct ms_conf *conf, const struct ms_profile *prof,
      struct ms_cdev *cd, char *err, unsigned int errlen)
{
	struct ms_sa_env env = { 0 };
	int rc;

	dp->conf = conf;
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
			   dp->mbuf_pool, dp->socket, err, errlen);
	if (rc == 0)
		rc = ms_port_setup(&dp->port[MS_PORT_OUTER], &conf->outer,
				   (uint16_t)dp->nb_workers, dp->mbuf_pool, dp->socket, err, errlen);
	if (rc == 0)
		rc = setup_rings(dp, err, errlen);
	if (rc == 0)
		rc = setup_rcu(dp, err, errlen);
	if (rc == 0 && ms_stats_init(&dp->stats, dp->nb_workers, conf->max_sa, dp->socket) != 0)
		rc = -ENOMEM;
	if (rc == 0 && ms_neigh_init(&dp->neigh, 4096, dp->socket) != 0)
		rc = -ENOMEM;
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory during start-up");
		return rc;
	}
	env.cdev_id = dp->cdev_id;
	env.sess_pool = dp->sess_pool;
	env.outer_mac = dp->port[MS_PORT_OUTER].mac;
	env.outer_mtu = conf->outer.mtu;
	env.replay_default = conf->replay_window;
	env.socket = dp->socket;
	rc = ms_sadb_init(&dp->sadb, &env, &dp->stats, dp->rcu, conf->max_sa, ms_slow_nexthop, dp);
	if (rc == 0)
		rc = ms_sadb_publish_empty(&dp->sadb, err, errlen);
	if (rc == 0)
		rc = ms_telemetry_init(dp, dp->nb_workers);
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "cannot set up the SA tables or telemetry");
	return rc;
}

static void
control_loop(struct ms_dp *dp, struct ms_ctl *ctl)
{
	struct ms_slow slow;
	struct pollfd fds[16];
	uint64_t next_tick = 0, tick = dp->tsc_hz * TICK_MS / 1000;

	ms_slow_init(&slow, dp);
	while (!quit) {
		int n = ms_ctl_pollfds(ctl, fds, (int)RTE_DIM(fds));
		unsigned int done = ms_slow_poll(&slow);

		/* Sleep only when the slow path is idle. */
		if (poll(fds, (nfds_t)n, done ? 0 : 5) > 0)
			ms_ctl_service(ctl, fds, n);
		if (rte_get_timer_cycles() >= next_tick) {
			ms_slow_tick(&slow);
			next_tick = rte_get_timer_cycles() + tick;
		}
	}
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

static void
teardown(struct ms_dp *dp, struct ms_cdev *cd, bool ports_started)
{
	if (dp->sadb.sa != NULL)
		ms_sadb_fini(&dp->sadb);	/* every SA and session wiped */
	free_ring(dp->slow_rx);
	free_ring(dp->slow_tx);
	for (unsigned int i = 0; dp->workers && i < dp->nb_workers; i++)
		free_ring(dp->workers[i].handoff);
	ms_neigh_free(&dp->neigh);
	if (ports_started || dp->port[MS_PORT_INNER].conf) {
		if (dp->port[MS_PORT_INNER].conf)
			ms_port_close(&dp->port[MS_PORT_INNER]);
		if (dp->port[MS_PORT_OUTER].conf)
			ms_port_close(&dp->port[MS_PORT_OUTER]);
	}
	if (cd->sess_pool != NULL)
		ms_cdev_close(cd);
	ms_stats_free(&dp->stats);
	rte_free(dp->workers);
	rte_free(dp->rcu);
	rte_mempool_free(dp->mbuf_pool);
}

static int
launch(struct ms_dp *dp, char *err, unsigned int errlen)
{
	unsigned int lcore, i = 0;
	int rc;

	if ((rc = ms_port_start(&dp->port[MS_PORT_INNER], err, errlen)) ||
	    (rc = ms_port_start(&dp->port[MS_PORT_OUTER], err, errlen)))
		return rc;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		dp->workers[i].lcore = lcore;
		rc = rte_eal_remote_launch(ms_worker_main, &dp->workers[i], lcore);
		if (rc != 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u", lcore);
			return rc;
		}
		i++;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, const char **conf, bool *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*conf = optarg;
			break;
		case 'k':
			*check = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			exit(0);
		case 'V':
			printf("migsec-dataplane %s\n", MS_VERSION);
			exit(0);
		default:
			usage(stderr, argv[0]);
			return -EINVAL;
		}
	}
	if (optind != argc || *conf == NULL) {
		fprintf(stderr, "%s: %s\n", argv[0], *conf ? "unexpected argument" : "-c FILE is required");
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct ms_conf conf;
	static struct ms_profile prof;
	static struct ms_eal_args eal;
	static struct ms_dp dp;
	struct ms_cdev cd = { 0 };
	struct ms_ops_ctx ops = { .dp = &dp, .started = time(NULL) };
	struct ms_ctl *ctl = NULL;
	const char *path = NULL;
	bool check = false, started = false;
	char err[512] = "";
	int rc;

	if (parse_args(argc, argv, &path, &check) != 0)
		return 2;
	if (ms_conf_load(path, &conf, err, sizeof(err)) != 0 ||
	    ms_profile_load(&conf, &prof, err, sizeof(err)) != 0 ||
	    ms_eal_build(&conf, &prof, argv[0], &eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-dataplane: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK (appliance %s, crypto profile %s, policy %s)\n", path,
		       conf.name, prof.name, ms_policy_name(conf.policy));
		return 0;
	}
	if (eal.note[0])
		fprintf(stderr, "migsec-dataplane: %s\n", eal.note);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		fprintf(stderr, "migsec-dataplane: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 3;
	}
	harden_process();
	rc = setup(&dp, &conf, &prof, &cd, err, sizeof(err));
	if (rc == 0)
		rc = ms_ctl_open(&ctl, conf.ctl_socket, conf.ctl_user, ms_ops_handle, &ops, err,
				 sizeof(err));
	if (rc == 0 && !eal.no_huge && rte_pdump_init() != 0)
		MS_LOG(WARNING, "pdump unavailable: dpdk-dumpcap cannot capture");
	if (rc == 0) {
		rc = launch(&dp, err, sizeof(err));
		started = true;
	}
	if (rc == 0) {
		MS_LOG(INFO, "appliance %s running: %u worker(s), crypto %s, policy %s, control %s",
		       conf.name, dp.nb_workers, prof.device, ms_policy_name(conf.policy),
		       conf.ctl_socket);
		control_loop(&dp, ctl);
		MS_LOG(INFO, "stopping: workers, then every key");
	} else {
		fprintf(stderr, "migsec-dataplane: %s\n", err);
	}
	__atomic_store_n(&dp.stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	if (!eal.no_huge)
		rte_pdump_uninit();
	ms_ctl_close(ctl);
	teardown(&dp, &cd, started);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 3;
}
