/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_START_H
#define MC_START_H

/*
 * migsecctl start, shared by mc_start.c (options, one migration on both
 * appliances) and mc_batch.c (--batch: many, over the same two connections).
 */
#include <stdbool.h>

#include <jansson.h>

#include "mc_cli.h"
#include "mc_msg.h"

/* What is one migration's own: from --id/--vm/--sel, or a line of the batch file. */
struct mc_mig_spec {
	const char *id, *vm;
	const char *sel[MC_SEL_MAX];
	unsigned int nb_sel;
	unsigned int line;	/* of the batch file; 0 on the command line */
};

/* What every migration of one command shares. */
struct mc_start_opts {
	const char *policy, *src_outer, *dst_outer, *batch;
	struct mc_peer src, dst;
	json_int_t lifetime, max_bytes, rekey_s, rekey_bytes, window, lanes;
	bool key_stdin, have_src, have_dst;
	struct mc_mig_spec one;	/* without --batch */
};

/* The two appliances' connections (source, destination), reused by every migration. */
struct mc_start_run {
	const struct mc_cli *c;
	struct mc_start_opts *o;
	struct mc_conn conn[2];
	bool batch;		/* messages name the migration */
};

void mc_start_run_init(struct mc_start_run *run, const struct mc_cli *c, struct mc_start_opts *o,
		       bool batch);
void mc_start_run_close(struct mc_start_run *run);
/* Locks the memory for the keys (sealed policies); the exit status. */
int mc_start_prepare(struct mc_start_run *run);
/*
 * One migration on both appliances, with its own one-shot key, rollback and
 * the opportunistic fall-back. Returns its exit status; r[0], r[1] are the
 * replies of source and destination when it started (MC_EXIT_OK or
 * MC_EXIT_DOWNGRADED), to be freed by the caller.
 */
int mc_start_one(struct mc_start_run *run, const struct mc_mig_spec *m, json_t **r);

/* migsecctl start --batch FILE: mc_batch.c. Returns the exit status. */
int mc_batch_main(const struct mc_cli *c, struct mc_start_opts *o);

#endif
