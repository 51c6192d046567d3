/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The inbound harness's sealed mode (fz_seal.h): fuzzer-chosen plaintext
 * sealed with the harness's key (OpenSSL, not the data plane's code), and
 * what the documented rules say must become of it. Written from
 * docs/architecture.md ("How an inbound packet is judged") and RFC
 * 4303/4106, not from dataplane/.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ms_stats.h"
#include "fz_seal.h"

#define SPI4 0x1001
#define SPI6 0x1006
#define OUTER_HDR (14 + 20 + 8)	/* Ethernet, IPv4, UDP */
#define ESP_HDR 16		/* SPI, sequence, IV */
#define ICV 16
#define IPV6_EXT_MAX 7		/* the extension headers an inner packet may have */

static const uint8_t mac_dst[6] = { 2, 0, 0, 0, 1, 0 }, mac_src[6] = { 2, 0, 0, 0, 1, 0xb0 };
static const uint8_t oa[4] = { 203, 0, 113, 1 }, ob[4] = { 203, 0, 113, 2 };
static const uint8_t ha[4] = { 192, 0, 2, 1 }, hb[4] = { 192, 0, 2, 2 };
static const uint8_t ha6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 };
static const uint8_t hb6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2 };

uint64_t
fz_top(const uint8_t **data, size_t *size)
{
	uint64_t t = 0;

	if (*size < FZ_TOP_HDR || memcmp(*data, FZ_TOP_MAGIC, 4) != 0)
		return 0;
	for (int i = 4; i < FZ_TOP_HDR; i++)
		t = t << 8 | (*data)[i];
	*data += FZ_TOP_HDR;
	*size -= FZ_TOP_HDR;
	return t & FZ_TOP_MASK;
}

/*
 * Written from the rule's text: d = (seq - T) mod 2^32; n = T + d if
 * d < 2^31, else T - (2^32 - d), or 0 if that is not above 0.
 */
uint64_t
fz_esn(uint64_t top, uint32_t seq)
{
	uint64_t d = ((uint64_t)seq + (1ULL << 32) - (top & 0xffffffffULL)) % (1ULL << 32);

	if (d < 1ULL << 31)
		return top + d;
	return top > (1ULL << 32) - d ? top - ((1ULL << 32) - d) : 0;
}

bool
fz_outside(uint64_t top, uint64_t n, uint32_t win)
{
	return n == 0 || (top >= win && n <= top - win);
}

bool
fz_is_sealed(const uint8_t *data, size_t size)
{
	return size >= FZ_SEAL_HDR && memcmp(data, FZ_SEAL_MAGIC, 4) == 0;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t
ip_csum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2)
		s += (uint32_t)h[i] << 8 | h[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet, IPv4 (DF, no options) and UDP 4500 -> 4500 from the SAs' peer. */
static void
outer(uint8_t *f, uint32_t l4)
{
	uint8_t *ip = f + 14, *udp = ip + 20;

	memcpy(f, mac_dst, 6);
	memcpy(f + 6, mac_src, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + l4);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, oa, 4);
	memcpy(ip + 16, ob, 4);
	put16(ip + 10, ip_csum(ip, 20));
	put16(udp, 4500);
	put16(udp + 2, 4500);
	put16(udp + 4, l4);
	put16(udp + 6, 0);
}

/* RFC 4303 + 4106 with ESN: AAD SPI | sqn high | sqn low, nonce salt | IV. */
static void
seal(uint8_t *esp, uint32_t spi, uint64_t sqn, const uint8_t *ks, const uint8_t *pt, uint32_t n)
{
	uint8_t aad[12] = { 0 }, nonce[12];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, ok;

	put32(esp, spi);
	put32(esp + 4, (uint32_t)sqn);
	put32(esp + 8, (uint32_t)(sqn >> 32));	/* IV: the 64-bit sequence number */
	put32(esp + 12, (uint32_t)sqn);
	put32(aad, spi);
	put32(aad + 4, (uint32_t)(sqn >> 32));
	put32(aad + 8, (uint32_t)sqn);
	memcpy(nonce, ks + 32, 4);
	memcpy(nonce + 4, esp + 8, 8);
	ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, ks, nonce) &&
	     EVP_EncryptUpdate(c, NULL, &outl, aad, 12) &&
	     EVP_EncryptUpdate(c, esp + ESP_HDR, &outl, pt, (int)n) &&
	     EVP_EncryptFinal_ex(c, esp + ESP_HDR + n, &outl) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, ICV, esp + ESP_HDR + n);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		abort();
}

/* The ESP payload: the input's plaintext, with a valid trailer unless raw. */
static uint32_t
payload(const uint8_t *in, uint32_t n, uint8_t ctl, uint8_t nh, uint8_t *pt)
{
	uint32_t pad;

	memcpy(pt, in, n);
	if (ctl & 2)
		return n;
	pad = ((4 - (n + 2) % 4) % 4) + 4u * (ctl >> 2);
	while (pad > 255)
		pad -= 4;
	for (uint32_t i = 0; i < pad; i++)
		pt[n + i] = (uint8_t)(i + 1);
	pt[n + pad] = (uint8_t)pad;
	pt[n + pad + 1] = nh;
	return n + pad + 2;
}

/* The trailer (RFC 4303 2.4-2.6): the SA's next header, pad 1, 2, 3, ... */
static bool
trailer_ok(const uint8_t *pt, uint32_t n, uint8_t nh, uint32_t *inner_len)
{
	uint32_t pad;

	if (pt[n - 1] != nh || pt[n - 2] + 2u > n)
		return false;
	pad = pt[n - 2];
	for (uint32_t i = 0; i < pad; i++)
		if (pt[n - 2 - pad + i] != i + 1)
			return false;
	*inner_len = n - 2 - pad;
	return true;
}

/* A well-formed inner IPv6 packet: its extension headers, walked. */
static bool
ip6_ok(const uint8_t *p, uint32_t n)
{
	uint32_t off = 40;
	uint8_t nh = p[6];

	for (int i = 0; i <= IPV6_EXT_MAX; i++) {
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			return true;
		if (i == IPV6_EXT_MAX || off + 8 > n)
			return false;
		if (nh == 44) {
			if (((p[off + 2] << 8 | p[off + 3]) & 0xfff8) != 0)
				return true;	/* a later fragment: nothing more to read */
			nh = p[off];
			off += 8;
			continue;
		}
		nh = p[off];
		off += (p[off + 1] + 1u) * 8;
		if (off > n)
			return false;
	}
	return false;
}

/* decap_malformed: the inner packet of the SA's family, lengths exact. */
static bool
inner_ok(const uint8_t *p, uint32_t n, bool v6)
{
	if (!v6)
		return n >= 20 && p[0] >> 4 == 4 && (p[0] & 15) >= 5 &&
		       (uint32_t)(p[2] << 8 | p[3]) == n && (p[0] & 15) * 4u <= n;
	return n >= 40 && p[0] >> 4 == 6 && 40u + (uint32_t)(p[4] << 8 | p[5]) == n &&
	       ip6_ok(p, n);
}

/* The SAs' selectors: host A to host B, any protocol and port. */
static bool
selected(const uint8_t *p, bool v6)
{
	if (!v6)
		return memcmp(p + 12, ha, 4) == 0 && memcmp(p + 16, hb, 4) == 0;
	return memcmp(p + 8, ha6, 16) == 0 && memcmp(p + 24, hb6, 16) == 0;
}

/* What the documented checks make of it, in their order. */
static void
judge(struct fz_sealed *s, uint32_t n, uint64_t sqn, uint64_t top, uint32_t win, bool v6)
{
	s->inner = NULL;
	s->expect = s->expect_copy = MS_DROP_REPLAY;	/* the copy of a recorded number */
	if (n < 4 || n % 4 != 0) {
		s->expect = s->expect_copy = MS_DROP_ESP_MALFORMED;
	} else if (fz_outside(top, sqn, win)) {
		s->expect = s->expect_copy = MS_DROP_OUTSIDE_WINDOW;
	} else if (sqn == top) {
		/* the top is the one number recorded (a fresh window records none) */
	} else if (!trailer_ok(s->pt, n, v6 ? 41 : 4, &s->inner_len)) {
		s->expect = s->expect_copy = MS_DROP_BAD_TRAILER;	/* not recorded */
	} else if (!inner_ok(s->pt, s->inner_len, v6)) {
		s->expect = MS_DROP_DECAP_MALFORMED;
	} else if (!selected(s->pt, v6)) {
		s->expect = MS_DROP_SELECTOR_MISMATCH;
	} else {
		s->expect = -1;
		s->inner = s->pt;
	}
}

bool
fz_seal(const uint8_t *data, size_t size, const uint8_t *ks4, const uint8_t *ks6,
	uint32_t max_frame, uint64_t top, uint32_t win, struct fz_sealed *s)
{
	uint8_t ctl = data[4];
	bool v6 = ctl & 1;
	uint32_t seq = (uint32_t)data[5] << 24 | (uint32_t)data[6] << 16 | data[7] << 8 | data[8];
	uint32_t in = (uint32_t)(size - FZ_SEAL_HDR), n;
	uint64_t sqn;

	if (in + 255 + 2 > FZ_FRAME_MAX - OUTER_HDR - ESP_HDR - ICV)
		return false;
	n = payload(data + FZ_SEAL_HDR, in, ctl, v6 ? 41 : 4, s->pt);
	s->len = OUTER_HDR + ESP_HDR + n + ICV;
	if (s->len > max_frame)
		return false;
	outer(s->frame, 8 + ESP_HDR + n + ICV);
	/*
	 * The sender's number: the one rule 6 reads, high half included; when
	 * that is 0 (dropped before the ICV), seq in T's half.
	 */
	sqn = fz_esn(top, seq);
	s->sqn = sqn != 0 ? sqn : (top & ~0xffffffffULL) | seq;
	seal(s->frame + OUTER_HDR, v6 ? SPI6 : SPI4, s->sqn, v6 ? ks6 : ks4, s->pt, n);
	judge(s, n, sqn, top, win, v6);
	return true;
}
