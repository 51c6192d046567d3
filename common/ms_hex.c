/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Hex text to bytes and back, for keys (see ms_hex.h). Called by
 * migsec-control's request parser and by the command-line tools; no state.
 */
#include <stdbool.h>
#include <string.h>

#include "ms_hex.h"

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ms_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			explicit_bzero(out, n);
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static bool
space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int
ms_hex_decode_spaced(const char *text, size_t len, uint8_t *out, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (space(text[i]))
			continue;
		if (i + 1 >= len || k >= n || (hi = nibble(text[i])) < 0 ||
		    (lo = nibble(text[i + 1])) < 0) {
			explicit_bzero(out, n);
			return -1;
		}
		out[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (k != n) {
		explicit_bzero(out, n);
		return -1;
	}
	return 0;
}

void
ms_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}
