/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's settings from the appliance's configuration file
 * (mc_conf.h), read once by main() before anything starts.
 */
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "mc_conf.h"
#include "ms_libconfig.h"

static int
outer_addr(struct ms_cfg_ctx *cx, const config_setting_t *outer, const char *name,
	   struct ms_ip *ip)
{
	char buf[80], *slash;

	if (outer == NULL || config_setting_get_member(outer, name) == NULL)
		return 0;
	if (ms_cfg_str(cx, outer, "outer", name, buf, sizeof(buf), NULL, true))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (ms_ip_parse(buf, ip) != 0)
		return ms_cfg_fail(cx, config_setting_get_member(outer, name), name,
				   "not a valid address");
	return 0;
}

static const char *const role_names[] = { "observer", "operator", "admin", NULL };

const char *
mc_client_role_name(enum mc_client_role r)
{
	return role_names[r];
}

/* "DNS:", "URI:", "email:" and a value, or an RFC 2253 subject ("CN=x,O=y"). */
static bool
identity_ok(const char *v)
{
	static const char *const san[] = { "DNS:", "URI:", "email:" };
	const char *eq = strchr(v, '=');

	for (unsigned int i = 0; i < sizeof(san) / sizeof(san[0]); i++)
		if (strncmp(v, san[i], strlen(san[i])) == 0)
			return v[strlen(san[i])] != '\0';
	return isalpha((unsigned char)v[0]) && eq != NULL && eq[1] != '\0' &&
	       strcspn(v, ",+") > (size_t)(eq - v);
}

static int
load_client(struct ms_cfg_ctx *cx, const config_setting_t *e, int i, struct mc_conf *c)
{
	static const char *const known_client[] = { "identity", "role", NULL };
	struct mc_client *k = &c->clients[c->nb_clients];
	char path[48];
	int role = -1;

	snprintf(path, sizeof(path), "mgmt.clients[%d]", i);
	if (!config_setting_is_group(e))
		return ms_cfg_fail(cx, e, path, "must be a group { identity = \"...\"; role = \"...\"; }");
	if (ms_cfg_members(cx, e, path, known_client) ||
	    ms_cfg_str(cx, e, path, "identity", k->identity, sizeof(k->identity), NULL, true) ||
	    ms_cfg_enum(cx, e, path, "role", role_names, &role, -1))
		return -EINVAL;
	if (!identity_ok(k->identity))
		return ms_cfg_fail(cx, config_setting_get_member(e, "identity"), path,
				   "'%.60s' is no identity: the whole subject as 'openssl x509 -noout "
				   "-subject -nameopt RFC2253' prints it (\"CN=...\"), or DNS:, URI:, "
				   "email: and a subjectAltName", k->identity);
	if (role < 0)
		return ms_cfg_fail(cx, e, path, "role is required: \"observer\", \"operator\" or "
				   "\"admin\"");
	for (unsigned int j = 0; j < c->nb_clients; j++)
		if (strcmp(c->clients[j].identity, k->identity) == 0)
			return ms_cfg_fail(cx, e, path, "identity '%.60s' is listed twice",
					   k->identity);
	k->role = (enum mc_client_role)role;
	c->nb_clients++;
	return 0;
}

/* Required: who may connect, and with which role. */
static int
load_clients(struct ms_cfg_ctx *cx, const config_setting_t *g, struct mc_conf *c)
{
	const config_setting_t *a = config_setting_get_member(g, "clients");

	if (a == NULL)
		return ms_cfg_fail(cx, g, "mgmt.clients", "required: which client certificates may "
				   "connect and their roles, e.g. clients = ( { identity = "
				   "\"CN=migsecctl\"; role = \"operator\"; } );");
	if (!config_setting_is_list(a) || config_setting_length(a) == 0 ||
	    config_setting_length(a) > MC_CLIENTS_MAX)
		return ms_cfg_fail(cx, a, "mgmt.clients", "must be a list ( { identity = ...; role "
				   "= ...; }, ... ) of 1 to %d clients", MC_CLIENTS_MAX);
	for (int i = 0; i < config_setting_length(a); i++)
		if (load_client(cx, config_setting_get_elem(a, (unsigned int)i), i, c) != 0)
			return -EINVAL;
	return 0;
}

/* Required: the outer addresses a start may name as its peer. */
static int
load_peers(struct ms_cfg_ctx *cx, const config_setting_t *g, struct mc_conf *c)
{
	const config_setting_t *a = config_setting_get_member(g, "peers");

	if (a == NULL)
		return ms_cfg_fail(cx, g, "mgmt.peers", "required: the peer appliances' outer "
				   "addresses or prefixes, e.g. peers = [ \"203.0.113.2\" ];");
	if ((!config_setting_is_array(a) && !config_setting_is_list(a)) ||
	    config_setting_length(a) == 0 || config_setting_length(a) > MC_PEERS_MAX)
		return ms_cfg_fail(cx, a, "mgmt.peers", "must be a list of 1 to %d addresses or "
				   "prefixes", MC_PEERS_MAX);
	for (int i = 0; i < config_setting_length(a); i++) {
		const char *v = config_setting_get_string_elem(a, i);

		if (v == NULL || ms_prefix_parse(v, &c->peers[c->nb_peers++]) != 0)
			return ms_cfg_fail(cx, a, "mgmt.peers", "element %d must be an address or "
					   "ADDRESS/LENGTH", i);
	}
	return 0;
}

/* Unknown members are errors; the setting migsec-control had before gets a hint. */
static int
mgmt_members(struct ms_cfg_ctx *cx, const config_setting_t *g)
{
	static const char *const known[] = { "listen", "ca", "cert", "key", "crl", "clients",
		"peers", "user", "max_connections", "timeout_s", "audit_file", "rekey_s",
		"rekey_mbytes", "drain_s", "drop_report_s",
		"max_per_source", "handshake_ms", "request_s", "audit_max_kib", "query_socket", NULL };
	const config_setting_t *old = config_setting_get_member(g, "allowed_clients");

	if (old != NULL)
		return ms_cfg_fail(cx, old, "mgmt.allowed_clients", "replaced by mgmt.clients, "
				   "identities with roles: clients = ( { identity = \"CN=migsecctl\"; "
				   "role = \"operator\"; } ); see migsec-control(8)");
	return ms_cfg_members(cx, g, "mgmt", known);
}

/* What an unauthenticated or slow peer may hold, and the audit file's bound. */
static int
load_abuse_limits(struct ms_cfg_ctx *cx, const config_setting_t *g, struct mc_conf *c)
{
	int rc = ms_cfg_uint(cx, g, "mgmt", "max_per_source", &c->max_per_source, 1, 256, 4,
			     false) ||
		 ms_cfg_uint(cx, g, "mgmt", "handshake_ms", &c->handshake_ms, 100, 60000, 2000,
			     false) ||
		 ms_cfg_uint(cx, g, "mgmt", "request_s", &c->request_s, 1, 600, 5, false) ||
		 ms_cfg_uint(cx, g, "mgmt", "audit_max_kib", &c->audit_max_kib, 0, 1U << 22, 65536,
			     false);

	if (rc == 0 && c->audit_max_kib != 0 && c->audit_max_kib < 4)
		rc = ms_cfg_fail(cx, config_setting_get_member(g, "audit_max_kib"),
				 "mgmt.audit_max_kib", "0 (no bound) or at least 4 KiB");
	return rc;
}

int
mc_conf_load(const char *path, struct mc_conf *c, char *err, unsigned int errlen)
{
	struct ms_cfg_ctx cx = { .file = path, .err = err, .errlen = errlen };
	const config_setting_t *root, *g, *ctl = NULL;
	config_t cfg;
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->file, sizeof(c->file), "%s", path);
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: cannot read file: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", path,
				 config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return -EINVAL;
	}
	root = config_root_setting(&cfg);
	g = ms_cfg_group(&cx, root, "mgmt", true, &rc);
	if (rc == 0)
		ctl = ms_cfg_group(&cx, root, "control", false, &rc);
	if (rc == 0)
		rc = mgmt_members(&cx, g);
	if (rc == 0)
		rc = ms_cfg_str(&cx, root, "", "name", c->name, sizeof(c->name), "migsec", false) ||
		     ms_cfg_str(&cx, ctl, "control", "socket", c->dp_socket, sizeof(c->dp_socket),
				"/run/migsec/dataplane.sock", false) ||
		     ms_cfg_str(&cx, g, "mgmt", "listen", c->listen, sizeof(c->listen), NULL, true) ||
		     ms_cfg_str(&cx, g, "mgmt", "ca", c->ca, sizeof(c->ca), NULL, true) ||
		     ms_cfg_str(&cx, g, "mgmt", "cert", c->cert, sizeof(c->cert), NULL, true) ||
		     ms_cfg_str(&cx, g, "mgmt", "key", c->key, sizeof(c->key), NULL, true) ||
		     ms_cfg_str(&cx, g, "mgmt", "crl", c->crl, sizeof(c->crl), "", false) ||
		     ms_cfg_str(&cx, g, "mgmt", "user", c->user, sizeof(c->user), "", false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "max_connections", &c->max_conns, 1, 256, 16, false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "timeout_s", &c->timeout_s, 1, 600, 10, false) ||
		     ms_cfg_str(&cx, g, "mgmt", "audit_file", c->audit_file, sizeof(c->audit_file),
				"", false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "rekey_s", &c->rekey_s, 0, 86400, 3600, false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "rekey_mbytes", &c->rekey_mbytes, 0, 1 << 30,
				 1 << 20, false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "drain_s", &c->drain_s, 1, 600, 5, false) ||
		     ms_cfg_uint(&cx, g, "mgmt", "drop_report_s", &c->drop_report_s, 1, 3600, 10,
				 false) ||
		     ms_cfg_str(&cx, g, "mgmt", "query_socket", c->query_socket,	/* mc_query.c */
				sizeof(c->query_socket), "", false) ||
		     load_clients(&cx, g, c) ||
		     load_peers(&cx, g, c) || load_abuse_limits(&cx, g, c) ||
		     outer_addr(&cx, config_setting_get_member(root, "outer"), "ipv4", &c->outer4) ||
		     outer_addr(&cx, config_setting_get_member(root, "outer"), "ipv6", &c->outer6);
	if (rc == 0 && c->dp_socket[0] != '/')
		rc = ms_cfg_fail(&cx, ctl, "control.socket", "must be an absolute path");
	if (rc == 0 && c->rekey_s != 0 && c->rekey_s < 10)
		rc = ms_cfg_fail(&cx, config_setting_get_member(g, "rekey_s"), "mgmt.rekey_s",
				 "0 (off) or at least 10 seconds");
	config_destroy(&cfg);
	return rc ? -EINVAL : 0;
}
