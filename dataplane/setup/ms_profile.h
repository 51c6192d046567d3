/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_PROFILE_H
#define MS_PROFILE_H

/*
 * A crypto PMD profile (pmd-profiles/NAME.conf): which rte_cryptodev to use
 * and how to create it. Chosen by crypto.profile in the configuration.
 *
 * A device profile names one device: its driver, its rte_cryptodev name,
 * and how the EAL creates it (a vdev, or a PCI device to allow). "{pci}" in
 * its pci or device setting stands for the appliance's crypto.pci, the one
 * thing that differs between hosts (a QAT VF's address).
 *
 * A fail-over profile names two device profiles, primary and secondary
 * (crypto.primary / crypto.secondary may replace them), and a crypto
 * scheduler device in fail-over mode over both: its vdev is built here.
 */
#include <stdbool.h>

#include "ms_conf.h"

#define MS_HINT_MAX 512

/* One rte_cryptodev as a profile describes it. */
struct ms_cdev_desc {
	char profile[MS_NAME_MAX];	/* the profile that describes it */
	char file[MS_PATH_MAX];		/* and its file */
	char driver[MS_NAME_MAX];	/* PMD driver name, e.g. crypto_aesni_gcm */
	char device[MS_DEV_MAX];	/* rte_cryptodev name to open */
	char vdev[MS_DEV_MAX];		/* --vdev argument, or empty */
	char pci[MS_DEV_MAX];		/* -a argument (PCI device), or empty */
	bool hugepages;			/* DMA device: works only on hugepage memory */
	char hint[MS_HINT_MAX];		/* what to do when the device is missing */
	char qp_hint[MS_HINT_MAX];	/* what to do when it has too few queue pairs */
};

enum ms_member { MS_PRIMARY = 0, MS_SECONDARY = 1, MS_MEMBERS };

struct ms_profile {
	char file[MS_PATH_MAX];
	char name[MS_NAME_MAX];
	char description[128];
	bool failover;
	struct ms_cdev_desc dev;		/* the device the workers use */
	struct ms_cdev_desc member[MS_MEMBERS];	/* fail-over only */
};

/* Scheduler mode a fail-over profile's vdev asks for. */
#define MS_FAILOVER_MODE "fail-over"

/*
 * Load conf->profile_dir/conf->profile.conf (and a fail-over profile's
 * members); errors name file:line:setting, in the profile or in the
 * appliance configuration (crypto.pci, crypto.primary, crypto.secondary).
 */
int ms_profile_load(const struct ms_conf *conf, struct ms_profile *p, char *err,
		    unsigned int errlen);

/* The devices the EAL must create, in creation order; returns how many. */
unsigned int ms_profile_devices(const struct ms_profile *p, const struct ms_cdev_desc *out[3]);

#endif
