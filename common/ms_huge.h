/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_HUGE_H
#define MS_HUGE_H

#include <stdbool.h>

/* Free hugepage memory (MiB) and whether hugetlbfs is mounted. */
unsigned long ms_huge_free_mb(bool *mounted);

#endif
