/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness: the inbound data path. One input is one raw Ethernet frame
 * arriving on the outer port of a whole data plane in this process (the
 * unit tests' rig: net_ring ports, the aesni_gcm crypto device, two
 * workers): classification, the outer checks, SPI lookup, the replay
 * window, ESP decryption, the trailer and selector checks, delivery, and
 * the slow path (ARP, ND).
 *
 * The frame is a copy in its own malloc()ed buffer, attached to the mbuf as
 * an external buffer, with AddressSanitizer poisoning before and after it:
 * a read outside the frame is reported, although DPDK's own memory is not
 * instrumented. (The 12 bytes after the frame stay readable: lib/ipsec puts
 * the GCM AAD there, and migsec writes it.)
 *
 * The same frame also arrives on the second worker's queue: that worker
 * checks it against the same shared window, and a copy of an authentic
 * packet must then be dropped as a replay. After every input:
 *  - anything delivered on the inner port is checked against an
 *    independent decryption of the input (OpenSSL) or, for a bypass rule's
 *    plaintext, against the input's own bytes; at most one copy;
 *  - every frame received is accounted for once: opened, bypassed, handed
 *    to the slow path, or dropped under one reason;
 *  - the mbuf and crypto-op pools are as full as before (no leak).
 * The windows are reset before every input, so an input means the same
 * thing whenever it runs.
 *
 * An input that starts "SEAL" is sealed mode (fz_seal.h): the harness
 * seals the fuzzer's plaintext with its key, and the oracle's other
 * direction applies as well: an authentic frame is delivered, exactly as
 * sealed, unless a documented rule drops it, and then it is counted under
 * that rule's reason and no other (its copy likewise: a replay once the
 * number was recorded).
 *
 * An input that starts "TOPW" (fz_seal.h) first sets the windows' top,
 * so that numbers past 2^32 are judged and opened with their ESN high
 * half, which the oracle reconstructs itself (rule 6).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mempool.h>

#include <sanitizer/asan_interface.h>

#include "ms_sadb.h"
#include "ut.h"
#include "fz_seal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fz_inbound: %s:%d: %s\n", __FILE__, \
	__LINE__, #c); abort(); } } while (0)

/*
 * Test-only keys (key || salt), also in tests/fuzz/mkcorpus.py, which
 * seals the seed frames with them: byte i is base + i.
 */
#define KS4_BASE 0x10
#define KS6_BASE 0x40
#define SPI4 0x1001
#define SPI6 0x1006
#define HEADROOM RTE_PKTMBUF_HEADROOM
#define TAILROOM 32	/* what the inbound path requires */
#define AAD_ROOM 12	/* where lib/ipsec puts the AAD: not poisoned */

static struct ut_rig rig;
static void sealed_report(void);
static uint8_t ks4[36], ks6[36];
static unsigned int pool_mbufs, pool_cops;
static struct rte_ether_addr mac_b4, mac_b6;
static uint32_t max_frame;
static uint64_t win_top;	/* this input's window top (fz_top) */

static void
add_sa(uint32_t id, uint8_t dir, uint32_t spi, const uint8_t *ks, uint8_t af, const char *src,
       const char *dst)
{
	struct ms_sa_spec s;
	char err[256] = "";

	ut_spec(&s, id, dir, spi, ks, 1);
	s.inner_af = af;
	CHECK(ms_prefix_parse(src, &s.sel[0].src) == 0 && ms_prefix_parse(dst, &s.sel[0].dst) == 0);
	if (ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "fz_inbound: SA %u: %s\n", id, err);
		exit(1);
	}
	explicit_bzero(&s, sizeof(s));
}

static void
set_mac(const char *ip, struct rte_ether_addr *mac, uint8_t last)
{
	struct ms_ip a;

	*mac = (struct rte_ether_addr){ .addr_bytes = { 0x02, 0, 0, 0, 0, last } };
	CHECK(ms_ip_parse(ip, &a) == 0);
	ms_neigh_set_mac(ms_neigh_get(&rig.dp.neigh, MS_PORT_INNER, &a), mac);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	/* the unit tests' default crypto profile (software, no hardware) */
	if (ut_profile_load("aesni_gcm", NULL, NULL) != 0 || ut_eal_init((*argv)[0]) < 0 ||
	    ut_rig_init(&rig) != 0) {
		fprintf(stderr, "fz_inbound: cannot set up the data plane\n");
		exit(1);
	}
	for (int i = 0; i < 36; i++) {
		ks4[i] = (uint8_t)(KS4_BASE + i);
		ks6[i] = (uint8_t)(KS6_BASE + i);
	}
	/* IPv6 on the inner link too, so that IPv6 inner packets have a route. */
	CHECK(ms_prefix_parse("2001:db8:1::/64", &rig.conf.inner.addr6) == 0);
	CHECK(ms_ip_parse("2001:db8:1::fd", &rig.conf.inner.addr6.ip) == 0);
	set_mac(UT_HOST_B, &mac_b4, 0xb1);
	set_mac("2001:db8:1::2", &mac_b6, 0xb6);
	add_sa(1, MS_DIR_IN, SPI4, ks4, MS_AF_INET, UT_HOST_A "/32", UT_HOST_B "/32");
	add_sa(2, MS_DIR_IN, SPI6, ks6, MS_AF_INET6, "2001:db8:1::1/128", "2001:db8:1::2/128");
	add_sa(3, MS_DIR_BYPASS, 0, ks4, MS_AF_INET, "198.51.100.0/24", UT_HOST_B "/32");
	ut_rig_run(&rig);	/* what set-up queued (ARP for the peer) leaves */
	ut_rig_drain(&rig);
	pool_mbufs = rte_mempool_avail_count(rig.dp.mbuf_pool);
	pool_cops = rte_mempool_avail_count(rig.dp.cop_pool);
	/* What a port could hand over: the data room of one mbuf. */
	max_frame = rig.conf.mbuf_size;
	atexit(sealed_report);
	return 0;
}

/* Before each input: no owner, and windows fresh or with top recorded. */
static void
reset_sas(uint64_t top)
{
	for (uint32_t s = 0; s < rig.dp.sadb.max_sa; s++) {
		struct ms_sa *sa = rig.dp.sadb.sa[s];

		if (sa == NULL || sa->spec.dir != MS_DIR_IN)
			continue;
		ms_replay_init(sa->rt->replay, top);
		if (top != 0)	/* top itself was seen */
			ms_replay_update(sa->rt->replay, top, sa->rt->replay_win);
	}
}

struct ext {
	struct rte_mbuf_ext_shared_info shinfo;
	uint32_t len;
};

static void
ext_free(void *addr, void *opaque)
{
	struct ext *e = opaque;

	ASAN_UNPOISON_MEMORY_REGION(addr, HEADROOM + e->len + TAILROOM);
	free(addr);
	free(e);
}

/* An mbuf whose data is a copy of the input in its own poisoned buffer. */
static struct rte_mbuf *
frame(const uint8_t *data, size_t size)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(rig.dp.mbuf_pool);
	struct ext *e = calloc(1, sizeof(*e));
	uint8_t *buf = malloc(HEADROOM + size + TAILROOM);

	CHECK(m != NULL && e != NULL && buf != NULL);
	memcpy(buf + HEADROOM, data, size);
	memset(buf + HEADROOM + size, 0, TAILROOM);
	e->len = (uint32_t)size;
	e->shinfo.free_cb = ext_free;
	e->shinfo.fcb_opaque = e;
	rte_mbuf_ext_refcnt_set(&e->shinfo, 1);
	rte_pktmbuf_attach_extbuf(m, buf, (rte_iova_t)(uintptr_t)buf,
				  (uint16_t)(HEADROOM + size + TAILROOM), &e->shinfo);
	m->data_off = HEADROOM;
	m->data_len = (uint16_t)size;
	m->pkt_len = (uint32_t)size;
	ASAN_POISON_MEMORY_REGION(buf, HEADROOM);
	ASAN_POISON_MEMORY_REGION(buf + HEADROOM + size + AAD_ROOM, TAILROOM - AAD_ROOM);
	return m;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The oracle: if the input is ESP that one of the two SAs authenticates
 * (outer IPv4 203.0.113.1 -> .2, UDP 4500 -> 4500, as the SAs expect),
 * the inner packet it carries; its length, or 0.
 */
static uint32_t
open_independently(const uint8_t *f, size_t size, uint8_t *inner)
{
	static const uint8_t src[4] = { 203, 0, 113, 1 }, dst[4] = { 203, 0, 113, 2 };
	const uint8_t *ip = f + 14, *esp = f + 42, *ks;
	uint32_t tot, spi, seq, ctlen;
	uint64_t sqn;
	uint8_t nh;
	int n;

	if (size < 42 + 16 + 16 + 4 || be16(f + 12) != RTE_ETHER_TYPE_IPV4 || ip[0] != 0x45 ||
	    ip[9] != IPPROTO_UDP || memcmp(ip + 12, src, 4) || memcmp(ip + 16, dst, 4) ||
	    be16(ip + 20) != 4500 || be16(ip + 22) != 4500)
		return 0;
	tot = be16(ip + 2);
	if (tot > size - 14 || tot < 20 + 8 + 16 + 16 + 4 || be16(ip + 24) != tot - 20)
		return 0;
	spi = be32(esp);
	seq = be32(esp + 4);
	if (spi == SPI4) {
		ks = ks4;
		nh = IPPROTO_IPIP;
	} else if (spi == SPI6) {
		ks = ks6;
		nh = IPPROTO_IPV6;
	} else {
		return 0;
	}
	ctlen = tot - 20 - 8 - 16 - 16;
	sqn = fz_esn(win_top, seq);	/* rule 6, not the data plane's code */
	if (ctlen > UT_ESP_CT_MAX || fz_outside(win_top, sqn, rig.conf.replay_window) ||
	    sqn == win_top)
		return 0;	/* the window drops it: outside, or the top, which is recorded */
	n = ut_esp_decrypt(esp, ctlen, ks, (uint32_t)(sqn >> 32), nh, inner);
	return n < 0 ? 0 : (uint32_t)n;
}

/*
 * A delivered frame: exactly what the input carried, to host B. Returns
 * whether it was plaintext (a bypass rule's, which has no replay window).
 */
static bool
check_delivered(struct rte_mbuf *m, const uint8_t *data, size_t size)
{
	static uint8_t inner[4096];
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t n = open_independently(data, size, inner);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;

	CHECK(rte_pktmbuf_is_contiguous(m) && m->pkt_len >= 14 + 20);
	if (n == 0) {
		/* Not authentic ESP: only a bypass rule's plaintext, unchanged. */
		const uint8_t *ip = data + 14;
		static const uint8_t net[3] = { 198, 51, 100 };

		CHECK(size >= 14 + 20 && (ip[0] >> 4) == 4 && memcmp(ip + 12, net, 3) == 0);
		CHECK(m->pkt_len - 14 == be16(ip + 2) && m->pkt_len <= size);
		CHECK(memcmp(f + 14, ip, m->pkt_len - 14) == 0);
	} else {
		CHECK(m->pkt_len - 14 == n && memcmp(f + 14, inner, n) == 0);
	}
	CHECK(rte_is_same_ether_addr(&eth->dst_addr, (f[14] >> 4) == 4 ? &mac_b4 : &mac_b6));
	return n == 0;
}

static uint64_t
worker_drops(void)
{
	uint64_t n = 0;

	for (unsigned int w = 0; w < rig.dp.nb_workers; w++)
		for (int r = 0; r < MS_DROP_MAX; r++)
			n += rig.dp.stats.lc[w].drop[r];
	return n;
}

/* Every received frame ends once: opened, bypassed, slow path, or a worker's drop. */
static uint64_t
fates(const struct ms_lcore_stats *s)
{
	return s->opened_pkts + s->bypass_pkts + s->slowpath_pkts + worker_drops();
}

static void
drops_now(uint64_t *d)
{
	for (int r = 0; r < MS_DROP_MAX; r++)
		d[r] = ut_drops(&rig, (enum ms_drop)r);
}

#define DROP_NAME(e, name, tamper, help) name,
static const char *const drop_name[] = { MS_DROP_REASONS(DROP_NAME) };

/* How deep the sealed inputs went: printed when the fuzzer exits. */
static uint64_t sealed_fate[MS_DROP_MAX + 1];

static void
sealed_report(void)
{
	fprintf(stderr, "fz_inbound: sealed inputs: delivered %llu",
		(unsigned long long)sealed_fate[MS_DROP_MAX]);
	for (int r = 0; r < MS_DROP_MAX; r++)
		if (sealed_fate[r])
			fprintf(stderr, ", %s %llu", drop_name[r], (unsigned long long)sealed_fate[r]);
	fprintf(stderr, "\n");
}

/* Sealed mode: each copy's fate is the one the documented rules give. */
static void
check_sealed(const struct fz_sealed *s, struct rte_mbuf **got, unsigned int n, const uint64_t *d0)
{
	uint64_t d1[MS_DROP_MAX], want[MS_DROP_MAX] = { 0 };
	bool ok = true;

	drops_now(d1);
	if (s->expect >= 0)
		want[s->expect]++;
	want[s->expect_copy]++;
	for (int r = 0; r < MS_DROP_MAX; r++) {
		if (d1[r] - d0[r] == want[r])
			continue;
		fprintf(stderr, "fz_inbound: sealed: %s: %llu drops, the rules say %llu\n",
			drop_name[r], (unsigned long long)(d1[r] - d0[r]),
			(unsigned long long)want[r]);
		ok = false;
	}
	CHECK(ok);
	CHECK(n == (s->expect < 0 ? 1u : 0u));
	sealed_fate[s->expect < 0 ? MS_DROP_MAX : s->expect]++;
	if (n == 1)
		CHECK(got[0]->pkt_len == 14 + s->inner_len &&
		      memcmp(rte_pktmbuf_mtod_offset(got[0], const uint8_t *, 14), s->inner,
			     s->inner_len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_sealed sealed;
	struct ms_lcore_stats before, after;
	struct rte_mbuf *m, *got[8];
	uint64_t fates_before, d0[MS_DROP_MAX];
	bool is_sealed;
	unsigned int n;

	win_top = fz_top(&data, &size);
	is_sealed = fz_is_sealed(data, size);
	if (is_sealed) {
		if (!fz_seal(data, size, ks4, ks6, max_frame, win_top, rig.conf.replay_window,
			     &sealed))
			return -1;
		data = sealed.frame;
		size = sealed.len;
	}
	if (size > max_frame)
		return -1;	/* no port hands over more than one mbuf holds */
	reset_sas(win_top);
	drops_now(d0);
	ms_stats_sum(&rig.dp.stats, &before);
	fates_before = fates(&before);
	m = frame(data, size);
	ut_rig_inject_q(&rig, MS_PORT_OUTER, 0, &m, 1);
	m = frame(data, size);
	ut_rig_inject_q(&rig, MS_PORT_OUTER, 1, &m, 1);
	ut_rig_run(&rig);

	n = ut_rig_take(&rig, MS_PORT_INNER, got, RTE_DIM(got));
	CHECK(n <= 2);
	for (unsigned int i = 0; i < n; i++)
		CHECK(check_delivered(got[i], data, size) || n == 1);	/* ESP: the copy is a replay */
	if (is_sealed)
		check_sealed(&sealed, got, n, d0);
	rte_pktmbuf_free_bulk(got, n);
	ut_rig_drain(&rig);	/* ARP and ND answers */

	ms_stats_sum(&rig.dp.stats, &after);
	CHECK(after.port[MS_PORT_OUTER].rx_pkts - before.port[MS_PORT_OUTER].rx_pkts == 2);
	CHECK(fates(&after) - fates_before == 2);
	CHECK(after.opened_pkts - before.opened_pkts <= 1);
	CHECK(after.bypass_pkts - before.bypass_pkts + after.opened_pkts - before.opened_pkts == n);
	CHECK(rte_mempool_avail_count(rig.dp.mbuf_pool) == pool_mbufs);
	CHECK(rte_mempool_avail_count(rig.dp.cop_pool) == pool_cops);
	return 0;
}
