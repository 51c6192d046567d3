/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_LVJOB_H
#define MC_LVJOB_H

/*
 * migsecctl migrate's libvirt job (mc_lvjob.c): the migration call on a
 * thread of its own, libvirt's event loop on the caller's, progress from
 * the job statistics, the job's end from whichever says it first (the call
 * returning, a job-completed or lifecycle event, the statistics showing
 * the job gone), and SIGINT / SIGTERM turned into an abort of the job.
 * Built with libvirt only (as mc_lvmig.c).
 */
#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "mc_migrate.h"

struct mc_lvjob {
	/* in */
	virConnectPtr conn;
	virConnectPtr dconn;	/* direct: the destination's libvirt (virDomainMigrate3); NULL p2p */
	virDomainPtr dom;
	const char *name, *dest_uri;
	virTypedParameterPtr params;
	int nparams;
	unsigned int flags;
	int interval_ms;	/* progress lines */
	long long deadline_s;	/* abort the job after this long (the migsec lifetime) */
	bool json;
	/* Called once, on the event loop's thread, as soon as the job is over. */
	void (*over)(void *opaque, const char *why);
	void *opaque;
	/* out */
	int rc;			/* the migration call's: 0 done, -1 failed */
	char err[512];		/* libvirt's message when it failed */
	const char *outcome;	/* "completed", "failed", "cancelled" */
	unsigned long long mem_bytes, disk_bytes, elapsed_ms;
	bool postcopy;		/* libvirt said post-copy started (virsh migrate-postcopy) */
	bool detached;		/* libvirt never returned: dom, conn, dconn, params must not be freed */
};

/*
 * SIGINT and SIGTERM held (true) or let through again (false) on this
 * thread: around requests to the appliances, which a signal would cut off
 * mid-TLS (their sockets have timeouts, so no SA_RESTART); one that came
 * meanwhile is seen when let through.
 */
void mc_sig_hold(bool hold);
/* CLOCK_MONOTONIC in milliseconds. */
long long mc_now_ms(void);
/* mc_lvmig.c: before the job. */
/* The source host: libvirt's hostname for conn, else the --connect URI's host; NULL and err. */
const struct mc_lvhost *mc_lvmig_source(const struct mc_lvhosts *hs, virConnectPtr conn,
					const char *connect, char *err, size_t errlen);
/* Direct: *dconn opened on dest_uri. MC_EXIT_OK, or MC_EXIT_UNREACHABLE said on stderr. */
int mc_lvmig_open_dest(const char *dest_uri, virConnectPtr *dconn);
/*
 * Direct to a DEST-URI without a host (a UNIX socket): the destination is
 * libvirt's hostname for it, so it is opened now (*dconn). NULL otherwise
 * (the plan maps DEST-URI's host; the caller opens it after the start, as
 * that connection may cross the appliances), or on error (*rc; err, or said
 * on stderr if err is "").
 */
const struct mc_lvhost *mc_lvmig_direct_dest(const struct mc_lvhosts *hs, const char *dest_uri,
					     virConnectPtr *dconn, int *rc, char *err,
					     size_t errlen);
/* j's params, nparams and flags from the options and the plan's migration
 * URI (unused with --tunnelled). 0, or -1 out of memory. */
int mc_lvmig_params(struct mc_lvjob *j, const struct mc_mig_opts *o, const char *migrate_uri);
/* Before the first virConnectOpen: libvirt's default event loop. 0 or -1. */
int mc_lvjob_init(void);
/* Run j to its end (bounded by deadline_s plus a grace); j->over has been called. 0, or -1 if
 * the job could not start (events, thread) with j->err. */
int mc_lvjob_run(struct mc_lvjob *j);

#endif
