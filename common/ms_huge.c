/* SPDX-License-Identifier: BSD-3-Clause */
/* Hugepage availability, read from /proc before the EAL starts. */
#include <stdio.h>
#include <string.h>

#include "ms_huge.h"

unsigned long
ms_huge_free_mb(bool *mounted)
{
	unsigned long free_pages = 0, size_kb = 0;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	*mounted = false;
	if (f != NULL) {
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "HugePages_Free: %lu", &free_pages);
			sscanf(line, "Hugepagesize: %lu kB", &size_kb);
		}
		fclose(f);
	}
	f = fopen("/proc/mounts", "r");
	if (f != NULL) {
		while (fgets(line, sizeof(line), f))
			if (strstr(line, " hugetlbfs ") != NULL)
				*mounted = true;
		fclose(f);
	}
	return free_pages * size_kb / 1024;
}
