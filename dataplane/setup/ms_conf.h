/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CONF_H
#define MS_CONF_H

/*
 * The data plane's configuration (one libconfig file per appliance; see
 * conf/migsec.conf.example for every setting). Loading validates everything
 * and names file, line and setting on error, before any port is touched.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ms_addr.h"

#define MS_NAME_MAX 32
#define MS_PATH_MAX 256
#define MS_DEV_MAX 256
#define MS_EAL_ARGS_MAX 16
#define MS_REMOTE_MAX 64

enum ms_policy { MS_POLICY_DISCARD = 0, MS_POLICY_BYPASS = 1 };
enum ms_huge { MS_HUGE_AUTO = 0, MS_HUGE_YES, MS_HUGE_NO };
enum ms_poll_mode { MS_POLL_BUSY = 0, MS_POLL_ADAPTIVE = 1, MS_POLL_INTERRUPT = 2 };

/* How workers wait when there is nothing to do (group "poll"). */
struct ms_poll_conf {
	enum ms_poll_mode mode;
	uint32_t spin_polls;		/* adaptive: empty polls before lib/power waits */
	uint32_t sleep_after_us;	/* idle time before sleeping */
	uint32_t sleep_max_us;		/* sleeps: 1 us doubling up to this; interrupt: longest wait */
};

struct ms_port_conf {
	char device[MS_DEV_MAX];	/* "net_af_packet0,iface=x" or a PCI address */
	struct ms_prefix addr4;		/* own address and on-link prefix (af 0: none) */
	struct ms_prefix addr6;
	struct ms_ip gw4;		/* next hop for off-link addresses (af 0: none) */
	struct ms_ip gw6;
	uint32_t mtu;			/* L3 MTU of the link */
	uint32_t rx_desc;
	uint32_t tx_desc;
};

struct ms_remote_conf {
	struct ms_prefix prefix;	/* hosts behind a peer appliance */
	struct ms_ip via;		/* that appliance's outer address */
	bool proxy;			/* answer ARP/ND for them on the inner port */
};

struct ms_conf {
	char file[MS_PATH_MAX];
	char name[MS_NAME_MAX];

	/* eal */
	char lcores[64];
	int main_lcore;			/* -1: EAL default */
	char file_prefix[64];
	uint32_t memory_mb;
	enum ms_huge huge;
	bool huge_unlink;		/* hugepage files unlinked once mapped (keys die with us) */
	char log_level[16];
	unsigned int nb_eal_args;
	char eal_args[MS_EAL_ARGS_MAX][MS_DEV_MAX];

	/* crypto */
	char profile[MS_NAME_MAX];
	char profile_dir[MS_PATH_MAX];
	uint32_t sessions;
	char crypto_pci[32];		/* the crypto device's PCI address, or empty */
	char primary[MS_NAME_MAX];	/* failover: member profiles overriding the */
	char secondary[MS_NAME_MAX];	/* profile's own (empty: keep them) */
	int line_crypto, line_pci;	/* where these are, for the profile's errors */
	int line_primary, line_secondary;

	struct ms_port_conf inner;
	struct ms_port_conf outer;
	uint16_t udp_port;		/* ESP-in-UDP port, 4500 */

	unsigned int nb_remote;
	struct ms_remote_conf remote[MS_REMOTE_MAX];

	/* policy */
	enum ms_policy policy;
	uint32_t replay_window;
	bool mss_clamp;

	/* limits */
	uint32_t max_sa;
	uint32_t mbufs;
	uint32_t mbuf_size;		/* data room per mbuf, bytes */
	uint32_t burst;

	struct ms_poll_conf poll;

	/* control */
	char ctl_socket[MS_PATH_MAX];
	char ctl_user[MS_NAME_MAX];

	/* hardening */
	bool harden_required;		/* no start without core dumps off and memory locked */
};

/*
 * Load and validate path. On error returns -EINVAL (or -errno) and writes
 * "FILE:LINE: setting 'a.b': what is wrong" into err.
 */
int ms_conf_load(const char *path, struct ms_conf *conf, char *err, unsigned int errlen);

const char *ms_policy_name(enum ms_policy p);
const char *ms_poll_mode_name(enum ms_poll_mode m);

#endif
