/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Key wiping: once an SA is deleted (or the control request that carried
 * its key is done), the key's bytes are nowhere in this process's memory.
 * The test never holds the key in clear itself: it keeps key ^ mask.
 */
#include <string.h>

#include "ms_ctl_proto.h"
#include "ms_ops.h"
#include "ms_sadb.h"
#include "tl.h"
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

	CU_ASSERT_EQUAL_FATAL(tl_key_hits(masked, mask), 0);
	spec_with_key(&s, 1, MS_DIR_OUT);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	spec_with_key(&s, 2, MS_DIR_IN);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_add(&rig.dp.sadb, &s, err, sizeof(err)), 0);
	explicit_bzero(&s, sizeof(s));
	/* The scan works: the expanded AES-256 key starts with the key itself. */
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 1, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ms_sadb_del(&rig.dp.sadb, 2, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
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
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	CU_ASSERT_EQUAL(ms_ops_handle(&ops, MS_CTL_SA_DEL, (const uint8_t *)&del, sizeof(del),
				      &reply, &len), 0);
	free(reply);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
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
	CU_ASSERT(tl_key_hits(masked, mask) >= 1);
	/* What SIGTERM does (ms_dp_teardown): every SA of the database at once. */
	ms_sadb_fini(&rig.dp.sadb);
	CU_ASSERT_EQUAL(tl_key_hits(masked, mask), 0);
	CU_ASSERT_EQUAL_FATAL(ms_sadb_init(&rig.dp.sadb, &env, &rig.dp.stats, rig.dp.rcu,
					   rig.conf.max_sa, &ops), 0);
	CU_ASSERT_EQUAL(ms_sadb_publish(&rig.dp.sadb, err, sizeof(err)), 0);
}

static const CU_TestInfo tests[] = {
	{ "deleted SAs leave no key bytes", test_sadb_delete },
	{ "a control request's key is gone after delete", test_control_request },
	{ "tear-down wipes every SA", test_teardown },
	CU_TEST_INFO_NULL,
};

void
ut_suite_wipe(void)
{
	tl_add_tests(CU_add_suite("wipe", suite_init, suite_fini), tests);
}
