/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_LIBVIRT_H
#define MC_LIBVIRT_H

/*
 * migsecctl's libvirt commands (mc_libvirt.c): they speak to the local
 * libvirtd, not to an appliance, so they need no TLS material.
 */
#include <stdbool.h>

/* Exit status of "policy" for a domain libvirt does not know (migsecctl(8)). */
#define MC_EXIT_NO_DOMAIN 6

/* migsecctl policy DOMAIN [POLICY] [--connect URI] [--json]: argv[0] is "policy".
 * Returns the exit status. */
int mc_lv_policy_main(bool json, int argc, char **argv);

#ifdef MS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>

#include "mc_lvconf.h"

/* libvirt's errors not printed by libvirt itself (we say them once, our way). */
void mc_lv_quiet(void);
/* The last libvirt error's message on this thread. */
const char *mc_lv_msg(void);
/*
 * The policy in force for d: its <migsec:policy> (MC_LV_BAD if invalid;
 * *from "metadata"), or lc's default (*from "default"). -1 if the metadata
 * could not be read (mc_lv_msg).
 */
int mc_lv_domain_policy(virDomainPtr d, const struct mc_lvconf *lc, enum mc_lv_policy *p,
			const char **from);
#endif

#endif
