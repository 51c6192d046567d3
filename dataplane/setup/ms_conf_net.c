/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The configuration's network groups: the inner and outer ports (device,
 * addresses, gateways, MTU, rings) and the remote list (which hosts sit
 * behind which peer appliance). Main lcore, before the EAL starts; errors
 * name file, line and setting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_conf_priv.h"

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

int
ms_conf_load_net(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf)
{
	int rc;

	if ((rc = load_port(c, root, "inner", &conf->inner, NULL)) ||
	    (rc = load_port(c, root, "outer", &conf->outer, &conf->udp_port)))
		return rc;
	return load_remote(c, root, conf);
}
