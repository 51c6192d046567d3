/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit test runner: "migsec-unit SUITE" runs one CUnit suite in its own EAL. */
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "ms_heapwipe.h"
#include "tl.h"
#include "ut.h"

static const struct {
	const char *name;
	void (*add)(void);
	bool eal;
} suites[] = {
	{ "gcm", ut_suite_gcm, true },
	{ "esp", ut_suite_esp, true },
	{ "replay", ut_suite_replay, true },
	{ "spd", ut_suite_spd, true },
	{ "conf", ut_suite_conf, false },
	{ "sel", ut_suite_sel, false },
	{ "wipe", ut_suite_wipe, true },
	{ "crypto", ut_suite_crypto, true },
	{ "cost", ut_suite_cost, true },	/* a measurement, not in meson test */
	{ "installs", ut_suite_installs, true },	/* the same */
	{ "ringbench", ut_suite_ringbench, true },	/* the same */
	{ "faults", ut_suite_faults, true },
	{ "slow", ut_suite_slow, true },
	{ "limits", ut_suite_limits, true },
	{ "live", ut_suite_live, true },
	{ "intr", ut_suite_intr, true },
};

static char rundir[PATH_MAX];

/* The EAL leaves its runtime directory behind (empty with --no-shconf). */
static void
remove_rundir(void)
{
	if (rundir[0] != '\0')
		rmdir(rundir);
}

int
main(int argc, char **argv)
{
	int s = -1, rc;

	/* As migsec-dataplane does: libcrypto wipes what it frees (the key scans rely on it). */
	if (ms_heapwipe_init() != 0) {
		fprintf(stderr, "%s: CRYPTO_set_mem_functions refused\n", argv[0]);
		return 1;
	}
	for (int i = 0; argc >= 2 && i < (int)RTE_DIM(suites); i++)
		if (strcmp(argv[1], suites[i].name) == 0)
			s = i;
	if (s < 0 || argc > 5 || argc == 4) {
		fprintf(stderr, "usage: %s SUITE [PROFILE [PRIMARY SECONDARY]]\n"
			"  SUITE: gcm esp replay spd conf sel wipe crypto faults slow limits live intr cost installs ringbench\n"
			"  PROFILE: a crypto profile in pmd-profiles/ (default aesni_gcm);\n"
			"  PRIMARY SECONDARY: the members of the failover profile\n", argv[0]);
		return 2;
	}
	if (ut_profile_load(argc >= 3 ? argv[2] : "aesni_gcm", argc == 5 ? argv[3] : NULL,
			    argc == 5 ? argv[4] : NULL) != 0)
		return 1;
	/* before the EAL's own exit handler (telemetry socket), so it runs after */
	atexit(remove_rundir);
	/* MIGSEC_UT_HUGE=1: the EAL on hugepages, as an appliance runs (measurements) */
	ut_eal_huge = getenv("MIGSEC_UT_HUGE") != NULL && strcmp(getenv("MIGSEC_UT_HUGE"), "1") == 0;
	if (suites[s].eal && ut_eal_init(argv[0]) < 0) {
		fprintf(stderr, "%s: EAL init failed\n", argv[0]);
		return 1;
	}
	if (suites[s].eal)
		snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rc = tl_run_suite(suites[s].add);
	if (suites[s].eal)
		rte_eal_cleanup();
	return rc;
}
