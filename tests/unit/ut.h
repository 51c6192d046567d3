/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef UT_H
#define UT_H

/*
 * Unit-test support. A "rig" is a complete data plane in this process:
 * the real ms_dp_setup() with net_ring ports whose rings the test drives,
 * and the aesni_gcm crypto vdev. UT_WORKERS workers (queues), polled by the
 * test itself; frames go in on queue 0 unless a test says otherwise.
 */
#include <stdbool.h>
#include <stdint.h>

#include <CUnit/CUnit.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "ms_cdev.h"
#include "ms_dp.h"
#include "ms_profile.h"

/* Test addresses (RFC 5737). */
#define UT_HOST_A "192.0.2.1"
#define UT_HOST_B "192.0.2.2"
#define UT_OUTER_A "203.0.113.1"
#define UT_OUTER_B "203.0.113.2"

#define UT_WORKERS 2

struct ut_rig {
	struct ms_conf conf;
	struct ms_profile prof;
	struct ms_cdev cd;
	struct ms_dp dp;
	struct rte_ring *rx[MS_PORT_MAX][UT_WORKERS];	/* the test enqueues: port receives */
	struct rte_ring *tx[MS_PORT_MAX][UT_WORKERS];	/* the port sends: the test dequeues */
};

/*
 * The crypto profile of this run (pmd-profiles/NAME.conf; default
 * aesni_gcm): its devices are created by the EAL, the rigs and the
 * known-answer tests use its device.
 */
extern struct ms_profile ut_profile;
int ut_profile_load(const char *name, const char *primary, const char *secondary);

/*
 * EAL with ut_profile's devices, a per-process file prefix and no
 * hugepages, unless ut_eal_huge (256 MB of them, unlinked).
 */
extern bool ut_eal_huge;
int ut_eal_init(const char *prog);

/* The next rig's limits.max_sa (0: 64). */
extern unsigned int ut_rig_max_sa;
/* The next rig's ports: MTU 9600 and 10240-byte mbufs (4096 of them), as perf/bench's appliance. */
extern bool ut_rig_jumbo;
/* The next rig's poll.mode (default busy); interrupt: waits of at most 100 ms. */
extern enum ms_poll_mode ut_rig_poll;
int ut_rig_init(struct ut_rig *r);
void ut_rig_fini(struct ut_rig *r);
/*
 * A suite that runs on one rig with one random key||salt (36 bytes), both
 * kept by the suite's file: its set-up draws ks and builds r, its clean-up
 * tears r down. One such suite per process (the runner's).
 */
CU_pSuite ut_rig_suite(const char *name, struct ut_rig *r, uint8_t *ks);
/* Every worker on its own lcore (1, 2), and stopping them again. */
void ut_rig_launch(struct ut_rig *r);
void ut_rig_stop(struct ut_rig *r);
/* Poll the worker and the slow path until nothing moves (bounded). */
void ut_rig_run(struct ut_rig *r);
/* Frames a port sent (any queue); returns how many (at most max), caller frees. */
unsigned int ut_rig_take(struct ut_rig *r, enum ms_port_idx p, struct rte_mbuf **m,
			 unsigned int max);
/* ... sent on queue q only (queue q is worker q's). */
unsigned int ut_rig_take_q(struct ut_rig *r, enum ms_port_idx p, unsigned int q,
			   struct rte_mbuf **m, unsigned int max);
void ut_rig_drain(struct ut_rig *r);
/*
 * Put frames into port p's RX queue q from any thread, without polling;
 * returns how many fitted. (Frames the workers take from there: in a
 * ThreadSanitizer build, this and ut_rig_take_q() tell it of the hand-over.)
 */
unsigned int ut_rig_put(struct ut_rig *r, enum ms_port_idx p, unsigned int q,
			struct rte_mbuf **m, unsigned int n);
/* Hand frames to a port as if received (on queue 0, or q). */
void ut_rig_inject(struct ut_rig *r, enum ms_port_idx p, struct rte_mbuf **m, unsigned int n);
void ut_rig_inject_q(struct ut_rig *r, enum ms_port_idx p, unsigned int q, struct rte_mbuf **m,
		     unsigned int n);
/*
 * After a change to r->conf: publish it as a new snapshot, as the data plane
 * does with SA changes. Workers never read r->conf itself.
 */
void ut_conf_publish(struct ut_rig *r);
/* Sum of a drop reason's counters. */
uint64_t ut_drops(const struct ut_rig *r, enum ms_drop reason);

/* SA helpers: the A->B direction, seal (out) or open (in) with key||salt. */
void ut_spec(struct ms_sa_spec *s, uint32_t id, uint8_t dir, uint32_t spi, const uint8_t *ks,
	     uint64_t seq_start);
/* ut_spec (sequence from 1) installed in the rig's SAD; the key is wiped after. */
void ut_sa_add(struct ut_rig *r, uint32_t id, uint8_t dir, uint32_t spi, const uint8_t *ks);
void ut_sa_del(struct ut_rig *r, uint32_t id);

/* Packets. */
struct rte_mbuf *ut_frame_udp4(struct rte_mempool *mp, const char *src, const char *dst,
			       uint16_t sport, uint16_t dport, const uint8_t *payload,
			       uint16_t len);
/*
 * Independent ESP decryption (OpenSSL EVP): esp points at the SPI, ctlen
 * bytes of ciphertext follow the IV, then the ICV. Checks the ICV, the
 * trailer's next header and its padding (1, 2, 3, ...). Returns the inner
 * packet's length (copied to inner), or -1.
 */
#define UT_ESP_CT_MAX 4096
int ut_esp_decrypt(const uint8_t *esp, uint32_t ctlen, const uint8_t *ks, uint32_t seq_hi,
		   uint8_t next_hdr, uint8_t *inner);
/* The same for an outer IPv4/UDP frame (IPv4 inside): frame -> inner packet. */
int ut_esp_open(const uint8_t *frame, uint32_t len, const uint8_t *ks, uint32_t seq_hi,
		uint8_t *inner, uint32_t *inner_len, uint32_t *spi, uint32_t *seq);
/*
 * Independent ESP sealing (OpenSSL EVP): an outer IPv4/UDP/ESP frame from
 * A to B carrying inner (any bytes) with the given trailer next header and
 * pad length (pad bytes 1, 2, 3, ... unless bad_pad).
 */
struct rte_mbuf *ut_esp_seal(struct rte_mempool *mp, const uint8_t *ks, uint32_t spi,
			     uint64_t seq, const uint8_t *inner, uint32_t inner_len,
			     uint8_t next_hdr, uint8_t pad_len, bool bad_pad);

void ut_random(void *buf, size_t len);
/*
 * A random number below n (any if n is 0) from this process's seed, which
 * is printed on first use; MIGSEC_UT_SEED=N replays a run.
 */
uint32_t ut_rnd(uint32_t n);

/* Suites. */
void ut_suite_gcm(void);
void ut_suite_esp(void);
void ut_suite_replay(void);
void ut_suite_spd(void);
void ut_suite_spdx(void);	/* run with spd */
void ut_suite_conf(void);
void ut_suite_sel(void);
void ut_suite_wipe(void);
void ut_suite_crypto(void);
void ut_suite_cost(void);
void ut_suite_installs(void);
void ut_suite_ringbench(void);
void ut_suite_faults(void);
void ut_suite_slow(void);
void ut_suite_limits(void);
void ut_suite_live(void);
void ut_suite_intr(void);

#endif
