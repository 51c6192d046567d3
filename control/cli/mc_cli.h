/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_CLI_H
#define MC_CLI_H

/*
 * migsecctl (one process, one thread, one command): what its commands
 * share. migsecctl.c: options, rekey/end/status/health; mc_start_cmd.c,
 * mc_start.c, mc_batch.c: start; mc_top.c: top; mc_show.c: text output.
 */
#include <stdbool.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "mc_client.h"
#include "mc_msg.h"

/* Exit statuses (documented in the usage text and migsecctl(8)). */
enum {
	MC_EXIT_OK = 0,
	MC_EXIT_REFUSED = 1,		/* refused by an appliance, nothing left running */
	MC_EXIT_USAGE = 2,
	MC_EXIT_UNREACHABLE = 3,	/* an appliance unreachable, or TLS failed */
	MC_EXIT_DOWNGRADED = 4,		/* done, but in plaintext (opportunistic) */
	MC_EXIT_PARTIAL = 5,		/* a rollback failed */
};

#define MC_APPL_MAX 16	/* appliances on one command line */
#define MC_IDS_MAX 1024	/* --id of one rekey or end; migrations of one batch */
#define MC_IDS_MAX_S "1024"

struct mc_cli {
	SSL_CTX *ctx;
	int timeout_ms;
	bool json;
};

/* A request {"v", "op"[, "id"]}. */
json_t *mc_cli_req(const char *op, const char *id);
/*
 * One request on an appliance's connection (opened or reused); prints what
 * went wrong, after "TAG: " if tag is not NULL. Returns the exit status.
 */
int mc_cli_call(struct mc_conn *k, const char *tag, json_t *req, json_t **reply);
/* The same on a connection of its own, opened and closed for this request. */
int mc_cli_call1(const struct mc_cli *c, const struct mc_peer *p, json_t *req, json_t **reply);
/* One more APPLIANCE argument into app[*n] (at most MC_APPL_MAX); 0, or -1 said. */
int mc_cli_peer_add(const char *arg, struct mc_peer *app, int *n);

/* What migsecctl start sends (mc_start.c); migsecctl migrate fills it in too. */
struct mc_start {
	const char *id, *vm, *policy, *src_outer, *dst_outer;
	struct mc_peer src, dst;
	const char *sel[MC_SEL_MAX];
	unsigned int nb_sel;
	json_int_t lifetime, max_bytes, rekey_s, rekey_bytes, window, lanes;
	bool key_stdin, have_src, have_dst;
};

/* migsecctl start ...: argv[0] is "start". Returns the exit status. */
int mc_cli_start(const struct mc_cli *c, int argc, char **argv);
/*
 * Start a on both appliances (the key made here or read from stdin, wiped
 * once sent), rolled back if either refuses; the opportunistic fall-back.
 * r[0], r[1]: the source's and destination's replies (the caller frees them).
 * Returns the exit status: OK, DOWNGRADED, or the failure (nothing left running
 * unless PARTIAL).
 */
int mc_start_run(const struct mc_cli *c, struct mc_start *a, json_t **r);
/* end of migration id on p; the exit status (said on stderr if not OK). */
int mc_start_end(const struct mc_cli *c, const struct mc_peer *p, const char *id);

#endif
