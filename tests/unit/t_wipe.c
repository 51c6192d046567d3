/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key wiping: once an SA is deleted (or the control request that carried
 * its key is done), the key's bytes are nowhere in this process's memory.
 * The test never holds the key in clear itself: it keeps key ^ mask.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ms_ctl_proto.h"
#include "ms_ops.h"
#include "ms_sadb.h"
#include "ut.h"

static struct ut_rig rig;
static uint8_t masked[36], mask[36];

static int
suite_init(void)
{
	ut_random(mask, sizeof(mask));
	ut_random(masked, sizeof(masked));	/* key = masked ^ mask, never stored */
	return ut_rig_init(&rig);
}

static int
suite_fini(void)
{
	ut_rig_fini(&rig);
	return 0;
}

/* Occurrences of the key's first 16 bytes in every readable mapping. */
static unsigned int
scan_memory(void)
{
	static uint8_t buf[1 << 20];
	char line[512];
	unsigned int hits = 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);

	CU_ASSERT_FATAL(maps != NULL && mem >= 0);
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perms[8];

		/* Mappings of 4 GiB and more are AddressSanitizer's shadow, not data
		 * (the EAL's memory here is eal -m 256). */
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
		    strstr(line, "[vvar]") || strstr(line, "[vsyscall]") || hi - lo >= (4UL << 30))
			continue;
		for (unsigned long a = lo; a < hi; a += sizeof(buf) - 15) {
			size_t want = RTE_MIN(sizeof(buf), hi - a);
			ssize_t got = pread(mem, buf, want, (off_t)a);

			if (got < 16)
				break;
			uint8_t *p = buf, *end = buf + got - 15;

			/* memchr finds candidates fast; the rest compares unmasked bytes. */
			while (p < end && (p = memchr(p, masked[0] ^ mask[0], (size_t)(end - p)))) {
				unsigned int k = 1;

				while (k < 16 && p[k] == (uint8_t)(masked[k] ^ mask[k]))
					k++;
				hits += k == 16;
				p++;
			}
		}
	}
	fclose(maps);
	close(mem);
	memset(buf, 0, sizeof(buf));
	return hits;
}

static void
spec_with_key(struct ms_sa_spec *s, uint32_t id, uint8_t dir)
{
	uint8_t ks[36];

	for (int i = 0; i < 36; i++)
		ks[i] = masked[i] ^ mask[i];
	ut_spec(s, id, dir, 0x5000 + id, ks, 1);
	explicit_bzero(ks, sizeof(ks));
}

static void
test_sadb_delete(void)
{
	struct ms_sa_spec s;
	char err[256];

	CU_ASSERT_EQUAL_FATAL(scan_memory(), 0);
	spec_with_key(&s, 1, MS_DIR_OUT);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	spec_with_key(&s, 2, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	/* The scan works: the expanded AES-256 key starts with the key itself. */
	CU_ASSERT(scan_memory() >= 1);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(scan_memory(), 0);
}

static void
test_control_request(void)
{
	struct ms_ops_ctx ops = { .dp = &rig.dp };
	struct ms_ctl_sa_add req;
	struct ms_ctl_sa_id del = { .id = 3 };
	char *reply = NULL;
	size_t len;

	spec_with_key(&req.spec, 3, MS_DIR_OUT);
	ms_ip_parse(UT_OUTER_A, &req.spec.local);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_ADD, (const uint8_t *)&req, sizeof(req),
				      &reply, &len), 0);
	free(reply);
	explicit_bzero(&req, sizeof(req));	/* as the socket layer does */
	CU_ASSERT(scan_memory() >= 1);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_DEL, (const uint8_t *)&del, sizeof(del),
				      &reply, &len), 0);
	free(reply);
	CU_ASSERT_EQUAL(scan_memory(), 0);
}

static void
test_teardown(void)
{
	struct ms_sa_env env = rig.dp.sadb.env;
	struct ms_sadb_ops ops = rig.dp.sadb.ops;
	struct ms_sa_spec s;
	char err[256];

	spec_with_key(&s, 4, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	CU_ASSERT(scan_memory() >= 1);
	/* What SIGTERM does (ms_dp_teardown): every SA of the database at once. */
	ms_sadb_fini(&rig.dp.sadb);
	CU_ASSERT_EQUAL(scan_memory(), 0);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_init(&rig.dp.sadb, &env, &rig.dp.stats, rig.dp.rcu,
					   rig.conf.max_sa, &ops), 0);
	CU_ASSERT_EQUAL(ms_sadb_publish(&rig.dp.sadb, err, sizeof(err)), 0);
}

void
ut_suite_wipe(void)
{
	CU_pSuite s = CU_add_suite("wipe", suite_init, suite_fini);

	CU_add_test(s, "deleted SAs leave no key bytes", test_sadb_delete);
	CU_add_test(s, "a control request's key is gone after delete", test_control_request);
	CU_add_test(s, "tear-down wipes every SA", test_teardown);
}
