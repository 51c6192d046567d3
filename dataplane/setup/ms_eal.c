/* SPDX-License-Identifier: BSD-3-Clause */
/* The EAL's command line from the configuration and the crypto profile (main, before the EAL). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ms_eal.h"
#include "ms_huge.h"
#include "ms_port.h"

static int
add(struct ms_eal_args *a, const char *v)
{
	if (a->argc >= MS_EAL_ARGV_MAX - 1 || strlen(v) >= sizeof(a->buf[0]))
		return -E2BIG;
	snprintf(a->buf[a->argc], sizeof(a->buf[0]), "%s", v);
	a->argv[a->argc] = a->buf[a->argc];
	a->argc++;
	return 0;
}

static int
add_device(struct ms_eal_args *a, const char *dev, bool *pci)
{
	if (ms_port_is_vdev(dev) || strncmp(dev, "crypto_", 7) == 0)
		return add(a, "--vdev") || add(a, dev);
	*pci = true;
	return add(a, "-a") || add(a, dev);
}

/* Hugepages: "yes" wants enough of them free; "auto" runs without (and says why) if not. */
static int
choose_huge(const struct ms_conf *conf, struct ms_eal_args *a, char *err, unsigned int errlen)
{
	bool mounted;
	unsigned long free_mb = ms_huge_free_mb(&mounted);

	a->no_huge = conf->huge == MS_HUGE_NO ||
		(conf->huge == MS_HUGE_AUTO && (!mounted || free_mb < conf->memory_mb));
	if (conf->huge == MS_HUGE_YES && (!mounted || free_mb < conf->memory_mb)) {
		snprintf(err, errlen, "%s: eal.hugepages = \"yes\" but only %lu MiB of hugepages are "
			 "free (need %u)%s; reserve them with: dpdk-hugepages.py --setup 1G",
			 conf->file, free_mb, conf->memory_mb, mounted ? "" : " and none is mounted");
		return -ENOMEM;
	}
	if (a->no_huge && conf->huge == MS_HUGE_AUTO)
		snprintf(a->note, sizeof(a->note), "only %lu MiB of hugepages free%s (need %u): "
			 "running with --no-huge; dpdk-dumpcap cannot attach. Reserve them with: "
			 "dpdk-hugepages.py --setup 1G", free_mb, mounted ? "" : ", none mounted",
			 conf->memory_mb);
	return 0;
}

/* The crypto profile's devices. The EAL probes PCI devices first, then vdevs in this order. */
static int
add_crypto(struct ms_eal_args *a, const struct ms_profile *p, bool *pci)
{
	const struct ms_cdev_desc *d[3];
	unsigned int nd = ms_profile_devices(p, d);
	int rc = 0;

	for (unsigned int i = 0; i < nd; i++) {
		if (d[i]->vdev[0])
			rc |= add(a, "--vdev") | add(a, d[i]->vdev);
		if (d[i]->pci[0]) {
			rc |= add(a, "-a") | add(a, d[i]->pci);
			*pci = true;
		}
	}
	return rc;
}

int
ms_eal_build(const struct ms_conf *conf, const struct ms_profile *p, const char *prog,
	     struct ms_eal_args *a, char *err, unsigned int errlen)
{
	char num[32], level[48];
	bool pci = false;
	int rc = 0;

	memset(a, 0, sizeof(*a));
	if ((rc = choose_huge(conf, a, err, errlen)) != 0)
		return rc;
	snprintf(num, sizeof(num), "%u", conf->memory_mb);
	rc |= add(a, prog);
	/* A plain core list goes to -l, an lcore-to-CPU map to --lcores. */
	rc |= add(a, strpbrk(conf->lcores, "@()") ? "--lcores" : "-l") | add(a, conf->lcores);
	if (conf->main_lcore >= 0) {
		char ml[16];

		snprintf(ml, sizeof(ml), "%d", conf->main_lcore);
		rc |= add(a, "--main-lcore") | add(a, ml);
	}
	rc |= add(a, "--file-prefix") | add(a, conf->file_prefix);
	rc |= add(a, "-m") | add(a, num);
	if (a->no_huge)
		rc |= add(a, "--no-huge");
	else if (conf->huge_unlink)	/* a crashed process leaves no file with its keys */
		rc |= add(a, "--huge-unlink=always");
	snprintf(level, sizeof(level), "--log-level=%s", conf->log_level);
	rc |= add(a, level);
	rc |= add_device(a, conf->inner.device, &pci);
	rc |= add_device(a, conf->outer.device, &pci);
	rc |= add_crypto(a, p, &pci);
	if (!pci)
		rc |= add(a, "--no-pci");
	for (unsigned int i = 0; i < conf->nb_eal_args; i++)
		rc |= add(a, conf->eal_args[i]);
	if (rc != 0) {
		snprintf(err, errlen, "%s: too many EAL arguments", conf->file);
		return -E2BIG;
	}
	a->argv[a->argc] = NULL;
	return 0;
}
