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

#endif
