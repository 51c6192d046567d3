/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test helper, preloaded (LD_PRELOAD) into the daemons by the secrets test:
 * a process whose name is listed in MIGSEC_STOP_AT_EXIT (comma-separated)
 * stops itself (SIGSTOP) at the very end of exit(), after main() returned
 * and every other atexit handler ran, so that the test can read its
 * memory as it is about to vanish, then continues it (SIGCONT). Any other
 * process is left alone. Never part of an installed binary.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void
stop_self(void)
{
	raise(SIGSTOP);
}

static int
listed(const char *name, const char *list)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Registered before main() runs: atexit handlers run last-registered first. */
__attribute__((constructor)) static void
arm(void)
{
	const char *list = getenv("MIGSEC_STOP_AT_EXIT");

	if (list != NULL && listed(program_invocation_short_name, list))
		atexit(stop_self);
}
