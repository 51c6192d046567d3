/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_EAL_H
#define MS_EAL_H

/* EAL command line from the configuration and the crypto profile. */
#include "ms_conf.h"
#include "ms_profile.h"

#define MS_EAL_ARGV_MAX 64

struct ms_eal_args {
	int argc;
	char *argv[MS_EAL_ARGV_MAX];
	char buf[MS_EAL_ARGV_MAX][MS_DEV_MAX + 16];
	bool no_huge;
	char note[256];		/* why hugepages are not used, if they are not */
};

int ms_eal_build(const struct ms_conf *conf, const struct ms_profile *p, const char *prog,
		 struct ms_eal_args *a, char *err, unsigned int errlen);

#endif
