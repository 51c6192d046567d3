/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CUnit runner of migsec-unit and migsec-control-test: one suite per
 * process. libcunit counts a failed suite set-up (whose tests then do not
 * run) apart from failed tests, so a process that looked only at those
 * exited 0 having tested nothing; here that and a suite that ran fewer tests
 * than it registered fail too.
 */
#include <stdio.h>

#include <CUnit/Basic.h>

#include "tl.h"

CU_pSuite
tl_add_tests(CU_pSuite s, const CU_TestInfo *tests)
{
	for (; s != NULL && tests->pName != NULL; tests++)
		if (tests->pTestFunc != NULL && CU_add_test(s, tests->pName, tests->pTestFunc) == NULL)
			return NULL;
	return s;
}

/* What the run of the registry's one suite says about it; 0 if all is well. */
static int
verdict(unsigned int registered)
{
	unsigned int failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	unsigned int suites = CU_get_number_of_suites_failed();
	unsigned int ran = CU_get_number_of_tests_run();

	if (suites > 0)
		fprintf(stderr, "\nFAIL: suite set-up or clean-up failed\n");
	if (ran < registered)
		fprintf(stderr, "\nFAIL: %u of %u tests ran\n", ran, registered);
	if (registered == 0)
		fprintf(stderr, "\nFAIL: no test registered\n");
	return failed > 0 || suites > 0 || ran < registered || registered == 0;
}

int
tl_run_suite(void (*add)(void))
{
	unsigned int registered;
	int rc;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	add();
	registered = CU_get_registry()->uiNumberOfTests;
	if (CU_get_error() != CUE_SUCCESS) {
		fprintf(stderr, "FAIL: registering the suite: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	rc = verdict(registered);
	CU_cleanup_registry();
	return rc;
}
