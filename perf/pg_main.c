/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-pktgen: set-up, the reporting main lcore, tear-down. The work is
 * in pg_loop() on the one worker lcore; both lcores sit on --cpu (the main
 * one sleeps). Set-up returns -errno; only main() exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "ms_huge.h"
#include "pg_opts.h"
#include "pg_report.h"

#define DATA_ROOM (10240 + RTE_PKTMBUF_HEADROOM)	/* jumbo frames in one segment */
#define DESC 1024
#define TICK_US 10000
#define START_TRIES 25

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	RTE_SET_USED(sig);
	quit = 1;
}

struct eal_argv {
	int argc;
	char *argv[48];
	char buf[48][576];
};

static void
add(struct eal_argv *a, const char *v)
{
	if (a->argc >= (int)RTE_DIM(a->argv) - 1)
		return;
	snprintf(a->buf[a->argc], sizeof(a->buf[0]), "%s", v);
	a->argv[a->argc] = a->buf[a->argc];
	a->argc++;
}

/* Hugepages when enough are free (as the data plane does), else --no-huge. */
static void
build_eal(const struct pg_opts *o, const char *prog, struct eal_argv *a)
{
	bool mounted;
	unsigned long free_mb = ms_huge_free_mb(&mounted);
	bool huge = o->huge == 1 || (o->huge == -1 && mounted && free_mb >= o->mem_mb);
	char v[64];

	memset(a, 0, sizeof(*a));
	add(a, prog);
	snprintf(v, sizeof(v), "0@%u,1@%u", o->cpu, o->cpu);
	add(a, "--lcores");
	add(a, v);
	add(a, "--file-prefix");
	add(a, o->prefix);
	snprintf(v, sizeof(v), "%u", o->mem_mb);
	add(a, "-m");
	add(a, v);
	if (!huge)
		add(a, "--no-huge");
	add(a, "--no-pci");
	snprintf(v, sizeof(v), "--log-level=%s", o->log_level);
	add(a, v);
	for (unsigned int i = 0; i < o->nb_ports; i++) {
		add(a, "--vdev");
		add(a, o->port[i]);
	}
	a->argv[a->argc] = NULL;
}

static int
port_setup(struct pg *pg, unsigned int idx, const char *vdev, uint16_t nq)
{
	struct rte_eth_conf conf = { 0 };
	struct pg_port *pt = &pg->port[idx];
	char name[128];
	size_t n = strcspn(vdev, ",");
	uint16_t rxd = DESC, txd = DESC;
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)RTE_MIN(n, sizeof(name) - 1), vdev);
	if (rte_eth_dev_get_port_by_name(name, &pt->id) != 0) {
		fprintf(stderr, "migsec-pktgen: port %s not found\n", name);
		return -ENODEV;
	}
	pt->nq = nq;
	rc = rte_eth_dev_configure(pt->id, nq, nq, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pt->id, &rxd, &txd);
	for (uint16_t q = 0; rc == 0 && q < nq; q++) {
		rc = rte_eth_rx_queue_setup(pt->id, q, rxd, rte_socket_id(), NULL, pg->pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(pt->id, q, txd, rte_socket_id(), NULL);
	}
	if (rc == 0) {
		/* Jumbo frames where the PMD has an MTU; memif has none to set. */
		(void)rte_eth_dev_set_mtu(pt->id, 9600);
		/* A memif server may still be closing its previous peer: retry a while. */
		for (int i = 0; i < START_TRIES; i++) {
			rc = rte_eth_dev_start(pt->id);
			if (rc == 0)
				break;
			usleep(200000);
		}
	}
	if (rc != 0) {
		fprintf(stderr, "migsec-pktgen: port %s: set-up failed: %s\n", name, strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(pt->id, &pt->mac);
	return 0;
}

/* memif ports are up once the peer connected: wait (bounded) for all. */
static void
wait_links(const struct pg *pg, double timeout_s)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(timeout_s * (double)pg->hz);

	while (rte_rdtsc() < end) {
		unsigned int up = 0;

		for (unsigned int p = 0; p < pg->nb_ports; p++) {
			struct rte_eth_link l;

			if (rte_eth_link_get_nowait(pg->port[p].id, &l) == 0 && l.link_status)
				up++;
		}
		if (up == pg->nb_ports) {
			usleep(50000);	/* the peer's side of the connection too */
			return;
		}
		usleep(TICK_US);
	}
	fprintf(stderr, "migsec-pktgen: not every port is up after %.0f s; going on\n", timeout_s);
}

static int
setup(struct pg *pg, const struct pg_opts *o)
{
	int rc = 0;

	pg->hz = rte_get_tsc_hz();
	pg->nb_ports = o->nb_ports;
	pg->pool = rte_pktmbuf_pool_create("pg_mbuf", o->mbufs, 256, 0, DATA_ROOM, rte_socket_id());
	if (pg->pool == NULL) {
		fprintf(stderr, "migsec-pktgen: cannot allocate %u mbufs (raise --mem)\n", o->mbufs);
		return -ENOMEM;
	}
	for (unsigned int p = 0; rc == 0 && p < o->nb_ports; p++)
		rc = port_setup(pg, p, o->port[p], (uint16_t)(p == (unsigned int)pg->imp.a ||
							       p == (unsigned int)pg->imp.b ? 1 : o->queues));
	if (rc == 0 && pg->gen.port >= 0 && (rc = pg_gen_init(pg)) == 0)
		pg_gen_assign(pg);
	if (rc == 0 && pg->sink_port >= 0)
		rc = pg_sink_init(pg);
	if (rc == 0 && pg->imp.a >= 0)
		rc = pg_impair_init(pg);
	if (rc == -ENOMEM)
		fprintf(stderr, "migsec-pktgen: out of memory (raise --mem)\n");
	if (rc == 0) {
		wait_links(pg, o->arp_timeout_s);
		if (o->linger) {	/* tell the driver that the memif connections are made */
			printf("ready\n");
			fflush(stdout);
		}
	}
	return rc;
}

static double
now_s(uint64_t t0, uint64_t hz)
{
	return (double)(rte_rdtsc() - t0) / (double)hz;
}

/* Should the run end now? Sets *err on a generator that never resolved. */
static bool
done(const struct pg *pg, const struct pg_opts *o, double t, uint64_t *idle_since, int *err)
{
	uint64_t hz = pg->hz, now = rte_rdtsc();
	uint64_t last = pg_get(&pg->sst.last_tsc);

	if (quit || (o->run_s > 0 && t >= o->run_s))
		return true;
	if (pg->gen.port >= 0 && !pg->gen.have_dmac && t > o->arp_timeout_s) {
		fprintf(stderr, "migsec-pktgen: next hop did not answer ARP within %.0f s\n",
			o->arp_timeout_s);
		*err = -EHOSTUNREACH;
		return true;
	}
	if (pg->gen.port >= 0 && __atomic_load_n(&pg->gst.done, __ATOMIC_ACQUIRE))
		return now - pg_get(&pg->gst.end_tsc) > hz * pg->gen_done_drain_ms / 1000;
	if (o->idle_exit_s > 0 && last != 0) {
		if (last != *idle_since)
			*idle_since = last;
		return now - last > (uint64_t)(o->idle_exit_s * (double)hz);
	}
	return false;
}

static int
run(struct pg *pg, const struct pg_opts *o)
{
	struct pg_report rep;
	uint64_t t0 = rte_rdtsc(), idle = 0;
	double next = o->interval_s, t = 0;
	int err = 0, rc = pg_report_open(&rep, o->csv);

	if (rc != 0) {
		fprintf(stderr, "migsec-pktgen: cannot open %s: %s\n", o->csv, strerror(-rc));
		return rc;
	}
	rc = rte_eal_remote_launch(pg_loop, pg, rte_get_next_lcore(-1, 1, 0));
	if (rc != 0) {
		fprintf(stderr, "migsec-pktgen: cannot launch the worker lcore\n");
		pg_report_close(&rep);
		return rc;
	}
	while (!done(pg, o, t, &idle, &err)) {
		usleep(TICK_US);
		t = now_s(t0, pg->hz);
		if (t >= next) {
			pg_report_tick(&rep, pg, t, o->quiet);
			next += o->interval_s;
		}
	}
	__atomic_store_n(&pg->stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	pg_report_final(&rep, pg, now_s(t0, pg->hz), o->json);
	pg_report_close(&rep);
	return err;
}

/*
 * Closing a memif port disconnects its peer, and DPDK 22.11's memif PMD
 * unmaps the shared rings while the peer's worker may be reading them
 * (SIGSEGV in eth_memif_rx). With --linger the ports stay open until stdin
 * ends, so that whoever drives the test can pause the peer first.
 */
static void
linger(void)
{
	char buf[256];

	fflush(stdout);
	while (fread(buf, 1, sizeof(buf), stdin) > 0)	/* signals do not end it: EOF does */
		;
}

static void
teardown(struct pg *pg)
{
	for (unsigned int p = 0; p < pg->nb_ports; p++) {
		rte_eth_dev_stop(pg->port[p].id);
		rte_eth_dev_close(pg->port[p].id);
	}
	rte_free(pg->is);
	rte_free(pg->ss);
	pg_hist_free(pg->hist);
	pg_gen_free(pg);
	rte_mempool_free(pg->pool);
}

int
main(int argc, char **argv)
{
	static struct pg pg;
	static struct pg_opts o;
	static struct eal_argv eal;
	int rc;

	if (pg_opts_parse(argc, argv, &o, &pg) != 0)
		return 2;
	build_eal(&o, argv[0], &eal);
	/* As in migsec-dataplane's serve(): six DPDK lines; common/ has no DPDK to share. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (rte_eal_init(eal.argc, eal.argv) < 0) {
		fprintf(stderr, "migsec-pktgen: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 3;
	}
	rc = setup(&pg, &o);
	if (rc == 0) {
		rc = run(&pg, &o);	/* always ends with the final report */
		if (o.linger)
			linger();
	}
	teardown(&pg);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 3;
}
