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

#define MC_ALLOWED_MAX 16

struct mc_conf {
	char file[256];
	char name[32];
	char dp_socket[256];		/* control.socket */
	struct ms_ip outer4, outer6;	/* this appliance's outer addresses */
	char listen[128];		/* "ADDR:PORT" or "[ADDR6]:PORT" */
	char ca[256], cert[256], key[256];
	unsigned int nb_allowed;
	char allowed[MC_ALLOWED_MAX][128];	/* client certificate CNs; none: any */
	char user[32];			/* drop to this user after binding; "": stay */
	uint32_t max_conns;
	uint32_t timeout_s;		/* idle between requests, and each reply */
	char audit_file[256];		/* JSON lines; "": syslog only */
	uint32_t rekey_s;		/* default automatic rekey interval; 0: none */
	uint32_t rekey_mbytes;		/* default automatic rekey volume, MiB; 0: none */
	uint32_t drain_s;		/* old inbound SAs kept after a rekey */
	uint32_t drop_report_s;		/* interval of aggregated tamper/replay audit lines */
	/* What one peer may hold (mc_server.c), and the audit file's bound. */
	uint32_t max_per_source;	/* connections at once from one source */
	uint32_t handshake_ms;		/* TLS handshake deadline */
	uint32_t request_s;		/* each request, from its first byte */
	uint32_t audit_max_kib;		/* audit_file rotated past this; 0: no bound */
};

int mc_conf_load(const char *path, struct mc_conf *c, char *err, unsigned int errlen);

#endif
