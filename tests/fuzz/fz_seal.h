/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FZ_SEAL_H
#define FZ_SEAL_H

/*
 * The inbound harness's sealed mode: an input "SEAL" | ctl | seq (4) |
 * plaintext becomes an authentic frame from the SAs' peer, sealed with the
 * harness's key, so that the fuzzer explores what lies behind the ICV (the
 * trailer, the inner headers, the selectors). ctl bit 0: the IPv6 SA, not
 * the IPv4 one; bit 1: the plaintext is the whole ESP payload, trailer
 * included; otherwise a valid trailer follows it, with 4 * (ctl >> 2)
 * bytes of padding beyond the minimum (at most 255).
 *
 * The expected fate comes from the documented rules only
 * (docs/architecture.md, "How an inbound packet is judged").
 *
 * Any input (sealed or a raw frame) may start "TOPW" | T (8, big-endian):
 * the inbound SAs' windows then start at T mod 2^40 with T recorded, as
 * after T packets, so that the 64-bit numbers above 2^32 (ESN high half 1
 * and more) are reached; a sealed frame carries the number rule 6 makes
 * of its seq, high half included. (2^40: far below where a 64-bit number
 * would wrap, which an SA is rekeyed long before.)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_SEAL_MAGIC "SEAL"
#define FZ_SEAL_HDR 9		/* magic, ctl, seq */
#define FZ_FRAME_MAX 4096
#define FZ_TOP_MAGIC "TOPW"
#define FZ_TOP_HDR 12		/* magic, T */
#define FZ_TOP_MASK ((1ULL << 40) - 1)

struct fz_sealed {
	uint8_t frame[FZ_FRAME_MAX];
	uint32_t len;
	const uint8_t *inner;	/* the inner packet inside pt, when the trailer is valid */
	uint32_t inner_len;
	int expect;		/* -1: delivered; otherwise the drop reason (enum ms_drop) */
	int expect_copy;	/* the same frame again, once the first was processed */
	uint8_t pt[FZ_FRAME_MAX];
	uint64_t sqn;		/* the 64-bit number it was sealed with */
};

/* The window top an input asks for (0 without "TOPW"); skips the prefix. */
uint64_t fz_top(const uint8_t **data, size_t *size);

/* Rule 6: the 64-bit number of a packet's low half seq, window top top. */
uint64_t fz_esn(uint64_t top, uint32_t seq);

/* Rule 6: is 64-bit number n outside a window of win below top (or 0)? */
bool fz_outside(uint64_t top, uint64_t n, uint32_t win);

/* Is this input for the sealed mode? */
bool fz_is_sealed(const uint8_t *data, size_t size);

/*
 * Build the frame and its expected fate; false if the input cannot make a
 * frame (too long for a port to hand over: max_frame).
 */
bool fz_seal(const uint8_t *data, size_t size, const uint8_t *ks4, const uint8_t *ks6,
	     uint32_t max_frame, uint64_t top, uint32_t win, struct fz_sealed *s);

#endif
