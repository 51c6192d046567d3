/* SPDX-License-Identifier: BSD-3-Clause */
/* Hex test vectors into bytes (the known-answer tests of gcm and kdf). */
#include <stdio.h>
#include <string.h>

#include "tl.h"

size_t
tl_unhex(const char *h, uint8_t *out)
{
	size_t n = strlen(h) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return n;
}
