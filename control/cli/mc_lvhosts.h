/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_LVHOSTS_H
#define MC_LVHOSTS_H

/*
 * The management plane's map of hypervisor hosts to their appliances, for
 * migsecctl migrate: the "hosts" list of /etc/migsec/libvirt.conf (or
 * $MIGSEC_LIBVIRT_CONF). Each host: its name (as libvirt reports it and as
 * it appears in URIs) and other names for it, the address it migrates from
 * and to (the migration network, through its appliance), libvirt's
 * migration port range there, and its appliance: migsec-control's
 * management address and the appliance's outer address. No libvirt here.
 */
#include <stdbool.h>
#include <stddef.h>

#include "mc_client.h"

#define MC_LVHOST_MAX 64
#define MC_LVHOST_ALIASES 8

struct mc_lvhost {
	char name[64];
	char alias[MC_LVHOST_ALIASES][64];
	unsigned int nb_alias;
	char address[64];		/* migration_address: an IPv4 or IPv6 address */
	unsigned int port_min, port_max;	/* migration_ports, libvirt's default 49152-49215 */
	bool has_appliance;		/* false: a host known to have no appliance */
	struct mc_peer appliance;	/* appliance: [NAME=]HOST:PORT of its migsec-control */
	char outer[64];			/* appliance_outer: the appliance's outer address */
};

struct mc_lvhosts {
	char file[256];
	struct mc_lvhost h[MC_LVHOST_MAX];
	unsigned int n;
};

/* The file's "hosts" (none if the file or the list is absent). 0, or -1 with err. */
int mc_lvhosts_load(struct mc_lvhosts *hs, char *err, size_t errlen);
/* The host named (case-insensitively) name, one of its aliases or its migration
 * address; NULL if none. */
const struct mc_lvhost *mc_lvhosts_find(const struct mc_lvhosts *hs, const char *name);

#endif
