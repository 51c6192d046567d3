/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TL_H
#define TL_H

/*
 * What the unit tests (migsec-unit) and the control tests
 * (migsec-control-test) share: the CUnit runner, hex decoding, and the scan
 * of this process's memory for a key. No DPDK, no product code.
 */
#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

/*
 * Registers one suite (add() calls CU_add_suite and tl_add_tests), runs it
 * verbosely and returns the process's exit status: 0 only if every test it
 * registered ran, no assertion failed and the suite's set-up and clean-up
 * succeeded; otherwise 1, with the reason on stderr.
 */
int tl_run_suite(void (*add)(void));

/*
 * Adds the tests of the table to the suite s (CU_add_suite's, may be NULL),
 * in order up to the entry without a name; an entry without a function is
 * left out (a test this run's crypto profile has no use for). Returns s, or
 * NULL on an error (CU_get_error() says which, and tl_run_suite() fails).
 */
CU_pSuite tl_add_tests(CU_pSuite s, const CU_TestInfo *tests);

/* Decodes the even-length hex string h into out (strlen(h) / 2 bytes, which it returns). */
size_t tl_unhex(const char *h, uint8_t *out);

/*
 * A key scan of /proc/self/mem: every readable mapping except the kernel's
 * and AddressSanitizer's shadow. The key is given as masked ^ mask and never
 * put together in memory. Each scan first plants a random marker on the heap
 * and must find it again, and must have read at least TL_SCAN_MIN_BYTES,
 * else the scan itself failed (a CUnit fatal assertion): a scan that reads
 * nothing cannot pass.
 */
#define TL_SCAN_LEN 16			/* bytes of the key looked for */
#define TL_SCAN_MIN_BYTES (1u << 20)	/* less than this read: no scan at all */

struct tl_scan {
	unsigned int hits;	/* copies of the key */
	unsigned int planted;	/* copies of the planted marker found */
	uint64_t bytes;		/* read from /proc/self/mem */
	uint64_t unread;	/* of readable mappings, not read */
};

/* Copies of the key's first TL_SCAN_LEN bytes in this process's memory. */
unsigned int tl_key_hits(const uint8_t *masked, const uint8_t *mask);
/* The same with the figures of the scan (no assertion). */
void tl_key_scan(const uint8_t *masked, const uint8_t *mask, struct tl_scan *res);

#endif
