/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pci.h>

#include "ms_libconfig.h"
#include "ms_conf.h"

#ifndef MS_PROFILE_DIR
#define MS_PROFILE_DIR "/usr/share/migsec/pmd-profiles"
#endif

/* Address settings: "prefix" keeps the length, "ip" wants a bare address. */
static int
get_addr(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath, const char *name,
	 struct ms_prefix *pfx, struct ms_ip *ip, int want_af)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	char buf[MS_IPSTRLEN], path[128];
	struct ms_prefix p;
	int rc;

	if (s == NULL)
		return 0;
	ms_cfg_join(path, sizeof(path), gpath, name);
	if (ms_cfg_str(c, g, gpath, name, buf, sizeof(buf), NULL, true) != 0)
		return -EINVAL;
	if (pfx != NULL) {
		/* own address with its on-link prefix: host bits are allowed */
		char *slash = strchr(buf, '/');
		unsigned long len = 0;
		char *end;

		if (slash == NULL)
			return ms_cfg_fail(c, s, path, "must be ADDRESS/PREFIXLEN (got \"%s\")", buf);
		*slash = '\0';
		rc = ms_ip_parse(buf, &p.ip);
		len = strtoul(slash + 1, &end, 10);
		if (rc != 0 || *end != '\0' || slash[1] == '\0' ||
		    len > (p.ip.af == MS_AF_INET ? 32u : 128u))
			return ms_cfg_fail(c, s, path, "not a valid ADDRESS/PREFIXLEN");
		p.len = (uint8_t)len;
		if (p.ip.af != want_af)
			return ms_cfg_fail(c, s, path, "must be an IPv%d address", want_af);
		*pfx = p;
		return 0;
	}
	if (ms_ip_parse(buf, ip) != 0)
		return ms_cfg_fail(c, s, path, "not a valid IP address (got \"%s\")", buf);
	if (want_af && ip->af != want_af)
		return ms_cfg_fail(c, s, path, "must be an IPv%d address", want_af);
	return 0;
}

static int
load_eal(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "lcores", "main_lcore", "file_prefix",
		"memory_mb", "hugepages", "huge_unlink", "log_level", "args", NULL };
	static const char *const huge[] = { "auto", "yes", "no", NULL };
	const config_setting_t *g, *args;
	uint32_t main_lcore;
	int rc, h;

	g = ms_cfg_group(c, root, "eal", true, &rc);
	if (rc)
		return rc;
	if ((rc = ms_cfg_members(c, g, "eal", known)) ||
	    (rc = ms_cfg_str(c, g, "eal", "lcores", conf->lcores, sizeof(conf->lcores), NULL, true)) ||
	    (rc = ms_cfg_str(c, g, "eal", "file_prefix", conf->file_prefix,
			  sizeof(conf->file_prefix), conf->name, false)) ||
	    (rc = ms_cfg_uint(c, g, "eal", "memory_mb", &conf->memory_mb, 64, 1 << 20, 512, false)) ||
	    (rc = ms_cfg_enum(c, g, "eal", "hugepages", huge, &h, MS_HUGE_AUTO)) ||
	    (rc = ms_cfg_bool(c, g, "eal", "huge_unlink", &conf->huge_unlink, true)) ||
	    (rc = ms_cfg_str(c, g, "eal", "log_level", conf->log_level, sizeof(conf->log_level),
			  "info", false)))
		return rc;
	conf->huge = (enum ms_huge)h;
	if (strspn(conf->lcores, "0123456789,-@()") != strlen(conf->lcores) ||
	    conf->lcores[0] == '\0')
		return ms_cfg_fail(c, config_setting_get_member(g, "lcores"), "eal.lcores",
			    "must be a core list like \"0,1\" or \"2-5\", or an lcore map "
			    "like \"0@1,1@0\"");
	conf->main_lcore = -1;
	if (config_setting_get_member(g, "main_lcore") != NULL) {
		if ((rc = ms_cfg_uint(c, g, "eal", "main_lcore", &main_lcore, 0, 1023, 0, true)))
			return rc;
		conf->main_lcore = (int)main_lcore;
	}
	args = config_setting_get_member(g, "args");
	if (args != NULL) {
		if (!config_setting_is_array(args) && !config_setting_is_list(args))
			return ms_cfg_fail(c, args, "eal.args", "must be a list of strings [ \"...\" ]");
		if (config_setting_length(args) > MS_EAL_ARGS_MAX)
			return ms_cfg_fail(c, args, "eal.args", "at most %d arguments", MS_EAL_ARGS_MAX);
		for (int i = 0; i < config_setting_length(args); i++) {
			const config_setting_t *a = config_setting_get_elem(args, (unsigned int)i);
			const char *v = config_setting_get_string(a);

			if (v == NULL)
				return ms_cfg_fail(c, a, "eal.args", "element %d is not a string", i);
			if (strlen(v) >= MS_DEV_MAX)
				return ms_cfg_fail(c, a, "eal.args", "element %d is too long", i);
			snprintf(conf->eal_args[conf->nb_eal_args++], MS_DEV_MAX, "%s", v);
		}
	}
	return 0;
}

static int
load_port(struct ms_cfg_ctx *c, const config_setting_t *root, const char *name,
	  struct ms_port_conf *pc, uint16_t *udp_port)
{
	static const char *const known_inner[] = { "device", "ipv4", "ipv6", "gateway4",
		"gateway6", "mtu", "rx_desc", "tx_desc", NULL };
	static const char *const known_outer[] = { "device", "ipv4", "ipv6", "gateway4",
		"gateway6", "mtu", "rx_desc", "tx_desc", "udp_port", NULL };
	const config_setting_t *g;
	uint32_t port;
	int rc;

	g = ms_cfg_group(c, root, name, true, &rc);
	if (rc)
		return rc;
	if ((rc = ms_cfg_members(c, g, name, udp_port ? known_outer : known_inner)) ||
	    (rc = ms_cfg_str(c, g, name, "device", pc->device, sizeof(pc->device), NULL, true)) ||
	    (rc = get_addr(c, g, name, "ipv4", &pc->addr4, NULL, MS_AF_INET)) ||
	    (rc = get_addr(c, g, name, "ipv6", &pc->addr6, NULL, MS_AF_INET6)) ||
	    (rc = get_addr(c, g, name, "gateway4", NULL, &pc->gw4, MS_AF_INET)) ||
	    (rc = get_addr(c, g, name, "gateway6", NULL, &pc->gw6, MS_AF_INET6)) ||
	    (rc = ms_cfg_uint(c, g, name, "mtu", &pc->mtu, 1280, 9600, 1500, false)) ||
	    (rc = ms_cfg_uint(c, g, name, "rx_desc", &pc->rx_desc, 64, 16384, 1024, false)) ||
	    (rc = ms_cfg_uint(c, g, name, "tx_desc", &pc->tx_desc, 64, 16384, 1024, false)))
		return rc;
	if (pc->device[0] == '\0')
		return ms_cfg_fail(c, config_setting_get_member(g, "device"), name, "device is empty");
	if (pc->addr4.ip.af == MS_AF_NONE && pc->addr6.ip.af == MS_AF_NONE)
		return ms_cfg_fail(c, g, name, "needs an ipv4 or ipv6 address");
	if (pc->gw4.af && (pc->addr4.ip.af == MS_AF_NONE || !ms_prefix_has(&pc->addr4, &pc->gw4)))
		return ms_cfg_fail(c, config_setting_get_member(g, "gateway4"), name,
			    "gateway4 must be inside the ipv4 prefix");
	if (pc->gw6.af && (pc->addr6.ip.af == MS_AF_NONE || !ms_prefix_has(&pc->addr6, &pc->gw6)))
		return ms_cfg_fail(c, config_setting_get_member(g, "gateway6"), name,
			    "gateway6 must be inside the ipv6 prefix");
	if (udp_port != NULL) {
		if ((rc = ms_cfg_uint(c, g, name, "udp_port", &port, 1, 65535, 4500, false)))
			return rc;
		*udp_port = (uint16_t)port;
	}
	return 0;
}

static int
load_remote(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "prefix", "via", "proxy", NULL };
	const config_setting_t *l = config_setting_get_member(root, "remote");
	int rc;

	if (l == NULL)
		return 0;
	if (!config_setting_is_list(l))
		return ms_cfg_fail(c, l, "remote", "must be a list ( { ... }, ... )");
	if (config_setting_length(l) > MS_REMOTE_MAX)
		return ms_cfg_fail(c, l, "remote", "at most %d entries", MS_REMOTE_MAX);
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned int)i);
		struct ms_remote_conf *r = &conf->remote[conf->nb_remote];
		char path[32], buf[MS_IPSTRLEN + 8];
		const struct ms_prefix *own;

		snprintf(path, sizeof(path), "remote[%d]", i);
		if (!config_setting_is_group(e))
			return ms_cfg_fail(c, e, path, "must be a group { prefix = ...; via = ...; }");
		if ((rc = ms_cfg_members(c, e, path, known)) ||
		    (rc = ms_cfg_str(c, e, path, "prefix", buf, sizeof(buf), NULL, true)))
			return rc;
		if (ms_prefix_parse(buf, &r->prefix) != 0)
			return ms_cfg_fail(c, config_setting_get_member(e, "prefix"), path,
				    "prefix \"%s\" is not a valid network (host bits must be zero)", buf);
		if (!config_setting_get_member(e, "via"))
			return ms_cfg_fail(c, e, path, "via (the peer appliance's outer address) is missing");
		if ((rc = get_addr(c, e, path, "via", NULL, &r->via, 0)) ||
		    (rc = ms_cfg_bool(c, e, path, "proxy", &r->proxy, true)))
			return rc;
		own = r->via.af == MS_AF_INET ? &conf->outer.addr4 : &conf->outer.addr6;
		if (own->ip.af == MS_AF_NONE)
			return ms_cfg_fail(c, config_setting_get_member(e, "via"), path,
				    "via is IPv%d but outer has no IPv%d address", r->via.af, r->via.af);
		conf->nb_remote++;
	}
	return 0;
}

static int
load_policy(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "default", "replay_window", "mss_clamp", NULL };
	static const char *const pol[] = { "discard", "bypass", NULL };
	const config_setting_t *g;
	int rc, p;

	g = ms_cfg_group(c, root, "policy", false, &rc);
	if (rc)
		return rc;
	if (g && (rc = ms_cfg_members(c, g, "policy", known)))
		return rc;
	if ((rc = ms_cfg_enum(c, g, "policy", "default", pol, &p, MS_POLICY_DISCARD)) ||
	    (rc = ms_cfg_uint(c, g, "policy", "replay_window", &conf->replay_window, 64, 4096,
			   1024, false)) ||
	    (rc = ms_cfg_bool(c, g, "policy", "mss_clamp", &conf->mss_clamp, true)))
		return rc;
	conf->policy = (enum ms_policy)p;
	return 0;
}

static int
load_poll(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_poll_conf *pc)
{
	static const char *const known[] = { "mode", "spin_polls", "sleep_after_us", "sleep_max_us",
		NULL };
	static const char *const modes[] = { "busy", "adaptive", NULL };
	const config_setting_t *g;
	int rc, m;

	g = ms_cfg_group(c, root, "poll", false, &rc);
	if (rc || (g && (rc = ms_cfg_members(c, g, "poll", known))))
		return rc;
	if ((rc = ms_cfg_enum(c, g, "poll", "mode", modes, &m, MS_POLL_BUSY)) ||
	    (rc = ms_cfg_uint(c, g, "poll", "spin_polls", &pc->spin_polls, 1, 1u << 30, 512,
			   false)) ||
	    (rc = ms_cfg_uint(c, g, "poll", "sleep_after_us", &pc->sleep_after_us, 0, 10000000,
			   500, false)) ||
	    (rc = ms_cfg_uint(c, g, "poll", "sleep_max_us", &pc->sleep_max_us, 1, 100000, 1000,
			   false)))
		return rc;
	pc->mode = (enum ms_poll_mode)m;
	return 0;
}

/* Where a crypto setting is, for errors that only the profile reveals. */
static int
line_of(const config_setting_t *g, const char *name)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;

	return s ? config_setting_source_line(s) : g ? config_setting_source_line(g) : 0;
}

/* crypto.pci: a PCI address, kept in the EAL's canonical form (0000:3d:01.0). */
static int
get_pci(struct ms_cfg_ctx *c, const config_setting_t *g, struct ms_conf *conf)
{
	struct rte_pci_addr addr;
	char buf[64];
	int rc;

	if ((rc = ms_cfg_str(c, g, "crypto", "pci", buf, sizeof(buf), "", false)) || buf[0] == '\0')
		return rc;
	if (rte_pci_addr_parse(buf, &addr) != 0)
		return ms_cfg_fail(c, config_setting_get_member(g, "pci"), "crypto.pci",
			    "must be a PCI address like \"0000:3d:01.0\" (got \"%s\")", buf);
	rte_pci_device_name(&addr, conf->crypto_pci, sizeof(conf->crypto_pci));
	return 0;
}

static int
load_crypto(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "profile", "profile_dir", "sessions", "pci",
		"primary", "secondary", NULL };
	static const char *const names[] = { "profile", "primary", "secondary" };
	char *const vals[] = { conf->profile, conf->primary, conf->secondary };
	const config_setting_t *g;
	int rc;

	g = ms_cfg_group(c, root, "crypto", false, &rc);
	if (rc || (g && (rc = ms_cfg_members(c, g, "crypto", known))))
		return rc;
	if ((rc = ms_cfg_str(c, g, "crypto", "profile", conf->profile, sizeof(conf->profile),
			  "aesni_gcm", false)) ||
	    (rc = ms_cfg_str(c, g, "crypto", "profile_dir", conf->profile_dir,
			  sizeof(conf->profile_dir), MS_PROFILE_DIR, false)) ||
	    (rc = ms_cfg_uint(c, g, "crypto", "sessions", &conf->sessions, 64, 1 << 20, 4096, false)) ||
	    (rc = ms_cfg_str(c, g, "crypto", "primary", conf->primary, sizeof(conf->primary), "",
			  false)) ||
	    (rc = ms_cfg_str(c, g, "crypto", "secondary", conf->secondary, sizeof(conf->secondary),
			  "", false)) ||
	    (rc = get_pci(c, g, conf)))
		return rc;
	for (unsigned int i = 0; i < RTE_DIM(names); i++) {
		char path[32];

		if (strspn(vals[i], "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(vals[i]))
			continue;
		snprintf(path, sizeof(path), "crypto.%s", names[i]);
		return ms_cfg_fail(c, config_setting_get_member(g, names[i]), path,
			    "must be a profile name such as \"aesni_gcm\"");
	}
	conf->line_crypto = g ? config_setting_source_line(g) : 0;
	conf->line_pci = line_of(g, "pci");
	conf->line_primary = line_of(g, "primary");
	conf->line_secondary = line_of(g, "secondary");
	return 0;
}

static int
load_rest(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known_limits[] = { "max_sa", "mbufs", "mbuf_size", "burst", NULL };
	static const char *const known_ctl[] = { "socket", "user", NULL };
	const config_setting_t *g;
	int rc;

	rc = load_crypto(c, root, conf);
	if (rc)
		return rc;

	g = ms_cfg_group(c, root, "limits", false, &rc);
	if (rc || (g && (rc = ms_cfg_members(c, g, "limits", known_limits))))
		return rc;
	if ((rc = ms_cfg_uint(c, g, "limits", "max_sa", &conf->max_sa, 2, 65536, 1024, false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "mbufs", &conf->mbufs, 1024, 1 << 22, 16384, false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "mbuf_size", &conf->mbuf_size, 1024, 65000, 2176,
			   false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "burst", &conf->burst, 1, 128, 32, false)))
		return rc;

	g = ms_cfg_group(c, root, "control", false, &rc);
	if (rc || (g && (rc = ms_cfg_members(c, g, "control", known_ctl))))
		return rc;
	if ((rc = ms_cfg_str(c, g, "control", "socket", conf->ctl_socket, sizeof(conf->ctl_socket),
			  "/run/migsec/dataplane.sock", false)) ||
	    (rc = ms_cfg_str(c, g, "control", "user", conf->ctl_user, sizeof(conf->ctl_user),
			  "", false)))
		return rc;
	if (conf->ctl_socket[0] != '/')
		return ms_cfg_fail(c, config_setting_get_member(g, "socket"), "control.socket",
			    "must be an absolute path");
	return 0;
}

static int
check_frames(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	/* Ethernet + the largest frame + ESP overhead must fit one mbuf. */
	uint32_t need = 14 + (conf->inner.mtu > conf->outer.mtu ? conf->inner.mtu : conf->outer.mtu)
			+ 128;

	const config_setting_t *s = config_setting_lookup((config_setting_t *)(uintptr_t)root,
							  "limits.mbuf_size");

	if (s == NULL)
		s = config_setting_get_member(root, "limits");
	if (conf->mbuf_size < need)
		return ms_cfg_fail(c, s, "limits.mbuf_size",
			    "%u bytes cannot hold an MTU %u frame plus ESP overhead; use at least %u",
			    conf->mbuf_size, conf->inner.mtu > conf->outer.mtu ? conf->inner.mtu
									: conf->outer.mtu, need);
	return 0;
}

int
ms_conf_load(const char *path, struct ms_conf *conf, char *err, unsigned int errlen)
{
	/* "mgmt" belongs to migsec-control, which reads the same file. */
	static const char *const known[] = { "name", "eal", "crypto", "inner", "outer", "remote",
		"policy", "limits", "poll", "control", "mgmt", NULL };
	struct ms_cfg_ctx c = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root;
	config_t cfg;
	int rc;

	memset(conf, 0, sizeof(*conf));
	snprintf(conf->file, sizeof(conf->file), "%s", path);
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read file: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s",
				 config_error_file(&cfg) ? config_error_file(&cfg) : path,
				 config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return -EINVAL;
	}
	root = config_root_setting(&cfg);
	rc = ms_cfg_members(&c, root, "", known);
	if (rc == 0)
		rc = ms_cfg_str(&c, root, "", "name", conf->name, sizeof(conf->name), "migsec", false);
	if (rc == 0 && strspn(conf->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789_-") != strlen(conf->name))
		rc = ms_cfg_fail(&c, config_setting_get_member(root, "name"), "name",
			  "only letters, digits, '_' and '-'");
	if (rc == 0)
		rc = load_eal(&c, root, conf);
	if (rc == 0)
		rc = load_port(&c, root, "inner", &conf->inner, NULL);
	if (rc == 0)
		rc = load_port(&c, root, "outer", &conf->outer, &conf->udp_port);
	if (rc == 0)
		rc = load_remote(&c, root, conf);
	if (rc == 0)
		rc = load_policy(&c, root, conf);
	if (rc == 0)
		rc = load_rest(&c, root, conf);
	if (rc == 0)
		rc = load_poll(&c, root, &conf->poll);
	if (rc == 0)
		rc = check_frames(&c, root, conf);
	config_destroy(&cfg);
	return rc;
}

const char *
ms_policy_name(enum ms_policy p)
{
	return p == MS_POLICY_BYPASS ? "bypass" : "discard";
}

const char *
ms_poll_mode_name(enum ms_poll_mode m)
{
	return m == MS_POLL_ADAPTIVE ? "adaptive" : "busy";
}
