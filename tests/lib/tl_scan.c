/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key scan of this process's memory (tl.h). Only the test's thread runs
 * it; the static read buffer is wiped afterwards, as it may hold key bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "tl.h"

/* What one scan looks for: the key and the planted marker. */
struct scan {
	const uint8_t *masked, *mask;	/* the key */
	const uint8_t *marker;		/* in clear */
	struct tl_scan *res;
};

static uint8_t buf[1 << 20];
static const uint8_t zero[TL_SCAN_LEN];

/* Copies of masked ^ mask in b[0, n), n >= TL_SCAN_LEN. */
static unsigned int
count(const uint8_t *b, size_t n, const uint8_t *masked, const uint8_t *mask)
{
	const uint8_t *p = b, *end = b + n - (TL_SCAN_LEN - 1);
	unsigned int hits = 0;

	/* memchr finds candidates fast; the rest compares unmasked bytes. */
	while (p < end && (p = memchr(p, masked[0] ^ mask[0], (size_t)(end - p)))) {
		unsigned int k = 1;

		while (k < TL_SCAN_LEN && p[k] == (uint8_t)(masked[k] ^ mask[k]))
			k++;
		hits += k == TL_SCAN_LEN;
		p++;
	}
	return hits;
}

/* One mapping, in chunks that overlap by TL_SCAN_LEN - 1 bytes. */
static void
scan_mapping(int mem, unsigned long lo, unsigned long hi, struct scan *s)
{
	for (unsigned long a = lo; a < hi; a += sizeof(buf) - (TL_SCAN_LEN - 1)) {
		size_t want = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
		ssize_t got = pread(mem, buf, want, (off_t)a);

		if (got < (ssize_t)TL_SCAN_LEN) {
			s->res->unread += hi - a;
			return;
		}
		s->res->bytes += (uint64_t)got;
		s->res->hits += count(buf, (size_t)got, s->masked, s->mask);
		s->res->planted += count(buf, (size_t)got, s->marker, zero);
	}
}

/* Every readable mapping but the kernel's ([vvar], [vvar_vclock], [vsyscall])
 * and ASan's shadow (4 GiB and more: the EAL's memory here is eal -m 256). */
static int
scan_maps(struct scan *s)
{
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);

	if (maps == NULL || mem < 0) {
		if (maps != NULL)
			fclose(maps);
		if (mem >= 0)
			close(mem);
		return -1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
		    strstr(line, "[vvar") || strstr(line, "[vsyscall]") || hi - lo >= (4UL << 30))
			continue;
		scan_mapping(mem, lo, hi, s);
	}
	fclose(maps);
	close(mem);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

void
tl_key_scan(const uint8_t *masked, const uint8_t *mask, struct tl_scan *res)
{
	/* The positive control: a random marker on the heap the scan must find. */
	uint8_t *marker = malloc(TL_SCAN_LEN);
	struct scan s = { .masked = masked, .mask = mask, .marker = marker, .res = res };

	memset(res, 0, sizeof(*res));
	if (marker == NULL || getrandom(marker, TL_SCAN_LEN, 0) != TL_SCAN_LEN ||
	    scan_maps(&s) != 0)
		res->bytes = res->planted = 0;
	free(marker);
}

unsigned int
tl_key_hits(const uint8_t *masked, const uint8_t *mask)
{
	struct tl_scan r;

	tl_key_scan(masked, mask, &r);
	if (r.planted == 0 || r.bytes < TL_SCAN_MIN_BYTES)
		fprintf(stderr, "\n  key scan failed: %llu bytes read (%llu not), "
			"planted marker found %u times\n", (unsigned long long)r.bytes,
			(unsigned long long)r.unread, r.planted);
	CU_ASSERT_FATAL(r.planted >= 1);
	CU_ASSERT_FATAL(r.bytes >= TL_SCAN_MIN_BYTES);
	return r.hits;
}
