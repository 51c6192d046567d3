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
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_SEAL_MAGIC "SEAL"
#define FZ_SEAL_HDR 9		/* magic, ctl, seq */
#define FZ_FRAME_MAX 4096

struct fz_sealed {
	uint8_t frame[FZ_FRAME_MAX];
	uint32_t len;
	const uint8_t *inner;	/* the inner packet inside pt, when the trailer is valid */
	uint32_t inner_len;
	int expect;		/* -1: delivered; otherwise the drop reason (enum ms_drop) */
	int expect_copy;	/* the same frame again, once the first was processed */
	uint8_t pt[FZ_FRAME_MAX];
};

/* Is this input for the sealed mode? */
bool fz_is_sealed(const uint8_t *data, size_t size);

/*
 * Build the frame and its expected fate; false if the input cannot make a
 * frame (too long for a port to hand over: max_frame).
 */
bool fz_seal(const uint8_t *data, size_t size, const uint8_t *ks4, const uint8_t *ks6,
	     uint32_t max_frame, struct fz_sealed *s);

#endif
