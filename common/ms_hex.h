/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_HEX_H
#define MS_HEX_H

/*
 * Keys as hex text: what migsec-control reads from its requests, and what
 * migsecctl and migsec-dpctl read from stdin. No DPDK, no OpenSSL: a
 * failed decode wipes what it wrote with explicit_bzero().
 */
#include <stddef.h>
#include <stdint.h>

/* Exactly 2*n hex digits (either case) into out[n]: 0, or -1 (out wiped if written). */
int ms_hex_decode(const char *hex, uint8_t *out, size_t n);

/* The same from text[0..len) where white space may stand between pairs of digits
 * ("00 11\n22" as 001122): 0, or -1 with out wiped. */
int ms_hex_decode_spaced(const char *text, size_t len, uint8_t *out, size_t n);

/* n bytes to 2*n lower-case hex digits and a NUL. */
void ms_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
