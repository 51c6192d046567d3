/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "hosts" list of /etc/migsec/libvirt.conf (mc_lvhosts.h), read by
 * migsecctl migrate to find each hypervisor host's appliance and migration
 * address. The rest of the file is mc_lvconf.c's. Every entry is checked
 * here, so a typo is an error naming file, line and setting, never a
 * migration sent past its appliance.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mc_lvconf.h"
#include "mc_lvhosts.h"
#include "ms_libconfig.h"

static bool
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
ports(struct ms_cfg_ctx *cx, const config_setting_t *g, const char *path, struct mc_lvhost *h)
{
	const config_setting_t *s = config_setting_get_member(g, "migration_ports");
	char p[160], txt[32];
	unsigned int a, b;
	char tail;

	h->port_min = 49152;	/* libvirt's migration_port_min/max defaults (qemu.conf) */
	h->port_max = 49215;
	ms_cfg_join(p, sizeof(p), path, "migration_ports");
	if (s == NULL)
		return 0;
	if (ms_cfg_str(cx, g, path, "migration_ports", txt, sizeof(txt), "", true) != 0)
		return -1;
	if (sscanf(txt, "%u-%u%c", &a, &b, &tail) != 2 || a == 0 || a > b || b > 65535)
		return ms_cfg_fail(cx, s, p, "must be \"MIN-MAX\" (1..65535), as qemu.conf's "
				   "migration_port_min and migration_port_max");
	h->port_min = a;
	h->port_max = b;
	return 0;
}

static int
aliases(struct ms_cfg_ctx *cx, const config_setting_t *g, const char *path, struct mc_lvhost *h)
{
	const config_setting_t *s = config_setting_get_member(g, "aliases");
	char p[160];

	ms_cfg_join(p, sizeof(p), path, "aliases");
	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) || config_setting_length(s) > MC_LVHOST_ALIASES)
		return ms_cfg_fail(cx, s, p, "must be an array of at most %d strings [ \"...\" ]",
				   MC_LVHOST_ALIASES);
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *a = config_setting_get_string_elem(s, i);

		if (a == NULL || a[0] == '\0' || strlen(a) >= sizeof(h->alias[0]))
			return ms_cfg_fail(cx, s, p, "element %d must be a name of 1..63 characters", i);
		snprintf(h->alias[h->nb_alias++], sizeof(h->alias[0]), "%s", a);
	}
	return 0;
}

static int
one(struct ms_cfg_ctx *cx, const config_setting_t *g, const char *path, struct mc_lvhost *h)
{
	static const char *const known[] = { "name", "aliases", "migration_address",
		"migration_ports", "appliance", "appliance_outer", NULL };
	char app[192] = "", p[160];

	if (!config_setting_is_group(g))
		return ms_cfg_fail(cx, g, path, "must be a group { name = ...; ... }");
	if (ms_cfg_members(cx, g, path, known) ||
	    ms_cfg_str(cx, g, path, "name", h->name, sizeof(h->name), "", true) ||
	    ms_cfg_str(cx, g, path, "migration_address", h->address, sizeof(h->address), "", true) ||
	    ms_cfg_str(cx, g, path, "appliance", app, sizeof(app), "", false) ||
	    ms_cfg_str(cx, g, path, "appliance_outer", h->outer, sizeof(h->outer), "", false) ||
	    aliases(cx, g, path, h) || ports(cx, g, path, h))
		return -1;
	ms_cfg_join(p, sizeof(p), path, "migration_address");
	if (!is_ip(h->address))
		return ms_cfg_fail(cx, config_setting_get_member(g, "migration_address"), p,
				   "'%s' is not an IPv4 or IPv6 address", h->address);
	h->has_appliance = app[0] != '\0';
	ms_cfg_join(p, sizeof(p), path, "appliance");
	if (h->has_appliance && mc_peer_parse(app, &h->appliance) != 0)
		return ms_cfg_fail(cx, config_setting_get_member(g, "appliance"), p,
				   "'%s' is not [NAME=]HOST:PORT of a migsec-control", app);
	ms_cfg_join(p, sizeof(p), path, "appliance_outer");
	if (h->has_appliance != (h->outer[0] != '\0') || (h->outer[0] && !is_ip(h->outer)))
		return ms_cfg_fail(cx, h->outer[0] ? config_setting_get_member(g, "appliance_outer")
				   : g, p, "an appliance needs its outer address (IPv4 or IPv6), "
				   "and only an appliance has one");
	return 0;
}

static int
parse(config_t *cfg, struct mc_lvhosts *hs, char *err, size_t errlen)
{
	struct ms_cfg_ctx cx = { .file = hs->file, .err = err, .errlen = (unsigned int)errlen };
	const config_setting_t *l = config_lookup(cfg, "hosts");
	char path[64];

	if (l == NULL)
		return 0;
	if (!config_setting_is_list(l) || config_setting_length(l) > MC_LVHOST_MAX)
		return ms_cfg_fail(&cx, l, "hosts", "must be a list of at most %d groups ( { ... } )",
				   MC_LVHOST_MAX);
	for (int i = 0; i < config_setting_length(l); i++) {
		struct mc_lvhost *h = &hs->h[hs->n];

		snprintf(path, sizeof(path), "hosts.[%d]", i);
		if (one(&cx, config_setting_get_elem(l, (unsigned int)i), path, h) != 0)
			return -1;
		for (unsigned int k = 0; k <= h->nb_alias; k++)
			if (mc_lvhosts_find(hs, k ? h->alias[k - 1] : h->name) != NULL)
				return ms_cfg_fail(&cx, config_setting_get_elem(l, (unsigned int)i), path,
						   "'%s' names two hosts", k ? h->alias[k - 1] : h->name);
		hs->n++;
	}
	return 0;
}

int
mc_lvhosts_load(struct mc_lvhosts *hs, char *err, size_t errlen)
{
	const char *path = getenv("MIGSEC_LIBVIRT_CONF");
	config_t cfg;
	int rc;

	memset(hs, 0, sizeof(*hs));
	snprintf(hs->file, sizeof(hs->file), "%s", path && *path ? path : MC_LV_CONF);
	config_init(&cfg);
	if (config_read_file(&cfg, hs->file) == CONFIG_TRUE) {
		rc = parse(&cfg, hs, err, errlen) != 0 ? -1 : 0;
	} else if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO && errno == ENOENT) {
		rc = 0;		/* no file: no hosts; migsecctl migrate says so */
	} else {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read file: %s", hs->file, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", hs->file,
				 config_error_line(&cfg), config_error_text(&cfg));
		rc = -1;
	}
	config_destroy(&cfg);
	return rc;
}

const struct mc_lvhost *
mc_lvhosts_find(const struct mc_lvhosts *hs, const char *name)
{
	for (unsigned int i = 0; i < hs->n; i++) {
		if (strcasecmp(hs->h[i].name, name) == 0 || strcasecmp(hs->h[i].address, name) == 0)
			return &hs->h[i];
		for (unsigned int k = 0; k < hs->h[i].nb_alias; k++)
			if (strcasecmp(hs->h[i].alias[k], name) == 0)
				return &hs->h[i];
	}
	return NULL;
}
