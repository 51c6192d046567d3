/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The hypervisor host's /etc/migsec/libvirt.conf (mc_lvconf.h): read by
 * migsecctl policy (for the default it shows) and by the qemu hook on every
 * migrate begin. A missing file means the defaults; a bad one is an error,
 * so that a typo cannot quietly turn a gate off.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_lvconf.h"
#include "ms_libconfig.h"

static const char *const names[] = { "required", "opportunistic", "disabled", NULL };

enum mc_lv_policy
mc_lv_policy_parse(const char *s)
{
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strcspn(s, " \t\r\n");
	if (s[n + strspn(s + n, " \t\r\n")] != '\0')
		return MC_LV_BAD;
	for (int i = 0; names[i] != NULL; i++)
		if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
			return (enum mc_lv_policy)i;
	return MC_LV_BAD;
}

const char *
mc_lv_policy_name(enum mc_lv_policy p)
{
	return p < MC_LV_BAD ? names[p] : "invalid";
}

static int
parse(config_t *cfg, struct mc_lvconf *c, char *err, size_t errlen)
{
	static const char *const known[] = { "default_policy", "query_socket", "audit_file",
		"hosts", NULL };	/* hosts: migsecctl migrate's (cli/mc_lvhosts.c) */
	struct ms_cfg_ctx cx = { .file = c->file, .err = err, .errlen = (unsigned int)errlen };
	const config_setting_t *root = config_root_setting(cfg);
	int pol = MC_LV_OPPORTUNISTIC;

	if (ms_cfg_members(&cx, root, "", known) ||
	    ms_cfg_enum(&cx, root, "", "default_policy", names, &pol, MC_LV_OPPORTUNISTIC) ||
	    ms_cfg_str(&cx, root, "", "query_socket", c->query_socket, sizeof(c->query_socket),
		       MC_LV_QUERY_SOCKET, false) ||
	    ms_cfg_str(&cx, root, "", "audit_file", c->audit_file, sizeof(c->audit_file), "",
		       false))
		return -1;
	c->default_policy = (enum mc_lv_policy)pol;
	if (c->query_socket[0] != '/')
		return ms_cfg_fail(&cx, config_setting_get_member(root, "query_socket"),
				   "query_socket", "must be an absolute path"), -1;
	return 0;
}

int
mc_lvconf_load(struct mc_lvconf *c, char *err, size_t errlen)
{
	const char *path = getenv("MIGSEC_LIBVIRT_CONF");
	config_t cfg;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", path && *path ? path : MC_LV_CONF);
	snprintf(c->query_socket, sizeof(c->query_socket), "%s", MC_LV_QUERY_SOCKET);
	c->default_policy = MC_LV_OPPORTUNISTIC;
	config_init(&cfg);
	if (config_read_file(&cfg, c->file) == CONFIG_TRUE) {
		rc = parse(&cfg, c, err, errlen);
	} else if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO && errno == ENOENT) {
		rc = 0;		/* no file: the defaults */
	} else {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read file: %s", c->file, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", c->file,
				 config_error_line(&cfg), config_error_text(&cfg));
		rc = -1;
	}
	config_destroy(&cfg);
	return rc;
}
