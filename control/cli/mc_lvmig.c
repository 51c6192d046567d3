/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl migrate's libvirt side before the job (mc_lvjob.h): which
 * hosts of the hosts map the source's and (direct) the destination's
 * libvirt connections are, the destination's connection that a direct
 * (not peer-to-peer) migration needs, and the migration's flags and
 * parameters. Built with libvirt only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_cli.h"
#include "mc_libvirt.h"
#include "mc_lvjob.h"

const struct mc_lvhost *
mc_lvmig_source(const struct mc_lvhosts *hs, virConnectPtr conn, const char *connect, char *err,
		size_t errlen)
{
	char *h = virConnectGetHostname(conn), uh[128];
	const struct mc_lvhost *s = h ? mc_lvhosts_find(hs, h) : NULL;
	unsigned int port, lvd;

	if (s == NULL && connect != NULL && mc_uri_host(connect, uh, sizeof(uh), &port, &lvd) == 0)
		s = mc_lvhosts_find(hs, uh);
	if (s == NULL)
		snprintf(err, errlen, "unknown source host '%s' (libvirt's hostname%s%s): not in the "
			 "hosts of %s", h ? h : "?", connect ? " of " : "", connect ? connect : "",
			 hs->file);
	free(h);
	return s;
}

int
mc_lvmig_open_dest(const char *dest_uri, virConnectPtr *dconn)
{
	*dconn = virConnectOpen(dest_uri);
	if (*dconn != NULL)
		return MC_EXIT_OK;
	fprintf(stderr, "migsecctl: migrate: cannot connect to the destination's libvirt (%s): %s\n",
		dest_uri, mc_lv_msg());
	return MC_EXIT_UNREACHABLE;
}

const struct mc_lvhost *
mc_lvmig_direct_dest(const struct mc_lvhosts *hs, const char *dest_uri, virConnectPtr *dconn,
		     int *rc, char *err, size_t errlen)
{
	const struct mc_lvhost *d;
	unsigned int port, lvd;
	char host[128], *h;

	*rc = MC_EXIT_OK;
	if (mc_uri_host(dest_uri, host, sizeof(host), &port, &lvd) == 0)
		return NULL;
	if ((*rc = mc_lvmig_open_dest(dest_uri, dconn)) != MC_EXIT_OK)
		return NULL;
	h = virConnectGetHostname(*dconn);
	d = h ? mc_lvhosts_find(hs, h) : NULL;
	if (d == NULL) {
		snprintf(err, errlen, "unknown destination host '%s' (libvirt's hostname of %s): "
			 "not in the hosts of %s", h ? h : "?", dest_uri, hs->file);
		*rc = MC_EXIT_USAGE;
	}
	free(h);
	return d;
}

/* The libvirt parameters and flags of the options and migration URI. */
int
mc_lvmig_params(struct mc_lvjob *j, const struct mc_mig_opts *o, const char *migrate_uri)
{
	virTypedParameterPtr *p = &j->params;
	int *n = &j->nparams, max = 0, rc = 0;

	*p = NULL;
	*n = 0;
	j->flags = VIR_MIGRATE_LIVE | (o->p2p ? VIR_MIGRATE_PEER2PEER : 0) |
		   (o->copy_all ? VIR_MIGRATE_NON_SHARED_DISK : 0) |
		   (o->copy_inc ? VIR_MIGRATE_NON_SHARED_INC : 0) |
		   (o->persistent ? VIR_MIGRATE_PERSIST_DEST : 0) |
		   (o->undefine ? VIR_MIGRATE_UNDEFINE_SOURCE : 0) |
		   (o->parallel ? VIR_MIGRATE_PARALLEL : 0) |
		   (o->tunnelled ? VIR_MIGRATE_TUNNELLED : 0) |
		   (o->postcopy ? VIR_MIGRATE_POSTCOPY : 0);
	if (!o->tunnelled)
		rc |= virTypedParamsAddString(p, n, &max, VIR_MIGRATE_PARAM_URI, migrate_uri);
	if (o->disks_port)
		rc |= virTypedParamsAddInt(p, n, &max, VIR_MIGRATE_PARAM_DISKS_PORT,
					   (int)o->disks_port);
	if (o->bandwidth)
		rc |= virTypedParamsAddULLong(p, n, &max, VIR_MIGRATE_PARAM_BANDWIDTH, o->bandwidth);
	if (o->parallel_conns)
		rc |= virTypedParamsAddInt(p, n, &max, VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS,
					   (int)o->parallel_conns);
	return rc ? -1 : 0;
}
