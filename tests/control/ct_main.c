/* SPDX-License-Identifier: BSD-3-Clause */
/* migsec-control unit tests: "migsec-control-test SUITE". */
#include <stdio.h>
#include <string.h>

#include "ct.h"
#include "mc_secmem.h"
#include "tl.h"

int
main(int argc, char **argv)
{
	static const struct { const char *name; void (*add)(void); } suites[] = {
		{ "msg", ct_suite_msg }, { "kdf", ct_suite_kdf }, { "mig", ct_suite_mig },
		{ "tls", ct_suite_tls }, { "authz", ct_suite_authz }, { "refuse", ct_suite_refuse },
		{ "query", ct_suite_query }, { "migplan", ct_suite_migplan },
	};
	int s = -1;

	for (int i = 0; argc == 2 && i < (int)(sizeof(suites) / sizeof(suites[0])); i++)
		if (strcmp(argv[1], suites[i].name) == 0)
			s = i;
	if (s < 0) {
		fprintf(stderr, "usage: %s msg|kdf|mig|tls|authz|refuse|query|migplan\n", argv[0]);
		return 2;
	}
	if (mc_secmem_init(64 * 1024) != 0) {
		fprintf(stderr, "cannot set up the secure heap\n");
		return 1;
	}
	return tl_run_suite(suites[s].add);
}
