/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_CONF_H
#define MC_CONF_H

/*
 * migsec-control's settings: the "mgmt" group of the appliance's
 * configuration file, plus what it shares with the data plane (name,
 * control.socket, the outer addresses).
 */
#include <stdbool.h>
#include <stdint.h>

#include "ms_addr.h"

#define MC_CLIENTS_MAX 32
#define MC_IDENTITY_MAX 256	/* an identity, NUL included */
#define MC_PEERS_MAX 16

/*
 * What a management client may do (mgmt.clients[].role): an observer reads
 * status and health; an operator also starts migrations and rekeys or ends
 * the ones it started; an admin rekeys or ends any (recovered ones too).
 */
enum mc_client_role { MC_CLIENT_OBSERVER, MC_CLIENT_OPERATOR, MC_CLIENT_ADMIN };

/*
 * One allowed client. identity is the certificate's whole subject as
 * OpenSSL prints it in RFC 2253 form ("CN=mgmt1,O=lab"), or one of its
 * subjectAltNames: "DNS:name", "URI:uri", "email:address". Matched exactly.
 */
struct mc_client {
	char identity[MC_IDENTITY_MAX];
	enum mc_client_role role;
};

struct mc_conf {
	char file[256];
	char name[32];
	char dp_socket[256];		/* control.socket */
	struct ms_ip outer4, outer6;	/* this appliance's outer addresses */
	char listen[128];		/* "ADDR:PORT" or "[ADDR6]:PORT" */
	char ca[256], cert[256], key[256];
	char crl[256];			/* PEM CRL(s) of mgmt.ca, re-read on SIGHUP; "": none */
	unsigned int nb_clients;	/* at least one (mgmt.clients is required) */
	struct mc_client clients[MC_CLIENTS_MAX];
	unsigned int nb_peers;		/* at least one (mgmt.peers is required) */
	struct ms_prefix peers[MC_PEERS_MAX];	/* where a start's peer may be */
	char user[32];			/* drop to this user after binding; "": stay */
	uint32_t max_conns;
	uint32_t timeout_s;		/* idle between requests, and each reply */
	char audit_file[256];		/* JSON lines; "": syslog only */
	uint32_t rekey_s;		/* default automatic rekey interval; 0: none */
	uint32_t rekey_mbytes;		/* default automatic rekey volume, MiB; 0: none */
	uint32_t drain_s;		/* old inbound SAs kept after a rekey */
	uint32_t drop_report_s;		/* interval of aggregated tamper/replay audit lines */
	char query_socket[108];		/* the libvirt hook's read-only socket (mc_query.c); "": none */
	/* What one peer may hold (mc_server.c), and the audit file's bound. */
	uint32_t max_per_source;	/* connections at once from one source */
	uint32_t handshake_ms;		/* TLS handshake deadline */
	uint32_t request_s;		/* each request, from its first byte */
	uint32_t audit_max_kib;		/* audit_file rotated past this; 0: no bound */
};

const char *mc_client_role_name(enum mc_client_role r);
int mc_conf_load(const char *path, struct mc_conf *c, char *err, unsigned int errlen);

#endif
