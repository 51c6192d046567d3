/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_LVCONF_H
#define MC_LVCONF_H

/*
 * What migsecctl's libvirt commands (cli/mc_libvirt.c) and the qemu hook
 * (tools/migsec-libvirt-hook.c) share: the metadata element's namespace,
 * the policy names, and the hypervisor host's small file
 * /etc/migsec/libvirt.conf (the cluster's default policy, where the local
 * appliance answers, the hook's audit file). No libvirt, no DPDK here.
 */
#include <stddef.h>

/* <migsec:policy xmlns:migsec="MC_LV_NS">required</migsec:policy> in <metadata>. */
#define MC_LV_NS "http://migsec.org/xmlns/libvirt/1"
#define MC_LV_PREFIX "migsec"
#define MC_LV_ELEM "policy"
#define MC_LV_CONF "/etc/migsec/libvirt.conf"	/* or $MIGSEC_LIBVIRT_CONF */
#define MC_LV_QUERY_SOCKET "/run/migsec-control/query.sock"	/* mgmt.query_socket's usual path */

enum mc_lv_policy { MC_LV_REQUIRED, MC_LV_OPPORTUNISTIC, MC_LV_DISABLED, MC_LV_BAD };

struct mc_lvconf {
	char file[256];
	enum mc_lv_policy default_policy;	/* for domains without the element */
	char query_socket[256];			/* the local appliance's read-only socket */
	char audit_file[256];			/* the hook's JSON lines besides syslog; "" none */
};

/* "required" -> MC_LV_REQUIRED ...; anything else MC_LV_BAD (surrounding blanks allowed). */
enum mc_lv_policy mc_lv_policy_parse(const char *s);
const char *mc_lv_policy_name(enum mc_lv_policy p);
/* The file ($MIGSEC_LIBVIRT_CONF or MC_LV_CONF); absent: the defaults. 0 or -1 with err. */
int mc_lvconf_load(struct mc_lvconf *c, char *err, size_t errlen);

#endif
