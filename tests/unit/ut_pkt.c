/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test packets, and ESP done independently of DPDK with OpenSSL (RFC 4303,
 * RFC 4106 with 64-bit ESN, RFC 3948), to check migsec's bytes against.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ut.h"

void
ut_random(void *buf, size_t len)
{
	if (RAND_bytes(buf, (int)len) != 1)
		abort();	/* also used outside tests (suite set-up) */
}

/*
 * The random choices of a test (arrival orders, rules, keys): splitmix64
 * from one seed per process, printed so that a failure can be replayed with
 * MIGSEC_UT_SEED=N. Keys and payloads still come from ut_random().
 */
uint32_t
ut_rnd(uint32_t n)
{
	static uint64_t state;
	static bool seeded;
	uint64_t z;

	if (!seeded) {
		const char *env = getenv("MIGSEC_UT_SEED");

		if (env != NULL && *env != '\0')
			state = strtoull(env, NULL, 0);
		else
			ut_random(&state, sizeof(state));
		seeded = true;
		fprintf(stderr, "\n    random seed %" PRIu64 " (MIGSEC_UT_SEED=%" PRIu64
			" replays it) ", state, state);
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return n ? (uint32_t)((z >> 32) % n) : (uint32_t)(z >> 32);
}

static uint8_t *
frame_ip4(struct rte_mbuf *m, const char *src, const char *dst, uint8_t proto, uint16_t l4len)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

	memset(eth, 0, sizeof(*eth) + sizeof(*ip));
	eth->dst_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[0] = 0x02;
	eth->src_addr.addr_bytes[5] = 0x99;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	inet_pton(AF_INET, src, &ip->src_addr);
	inet_pton(AF_INET, dst, &ip->dst_addr);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return (uint8_t *)(ip + 1);
}

struct rte_mbuf *
ut_frame_udp4(struct rte_mempool *mp, const char *src, const char *dst, uint16_t sport,
	      uint16_t dport, const uint8_t *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	struct rte_udp_hdr *udp;

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(rte_pktmbuf_append(m, (uint16_t)(14 + 20 + 8 + len)) != NULL);
	udp = (struct rte_udp_hdr *)frame_ip4(m, src, dst, IPPROTO_UDP, (uint16_t)(8 + len));
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, len);
	return m;
}

static void
aad_of(uint8_t *aad, uint32_t spi_be, uint32_t hi, uint32_t lo)
{
	hi = htonl(hi);
	lo = htonl(lo);
	memcpy(aad, &spi_be, 4);
	memcpy(aad + 4, &hi, 4);
	memcpy(aad + 8, &lo, 4);
}

int
ut_esp_decrypt(const uint8_t *esp, uint32_t ctlen, const uint8_t *ks, uint32_t seq_hi,
	       uint8_t next_hdr, uint8_t *inner)
{
	uint8_t nonce[12], aad[12], pt[UT_ESP_CT_MAX];
	uint32_t spi_be, seq_be, pad;
	EVP_CIPHER_CTX *c;
	int outl = 0, fin = 0, ok;

	if (ctlen > sizeof(pt))
		return -1;
	memcpy(&spi_be, esp, 4);
	memcpy(&seq_be, esp + 4, 4);
	memcpy(nonce, ks + 32, 4);
	memcpy(nonce + 4, esp + 8, 8);
	aad_of(aad, spi_be, seq_hi, ntohl(seq_be));
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		abort();
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	     EVP_DecryptInit_ex(c, NULL, NULL, ks, nonce) &&
	     EVP_DecryptUpdate(c, NULL, &outl, aad, 12) &&
	     EVP_DecryptUpdate(c, pt, &outl, esp + 16, (int)ctlen) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(uintptr_t)(esp + 16 + ctlen)) &&
	     EVP_DecryptFinal_ex(c, pt + outl, &fin) > 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok || ctlen < 2 || pt[ctlen - 1] != next_hdr || pt[ctlen - 2] + 2u > ctlen)
		return -1;
	pad = pt[ctlen - 2];
	for (uint32_t i = 0; i < pad; i++)	/* RFC 4303 2.4: pad 1, 2, 3, ... */
		if (pt[ctlen - 2 - pad + i] != i + 1)
			return -1;
	memcpy(inner, pt, ctlen - 2 - pad);
	return (int)(ctlen - 2 - pad);
}

int
ut_esp_open(const uint8_t *f, uint32_t len, const uint8_t *ks, uint32_t seq_hi, uint8_t *inner,
	    uint32_t *inner_len, uint32_t *spi, uint32_t *seq)
{
	const uint8_t *esp = f + 14 + 20 + 8;
	uint32_t ctlen;
	int n;

	if (len < 14 + 20 + 8 + 16 + 16 + 4)
		return -1;
	*spi = (uint32_t)esp[0] << 24 | (uint32_t)esp[1] << 16 | (uint32_t)esp[2] << 8 | esp[3];
	*seq = (uint32_t)esp[4] << 24 | (uint32_t)esp[5] << 16 | (uint32_t)esp[6] << 8 | esp[7];
	ctlen = len - (14 + 20 + 8 + 16 + 16);
	if (ctlen > 2048)	/* the callers' inner buffers */
		return -1;
	n = ut_esp_decrypt(esp, ctlen, ks, seq_hi, IPPROTO_IPIP, inner);
	if (n < 0)
		return -1;
	*inner_len = (uint32_t)n;
	return 0;
}

struct rte_mbuf *
ut_esp_seal(struct rte_mempool *mp, const uint8_t *ks, uint32_t spi, uint64_t seq,
	    const uint8_t *inner, uint32_t inner_len, uint8_t next_hdr, uint8_t pad_len,
	    bool bad_pad)
{
	uint32_t ctlen = inner_len + pad_len + 2, l4 = 8 + 16 + ctlen + 16;
	uint8_t pt[2048], nonce[12], aad[12], *udp, *esp;
	uint32_t spi_be = htonl(spi), seq_lo = htonl((uint32_t)seq);
	uint64_t iv = rte_cpu_to_be_64(seq);
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	EVP_CIPHER_CTX *c;
	int outl = 0, ok;

	CU_ASSERT_FATAL(m != NULL && ctlen <= sizeof(pt));
	CU_ASSERT_FATAL(rte_pktmbuf_append(m, (uint16_t)(14 + 20 + l4)) != NULL);
	udp = frame_ip4(m, UT_OUTER_A, UT_OUTER_B, IPPROTO_UDP, (uint16_t)l4);
	((struct rte_udp_hdr *)udp)->src_port = rte_cpu_to_be_16(4500);
	((struct rte_udp_hdr *)udp)->dst_port = rte_cpu_to_be_16(4500);
	((struct rte_udp_hdr *)udp)->dgram_len = rte_cpu_to_be_16((uint16_t)l4);
	((struct rte_udp_hdr *)udp)->dgram_cksum = 0;
	esp = udp + 8;
	memcpy(esp, &spi_be, 4);
	memcpy(esp + 4, &seq_lo, 4);
	memcpy(esp + 8, &iv, 8);
	memcpy(pt, inner, inner_len);
	for (uint8_t i = 0; i < pad_len; i++)
		pt[inner_len + i] = bad_pad ? 0xee : (uint8_t)(i + 1);
	pt[inner_len + pad_len] = pad_len;
	pt[inner_len + pad_len + 1] = next_hdr;
	memcpy(nonce, ks + 32, 4);
	memcpy(nonce + 4, &iv, 8);
	aad_of(aad, spi_be, (uint32_t)(seq >> 32), (uint32_t)seq);
	c = EVP_CIPHER_CTX_new();
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
	     EVP_EncryptInit_ex(c, NULL, NULL, ks, nonce) &&
	     EVP_EncryptUpdate(c, NULL, &outl, aad, 12) &&
	     EVP_EncryptUpdate(c, esp + 16, &outl, pt, (int)ctlen) &&
	     EVP_EncryptFinal_ex(c, esp + 16 + outl, &outl) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, esp + 16 + ctlen);
	EVP_CIPHER_CTX_free(c);
	CU_ASSERT_FATAL(ok);
	return m;
}
