/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_PROFILE_H
#define MS_PROFILE_H

/*
 * A crypto PMD profile (pmd-profiles/NAME.conf): which rte_cryptodev to use
 * and how to create it. Chosen by crypto.profile in the configuration.
 */
#include "ms_conf.h"

struct ms_profile {
	char file[MS_PATH_MAX];
	char name[MS_NAME_MAX];
	char description[128];
	char driver[MS_NAME_MAX];	/* PMD driver name, e.g. crypto_aesni_gcm */
	char device[MS_DEV_MAX];	/* rte_cryptodev name to open */
	char vdev[MS_DEV_MAX];		/* --vdev argument, or empty */
	char pci[MS_DEV_MAX];		/* -a argument (PCI device), or empty */
	char hint[256];			/* what to do when the device is missing */
};

/* Load conf->profile_dir/conf->profile.conf; errors name file:line:setting. */
int ms_profile_load(const struct ms_conf *conf, struct ms_profile *p, char *err,
		    unsigned int errlen);

#endif
