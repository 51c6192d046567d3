/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_MIGRATE_H
#define MC_MIGRATE_H

/*
 * migsecctl migrate DOMAIN DEST-URI: virsh migrate --live [--p2p] with a
 * migsec migration around it. mc_migrate.c: the command (options, policy,
 * start, end, output); mc_migplan.c: the plan (hosts, URIs, selectors; no
 * libvirt); mc_lvjob.c: the libvirt job (the migration call, events,
 * progress, abort).
 */
#include <stdbool.h>
#include <stddef.h>

#include "mc_cli.h"
#include "mc_lvhosts.h"

/* The command line, as virsh migrate's where the option exists there. */
struct mc_mig_opts {
	const char *domain, *dest_uri, *connect, *migrateuri, *id;
	unsigned int disks_port, parallel_conns, bandwidth;
	bool copy_all, copy_inc, persistent, undefine, parallel, key_stdin, tunnelled;
	bool p2p;		/* peer-to-peer; else direct: migsecctl opens DEST-URI itself */
	bool postcopy;		/* VIR_MIGRATE_POSTCOPY: may be switched to post-copy */
	long long lifetime, rekey_s, rekey_bytes;	/* the migsec migration's, as start's */
	int interval_ms;
};

/* What migsecctl migrate does, worked out before anything starts. */
struct mc_mig_plan {
	const struct mc_lvhost *src, *dst;
	char migrate_uri[128];		/* tcp://DST-ADDR[:PORT], handed to libvirt; "" tunnelled */
	unsigned int mig_lo, mig_hi;	/* its port(s) on the destination */
	unsigned int nbd_lo, nbd_hi;	/* the disks' NBD port(s); 0 without storage copy */
	unsigned int lvd_port;		/* libvirtd's port of DEST-URI; 0 none (UNIX socket) */
	char sel[MC_SEL_MAX][192];
	unsigned int nb_sel;
};

/*
 * The host part of a libvirt or migration URI ("qemu+tcp://user@[2001:db8::2]:16509/system"
 * -> "2001:db8::2"), its explicit port (0 if none) and libvirtd's port for it
 * (the explicit one, or the transport's: tcp 16509, tls 16514, ssh 22; 0 for
 * unix/ext). 0, or -1 if there is no host or the port is bad.
 */
int mc_uri_host(const char *uri, char *host, size_t len, unsigned int *port, unsigned int *lvd);
/* Two spellings of one address compare equal ("2001:db8::2", "2001:DB8:0::2"). */
bool mc_same_addr(const char *a, const char *b);
/*
 * The plan for a migration from src to dst, or (dst NULL) to the host
 * DEST-URI names. err (a sentence for the operator) and -1 on bad input:
 * an unknown host, a --migrateuri not on the destination's migration
 * address, bad ports.
 */
int mc_mig_plan(const struct mc_lvhosts *hs, const struct mc_lvhost *src,
		const struct mc_lvhost *dst, const struct mc_mig_opts *o, struct mc_mig_plan *p,
		char *err, size_t errlen);

/* The command line (argv[0] "migrate"); 0, or -1 said on stderr. */
int mc_mig_opts_parse(int argc, char **argv, struct mc_mig_opts *o);

/* migsecctl migrate ...: argv[0] is "migrate". Returns the exit status. */
int mc_cli_migrate(const struct mc_cli *c, int argc, char **argv);
/* migsecctl watch ... (mc_watch.c): the clean-up agent. Returns the exit status. */
int mc_cli_watch(const struct mc_cli *c, int argc, char **argv);

#endif
