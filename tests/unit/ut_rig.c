/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "ms_port.h"
#include "ms_slow.h"
#include "ms_worker.h"
#include "ut.h"

/*
 * ThreadSanitizer build: the net_ring PMD moves the rigs' frames through
 * rte_rings inside librte_net_ring, which is not instrumented, so the
 * hand-over of a frame between the test thread and a worker lcore is
 * invisible to it. The rig says so where the hand-over happens: a release
 * before a frame goes into a port's RX ring and an acquire in the worker
 * once the port gave it out (an RX callback); a release in the worker
 * before the port takes frames to send (a TX callback) and an acquire
 * where the test takes them. Nothing else is annotated.
 */
#if defined(__SANITIZE_THREAD__)
#define UT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UT_TSAN 1
#endif
#endif
#ifdef UT_TSAN
#include <sanitizer/tsan_interface.h>

static uint16_t
rx_acquire(uint16_t port, uint16_t queue, struct rte_mbuf **m, uint16_t n, uint16_t max,
	   void *ring)
{
	RTE_SET_USED(port);
	RTE_SET_USED(queue);
	RTE_SET_USED(m);
	RTE_SET_USED(max);
	if (n > 0)
		__tsan_acquire(ring);
	return n;
}

static uint16_t
tx_release(uint16_t port, uint16_t queue, struct rte_mbuf **m, uint16_t n, void *ring)
{
	RTE_SET_USED(port);
	RTE_SET_USED(queue);
	RTE_SET_USED(m);
	__tsan_release(ring);
	return n;
}
#endif

static int
tsan_callbacks(struct ut_rig *r, char *err, size_t errlen)
{
#ifdef UT_TSAN
	for (int p = 0; p < MS_PORT_MAX; p++)
		for (uint16_t q = 0; q < UT_WORKERS; q++) {
			uint16_t port = r->dp.port[p].port_id;

			if (rte_eth_add_rx_callback(port, q, rx_acquire, r->rx[p][q]) == NULL ||
			    rte_eth_add_tx_callback(port, q, tx_release, r->tx[p][q]) == NULL) {
				snprintf(err, errlen, "cannot add the ThreadSanitizer callbacks to port %u",
					 port);
				return -1;
			}
		}
#else
	RTE_SET_USED(r);
	RTE_SET_USED(err);
	RTE_SET_USED(errlen);
#endif
	return 0;
}

struct ms_profile ut_profile;

unsigned int ut_rig_max_sa;
bool ut_rig_jumbo;
enum ms_poll_mode ut_rig_poll;
bool ut_eal_huge;

int
ut_profile_load(const char *name, const char *primary, const char *secondary)
{
	static struct ms_conf c;
	char err[1024];

	memset(&c, 0, sizeof(c));
	snprintf(c.file, sizeof(c.file), "(unit test)");
	snprintf(c.profile, sizeof(c.profile), "%s", name);
	snprintf(c.profile_dir, sizeof(c.profile_dir), "%s", UT_SRCDIR "/pmd-profiles");
	snprintf(c.primary, sizeof(c.primary), "%s", primary ? primary : "");
	snprintf(c.secondary, sizeof(c.secondary), "%s", secondary ? secondary : "");
	if (ms_profile_load(&c, &ut_profile, err, sizeof(err)) != 0) {
		fprintf(stderr, "ut: %s\n", err);
		return -1;
	}
	return 0;
}

int
ut_eal_init(const char *prog)
{
	char prefix[32];
	const struct ms_cdev_desc *d[3];
	/* main lcore + UT_WORKERS worker lcores, on whatever CPUs there are */
	char *argv[32] = { (char *)(uintptr_t)prog, "--lcores", "0@0,1@0,2@(0-1)", "--no-huge",
			   "-m", "256", "--no-pci", "--no-shconf", "--file-prefix", prefix,
			   "--log-level", "error" };
	int argc = 12;
	unsigned int nd = ms_profile_devices(&ut_profile, d);

	snprintf(prefix, sizeof(prefix), "ut%d", getpid());
	if (ut_eal_huge)	/* hugepages, unlinked once mapped: no file keeps what they hold */
		argv[3] = "--huge-unlink";
	for (unsigned int i = 0; i < nd; i++) {
		if (d[i]->pci[0] != '\0')	/* no PCI crypto device in unit tests */
			return -1;
		argv[argc++] = "--vdev";
		argv[argc++] = (char *)(uintptr_t)d[i]->vdev;
	}
	argv[argc++] = "--vdev";	/* a device without AES-GCM, for the start-up checks */
	argv[argc++] = "crypto_null0";
	argv[argc] = NULL;
	return rte_eal_init(argc, argv);
}

static void
set_mac(struct ms_dp *dp, enum ms_port_idx p, const char *ip, uint8_t last)
{
	struct rte_ether_addr mac = { .addr_bytes = { 0x02, 0, 0, 0, (uint8_t)p, last } };
	struct ms_ip a;

	ms_ip_parse(ip, &a);
	ms_neigh_set_mac(ms_neigh_get(&dp->neigh, p, &a), &mac);
}

static void
fill_conf(struct ms_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "ut");
	snprintf(c->file, sizeof(c->file), "(unit test)");
	/* rte_eth_from_rings() names its ports net_ring_<name> */
	snprintf(c->inner.device, sizeof(c->inner.device), "net_ring_ut_inner");
	snprintf(c->outer.device, sizeof(c->outer.device), "net_ring_ut_outer");
	ms_prefix_parse("192.0.2.0/24", &c->inner.addr4);
	ms_ip_parse("192.0.2.253", &c->inner.addr4.ip);
	ms_prefix_parse("203.0.113.0/24", &c->outer.addr4);
	ms_ip_parse(UT_OUTER_A, &c->outer.addr4.ip);
	c->inner.mtu = c->outer.mtu = 1500;
	c->inner.rx_desc = c->inner.tx_desc = c->outer.rx_desc = c->outer.tx_desc = 512;
	c->udp_port = 4500;
	c->nb_remote = 1;
	ms_prefix_parse(UT_HOST_B "/32", &c->remote[0].prefix);
	ms_ip_parse(UT_OUTER_B, &c->remote[0].via);
	c->remote[0].proxy = true;
	c->policy = MS_POLICY_DISCARD;
	c->replay_window = 1024;
	c->mss_clamp = true;
	c->max_sa = ut_rig_max_sa ? ut_rig_max_sa : 64;
	c->sessions = RTE_MAX(256u, c->max_sa);
	c->mbufs = ut_rig_jumbo ? 4096 : 8192;
	c->mbuf_size = ut_rig_jumbo ? 10240 : 2176;
	if (ut_rig_jumbo)
		c->inner.mtu = c->outer.mtu = 9600;
	c->burst = 32;
	c->poll.mode = ut_rig_poll;
	c->poll.spin_polls = 512;
	c->poll.sleep_after_us = 100;
	c->poll.sleep_max_us = 100000;
}

int
ut_rig_init(struct ut_rig *r)
{
	static const char *const pname[MS_PORT_MAX] = { "ut_inner", "ut_outer" };
	char err[256] = "", name[32];
	int rc;

	memset(r, 0, sizeof(*r));
	fill_conf(&r->conf);
	r->prof = ut_profile;
	for (int p = 0; p < MS_PORT_MAX; p++) {
		for (int q = 0; q < UT_WORKERS; q++) {
			snprintf(name, sizeof(name), "ut_rx%d_%d", p, q);
			r->rx[p][q] = rte_ring_create(name, 16384, SOCKET_ID_ANY,
						      RING_F_SP_ENQ | RING_F_SC_DEQ);
			snprintf(name, sizeof(name), "ut_tx%d_%d", p, q);
			r->tx[p][q] = rte_ring_create(name, 16384, SOCKET_ID_ANY,
						      RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r->rx[p][q] == NULL || r->tx[p][q] == NULL)
				return -1;
		}
		if (rte_eth_from_rings(pname[p], r->rx[p], UT_WORKERS, r->tx[p], UT_WORKERS, 0) < 0) {
			fprintf(stderr, "ut: cannot create ring port %s\n", pname[p]);
			return -1;
		}
	}
	rc = ms_dp_setup(&r->dp, &r->conf, &r->prof, &r->cd, err, sizeof(err));
	if (rc == 0)
		rc = tsan_callbacks(r, err, sizeof(err));
	if (rc == 0)
		rc = ms_port_start(&r->dp.port[MS_PORT_INNER], err, sizeof(err));
	if (rc == 0)
		rc = ms_port_start(&r->dp.port[MS_PORT_OUTER], err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "ut: rig set-up failed: %s\n", err);
		ms_dp_teardown(&r->dp, &r->cd);
		return rc;
	}
	set_mac(&r->dp, MS_PORT_OUTER, UT_OUTER_B, 0xb0);
	set_mac(&r->dp, MS_PORT_INNER, UT_HOST_A, 0xa1);
	set_mac(&r->dp, MS_PORT_INNER, UT_HOST_B, 0xb1);
	return 0;
}

void
ut_rig_drain(struct ut_rig *r)
{
	struct rte_mbuf *m[64];
	unsigned int n;

	for (int p = 0; p < MS_PORT_MAX; p++)
		while ((n = ut_rig_take(r, (enum ms_port_idx)p, m, RTE_DIM(m))) > 0)
			rte_pktmbuf_free_bulk(m, n);
}

void
ut_rig_fini(struct ut_rig *r)
{
	ut_rig_drain(r);
	ms_dp_teardown(&r->dp, &r->cd);
	for (int p = 0; p < MS_PORT_MAX; p++)
		for (int q = 0; q < UT_WORKERS; q++) {
			rte_ring_free(r->rx[p][q]);
			rte_ring_free(r->tx[p][q]);
		}
}

/* The rig and key of this process's ut_rig_suite(). */
static struct ut_rig *suite_rig;
static uint8_t *suite_ks;

static int
rig_suite_init(void)
{
	ut_random(suite_ks, 36);
	return ut_rig_init(suite_rig);
}

static int
rig_suite_fini(void)
{
	ut_rig_fini(suite_rig);
	return 0;
}

CU_pSuite
ut_rig_suite(const char *name, struct ut_rig *r, uint8_t *ks)
{
	suite_rig = r;
	suite_ks = ks;
	return CU_add_suite(name, rig_suite_init, rig_suite_fini);
}

static bool
busy(struct ut_rig *r)
{
	for (unsigned int q = 0; q < UT_WORKERS; q++) {
		const struct ms_worker *w = &r->dp.workers[q];

		if (rte_ring_count(r->rx[0][q]) || rte_ring_count(r->rx[1][q]) || w->inflight)
			return true;
	}
	return rte_ring_count(r->dp.slow_rx) || rte_ring_count(r->dp.slow_tx);
}

void
ut_rig_run(struct ut_rig *r)
{
	struct ms_slow slow;
	int idle = 0;

	/* Online while polling; offline again so that SA changes made by this
	 * same thread between runs need not wait for it. */
	for (unsigned int q = 0; q < UT_WORKERS; q++)
		rte_rcu_qsbr_thread_online(r->dp.rcu, q);
	ms_slow_init(&slow, &r->dp);
	for (int i = 0; i < 100000 && idle < 3; i++) {
		bool b = busy(r);

		for (unsigned int q = 0; q < UT_WORKERS; q++)
			ms_worker_poll_once(&r->dp.workers[q]);
		/* The slow path may wait for a grace period (a neighbour entry
		 * reused): the workers, this same thread, are not reading then. */
		for (unsigned int q = 0; q < UT_WORKERS; q++)
			rte_rcu_qsbr_thread_offline(r->dp.rcu, q);
		ms_slow_poll(&slow);
		for (unsigned int q = 0; q < UT_WORKERS; q++)
			rte_rcu_qsbr_thread_online(r->dp.rcu, q);
		idle = b ? 0 : idle + 1;
	}
	for (unsigned int q = 0; q < UT_WORKERS; q++)
		rte_rcu_qsbr_thread_offline(r->dp.rcu, q);
}

unsigned int
ut_rig_take_q(struct ut_rig *r, enum ms_port_idx p, unsigned int q, struct rte_mbuf **m,
	      unsigned int max)
{
	unsigned int n = rte_ring_sc_dequeue_burst(r->tx[p][q], (void **)m, max, NULL);

#ifdef UT_TSAN
	if (n > 0)
		__tsan_acquire(r->tx[p][q]);
#endif
	return n;
}

unsigned int
ut_rig_take(struct ut_rig *r, enum ms_port_idx p, struct rte_mbuf **m, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < UT_WORKERS && n < max; q++)
		n += ut_rig_take_q(r, p, q, m + n, max - n);
	return n;
}

unsigned int
ut_rig_put(struct ut_rig *r, enum ms_port_idx p, unsigned int q, struct rte_mbuf **m,
	   unsigned int n)
{
#ifdef UT_TSAN
	__tsan_release(r->rx[p][q]);
#endif
	return rte_ring_sp_enqueue_burst(r->rx[p][q], (void **)m, n, NULL);
}

void
ut_rig_inject_q(struct ut_rig *r, enum ms_port_idx p, unsigned int q, struct rte_mbuf **m,
		unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		done += ut_rig_put(r, p, q, m + done, n - done);
		if (done < n)
			ut_rig_run(r);
	}
}

void
ut_rig_inject(struct ut_rig *r, enum ms_port_idx p, struct rte_mbuf **m, unsigned int n)
{
	ut_rig_inject_q(r, p, 0, m, n);
}

void
ut_conf_publish(struct ut_rig *r)
{
	char err[256] = "";

	CU_ASSERT_EQUAL_FATAL(ms_sadb_publish(&r->dp.sadb, err, sizeof(err)), 0);
}

uint64_t
ut_drops(const struct ut_rig *r, enum ms_drop reason)
{
	struct ms_lcore_stats s;

	ms_stats_sum(&r->dp.stats, &s);
	return s.drop[reason];
}

void
ut_spec(struct ms_sa_spec *s, uint32_t id, uint8_t dir, uint32_t spi, const uint8_t *ks,
	uint64_t seq_start)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->spi = spi;
	s->dir = dir;
	s->inner_af = MS_AF_INET;
	s->sport = s->dport = 4500;
	s->seq_start = seq_start;
	/* One rig plays both appliances: outbound A->B, inbound "at B". */
	ms_ip_parse(dir == MS_DIR_OUT ? UT_OUTER_A : UT_OUTER_B, &s->local);
	ms_ip_parse(dir == MS_DIR_OUT ? UT_OUTER_B : UT_OUTER_A, &s->peer);
	s->nb_sel = 1;
	ms_prefix_parse(UT_HOST_A "/32", &s->sel[0].src);
	ms_prefix_parse(UT_HOST_B "/32", &s->sel[0].dst);
	s->sel[0].sport_hi = s->sel[0].dport_hi = 65535;
	memcpy(s->key, ks, MS_KEY_LEN);
	memcpy(s->salt, ks + MS_KEY_LEN, MS_SALT_LEN);
	snprintf(s->tag, sizeof(s->tag), "ut-%u", id);
}

void
ut_sa_add(struct ut_rig *r, uint32_t id, uint8_t dir, uint32_t spi, const uint8_t *ks)
{
	struct ms_sa_spec s;
	char err[256] = "";

	ut_spec(&s, id, dir, spi, ks, 1);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&r->dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
}

void
ut_sa_del(struct ut_rig *r, uint32_t id)
{
	char err[128];

	CU_ASSERT_EQUAL(ms_sadb_del(&r->dp.sadb, id, err, sizeof(err)), 0);
}

void
ut_rig_launch(struct ut_rig *r)
{
	__atomic_store_n(&r->dp.stop, 0, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < UT_WORKERS; i++)
		CU_ASSERT_EQUAL_FATAL(rte_eal_remote_launch(ms_worker_main, &r->dp.workers[i],
							    i + 1), 0);
}

void
ut_rig_stop(struct ut_rig *r)
{
	__atomic_store_n(&r->dp.stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < UT_WORKERS; i++)
		rte_eal_wait_lcore(i + 1);
	__atomic_store_n(&r->dp.stop, 0, __ATOMIC_RELAXED);
}
