/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration file: reading it, the top level and the appliance's own
 * groups (eal, policy, crypto, limits, control, poll); the network groups
 * are in ms_conf_net.c. Main lcore, before the EAL starts; errors name file,
 * line and setting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_pci.h>

#include "ms_conf_priv.h"

#ifndef MS_PROFILE_DIR
#define MS_PROFILE_DIR "/usr/share/migsec/pmd-profiles"
#endif

/* An optional group: NULL if absent. *rc is set if it is no group or has unknown members. */
static const config_setting_t *
opt_group(struct ms_cfg_ctx *c, const config_setting_t *root, const char *name,
	  const char *const known[], int *rc)
{
	const config_setting_t *g = ms_cfg_group(c, root, name, false, rc);

	if (*rc == 0 && g != NULL)
		*rc = ms_cfg_members(c, g, name, known);
	return g;
}

/* eal.args: more EAL arguments, passed on as they are. */
static int
get_eal_args(struct ms_cfg_ctx *c, const config_setting_t *g, struct ms_conf *conf)
{
	const config_setting_t *args = config_setting_get_member(g, "args");

	if (args == NULL)
		return 0;
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
	return 0;
}

static int
load_eal(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "lcores", "main_lcore", "file_prefix",
		"memory_mb", "hugepages", "huge_unlink", "log_level", "args", NULL };
	static const char *const huge[] = { "auto", "yes", "no", NULL };
	const config_setting_t *g;
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
	return get_eal_args(c, g, conf);
}

static int
load_policy(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "default", "replay_window", "mss_clamp", NULL };
	static const char *const pol[] = { "discard", "bypass", NULL };
	const config_setting_t *g;
	int rc, p;

	g = opt_group(c, root, "policy", known, &rc);
	if (rc || (rc = ms_cfg_enum(c, g, "policy", "default", pol, &p, MS_POLICY_DISCARD)) ||
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
	static const char *const modes[] = { "busy", "adaptive", "interrupt", NULL };
	const config_setting_t *g;
	int rc, m;

	g = opt_group(c, root, "poll", known, &rc);
	if (rc || (rc = ms_cfg_enum(c, g, "poll", "mode", modes, &m, MS_POLL_BUSY)) ||
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

	g = opt_group(c, root, "crypto", known, &rc);
	if (rc || (rc = ms_cfg_str(c, g, "crypto", "profile", conf->profile, sizeof(conf->profile),
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
load_limits(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known_limits[] = { "max_sa", "mbufs", "mbuf_size", "burst", NULL };
	const config_setting_t *g;
	int rc;

	g = opt_group(c, root, "limits", known_limits, &rc);
	if (rc ||
	    (rc = ms_cfg_uint(c, g, "limits", "max_sa", &conf->max_sa, 2, 65536, 1024, false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "mbufs", &conf->mbufs, 1024, 1 << 22, 16384, false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "mbuf_size", &conf->mbuf_size, 1024, 65000, 2176,
			   false)) ||
	    (rc = ms_cfg_uint(c, g, "limits", "burst", &conf->burst, 1, 128, 32, false)))
		return rc;
	return 0;
}

static int
load_control(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known_ctl[] = { "socket", "user", NULL };
	const config_setting_t *g;
	int rc;

	g = opt_group(c, root, "control", known_ctl, &rc);
	if (rc ||
	    (rc = ms_cfg_str(c, g, "control", "socket", conf->ctl_socket, sizeof(conf->ctl_socket),
			  "/run/migsec/dataplane.sock", false)) ||
	    (rc = ms_cfg_str(c, g, "control", "user", conf->ctl_user, sizeof(conf->ctl_user),
			  "", false)))
		return rc;
	if (conf->ctl_socket[0] != '/')
		return ms_cfg_fail(c, config_setting_get_member(g, "socket"), "control.socket",
			    "must be an absolute path");
	return 0;
}

/* Group "hardening": whether a failure to keep keys out of core dumps and swap stops the start. */
static int
load_hardening(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	static const char *const known[] = { "required", NULL };
	const config_setting_t *g;
	int rc;

	g = opt_group(c, root, "hardening", known, &rc);
	if (rc == 0)
		rc = ms_cfg_bool(c, g, "hardening", "required", &conf->harden_required, true);
	return rc;
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

/* cfg holds path once this returns 0; on an error it is destroyed and err says why. */
static int
read_file(config_t *cfg, const char *path, char *err, unsigned int errlen)
{
	config_init(cfg);
	if (config_read_file(cfg, path) == CONFIG_TRUE)
		return 0;
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO)
		snprintf(err, errlen, "%s: cannot read file: %s", path, strerror(errno));
	else
		snprintf(err, errlen, "%s:%d: syntax error: %s",
			 config_error_file(cfg) ? config_error_file(cfg) : path,
			 config_error_line(cfg), config_error_text(cfg));
	config_destroy(cfg);
	return -EINVAL;
}

/* Each group in turn: the first error found is the one reported. */
static int
load_groups(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	int rc;

	if ((rc = load_eal(c, root, conf)) ||
	    (rc = ms_conf_load_net(c, root, conf)) ||
	    (rc = load_policy(c, root, conf)) ||
	    (rc = load_crypto(c, root, conf)) ||
	    (rc = load_limits(c, root, conf)) ||
	    (rc = load_control(c, root, conf)) ||
	    (rc = load_hardening(c, root, conf)) ||
	    (rc = load_poll(c, root, &conf->poll)))
		return rc;
	return check_frames(c, root, conf);
}

int
ms_conf_load(const char *path, struct ms_conf *conf, char *err, unsigned int errlen)
{
	/* "mgmt" belongs to migsec-control, which reads the same file. */
	static const char *const known[] = { "name", "eal", "crypto", "inner", "outer", "remote",
		"policy", "limits", "poll", "control", "hardening", "mgmt", NULL };
	struct ms_cfg_ctx c = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root;
	config_t cfg;
	int rc;

	memset(conf, 0, sizeof(*conf));
	snprintf(conf->file, sizeof(conf->file), "%s", path);
	if ((rc = read_file(&cfg, path, err, errlen)) != 0)
		return rc;
	root = config_root_setting(&cfg);
	rc = ms_cfg_members(&c, root, "", known);
	if (rc == 0)
		rc = ms_cfg_str(&c, root, "", "name", conf->name, sizeof(conf->name), "migsec", false);
	if (rc == 0 && strspn(conf->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "0123456789_-") != strlen(conf->name))
		rc = ms_cfg_fail(&c, config_setting_get_member(root, "name"), "name",
			  "only letters, digits, '_' and '-'");
	if (rc == 0)
		rc = load_groups(&c, root, conf);
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
	return m == MS_POLL_ADAPTIVE ? "adaptive" : m == MS_POLL_INTERRUPT ? "interrupt" : "busy";
}
