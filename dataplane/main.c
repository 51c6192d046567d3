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

#include "ms_heapwipe.h"
#include "ms_cdev.h"
#include "ms_ctl_server.h"
#include "ms_eal.h"
#include "ms_failover.h"
#include "ms_idle.h"
#include "ms_power.h"
#include "ms_log.h"
#include "ms_ops.h"
#include "ms_port.h"
#include "ms_slow.h"
#include "ms_telemetry.h"
#include "ms_worker.h"

#define TICK_MS 100

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

/*
 * Keys must never reach a core dump or swap. If either cannot be ensured
 * the data plane does not start, so that it never holds a key unprotected,
 * unless the operator said otherwise (hardening.required = false): then
 * each failure is logged. 0, or -errno with the reason in err.
 */
static int
harden_process(const struct ms_conf *conf, char *err, unsigned int errlen)
{
	struct rlimit no_core = { 0, 0 };
	int rc = 0;

	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot disable core dumps: %s", strerror(-rc));
	} else if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot lock memory (mlockall: %s): keys could reach swap; "
			 "grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK", strerror(-rc));
	}
	if (rc == 0 || conf->harden_required)
		return rc;
	MS_LOG(WARNING, "%s; starting anyway (hardening.required = false)", err);
	return 0;
}

static void
control_loop(struct ms_dp *dp, struct ms_ctl *ctl, struct ms_cdev *cd)
{
	struct ms_slow slow;
	struct pollfd fds[16];
	uint64_t next_tick = 0, tick = dp->tsc_hz * TICK_MS / 1000, lost = 0;

	ms_slow_init(&slow, dp);
	while (!quit) {
		int n = ms_ctl_pollfds(ctl, fds, (int)RTE_DIM(fds));
		unsigned int done = ms_slow_poll(&slow);

		/* Sleep only when the slow path is idle. */
		if (poll(fds, (nfds_t)n, done ? 0 : 5) > 0)
			ms_ctl_service(ctl, fds, n);
		if (rte_get_timer_cycles() >= next_tick) {
			ms_slow_tick(&slow);
			/* Lifetimes hold even when migsec-control is gone. */
			ms_sadb_expire(&dp->sadb, (uint64_t)time(NULL));
			ms_failover_watch(dp, cd, &lost);
			next_tick = rte_get_timer_cycles() + tick;
		}
	}
}

static int
launch(struct ms_dp *dp, char *err, unsigned int errlen)
{
	unsigned int lcore, i = 0;
	int rc;

	RTE_LCORE_FOREACH_WORKER(lcore)
		dp->workers[i++].lcore = lcore;
	/* lib/power attaches to RX queues before their ports start. */
	if ((rc = ms_power_enable(dp, err, errlen)) ||
	    (rc = ms_port_start(&dp->port[MS_PORT_INNER], err, errlen)) ||
	    (rc = ms_port_start(&dp->port[MS_PORT_OUTER], err, errlen)))
		return rc;
	i = 0;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		rc = rte_eal_remote_launch(ms_worker_main, &dp->workers[i], lcore);
		if (rc != 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u", lcore);
			return rc;
		}
		i++;
	}
	return 0;
}

static const char *
crypto_str(const struct ms_profile *p, char *b, size_t len)
{
	if (p->failover)
		snprintf(b, len, "%s (profile %s: primary %s, secondary %s)", p->dev.device,
			 p->name, p->member[MS_PRIMARY].device, p->member[MS_SECONDARY].device);
	else
		snprintf(b, len, "%s (profile %s)", p->dev.device, p->name);
	return b;
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

/* Every key wiped, the EAL released; workers stop first. */
static void
stop(struct ms_dp *dp, struct ms_ctl *ctl, struct ms_cdev *cd, const struct ms_eal_args *eal)
{
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	if (!eal->no_huge)
		rte_pdump_uninit();
	ms_ctl_close(ctl);
	ms_dp_teardown(dp, cd);
	rte_eal_cleanup();
}

/* EAL, context, control socket, workers; then the control loop until SIGINT/SIGTERM. */
static int
serve(const struct ms_conf *conf, const struct ms_profile *prof, struct ms_eal_args *eal)
{
	static struct ms_dp dp;
	struct ms_cdev cd = { 0 };
	struct ms_ops_ctx ops = { .dp = &dp, .cd = &cd, .prof = prof, .started = time(NULL) };
	struct ms_ctl *ctl = NULL;
	char err[1024] = "", cs[4 * MS_DEV_MAX];
	int rc;

	/* As in migsec-pktgen's main(): six DPDK lines; common/ has no DPDK to share. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eal_init(eal->argc, eal->argv) < 0) {
		fprintf(stderr, "migsec-dataplane: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 3;
	}
	if (harden_process(conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-dataplane: %s; refusing to hold keys (set hardening.required "
			"= false to start anyway)\n", err);
		rte_eal_cleanup();
		return 3;
	}
	rc = ms_dp_setup(&dp, conf, prof, &cd, err, sizeof(err));
	if (rc == 0)
		rc = ms_ctl_open(&ctl, conf->ctl_socket, conf->ctl_user, ms_ops_handle, &ops, err,
				 sizeof(err));
	/* dpdk-dumpcap is a secondary process: it needs the hugepage files. */
	if (rc == 0 && !eal->no_huge && !conf->huge_unlink && rte_pdump_init() != 0)
		MS_LOG(WARNING, "pdump unavailable: dpdk-dumpcap cannot capture");
	if (rc == 0)
		rc = launch(&dp, err, sizeof(err));
	if (rc == 0) {
		MS_LOG(INFO, "appliance %s running: %u worker(s), crypto %s, policy %s, control %s",
		       conf->name, dp.nb_workers, crypto_str(prof, cs, sizeof(cs)),
		       ms_policy_name(conf->policy), conf->ctl_socket);
		control_loop(&dp, ctl, &cd);
		MS_LOG(INFO, "stopping: workers, then every key");
	} else {
		fprintf(stderr, "migsec-dataplane: %s\n", err);
	}
	stop(&dp, ctl, &cd, eal);
	return rc == 0 ? 0 : 3;
}

int
main(int argc, char **argv)
{
	static struct ms_conf conf;
	static struct ms_profile prof;
	static struct ms_eal_args eal;
	const char *path = NULL;
	bool check = false;
	char err[1024] = "", cs[4 * MS_DEV_MAX];

	/* Before anything allocates through libcrypto (the openssl crypto device). */
	if (ms_heapwipe_init() != 0) {
		fprintf(stderr, "migsec-dataplane: cannot make libcrypto wipe what it frees "
			"(CRYPTO_set_mem_functions refused: something allocated before main)\n");
		return 1;
	}
	if (parse_args(argc, argv, &path, &check) != 0)
		return 2;
	if (ms_conf_load(path, &conf, err, sizeof(err)) != 0 ||
	    ms_profile_load(&conf, &prof, err, sizeof(err)) != 0 ||
	    ms_eal_build(&conf, &prof, argv[0], &eal, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-dataplane: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK (appliance %s, crypto %s, policy %s)\n", path,
		       conf.name, crypto_str(&prof, cs, sizeof(cs)), ms_policy_name(conf.policy));
		return 0;
	}
	if (eal.note[0])
		fprintf(stderr, "migsec-dataplane: %s\n", eal.note);
	return serve(&conf, &prof, &eal);
}
