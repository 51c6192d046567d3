/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_TOP_H
#define MC_TOP_H

/*
 * migsecctl top: a live view of the appliances' migrations. Every interval
 * it asks each appliance for its status and shows, per migration, the rates
 * between the last two replies.
 */
#include <stdbool.h>

#include <jansson.h>

#include <openssl/ssl.h>

/*
 * argv[0] is "top"; the rest: [--interval S] [--count N] APPLIANCE...
 * Returns migsecctl's exit status: 0 after N frames or on SIGINT/SIGTERM,
 * 2 usage, 3 an appliance did not answer in the last frame.
 */
int mc_top_main(SSL_CTX *ctx, int timeout_ms, bool json, int argc, char **argv);

/* Rates per second between two replies (NAN: no earlier reply, or a counter went
 * back); bytes become Mbit/s. mc_top_rates.c. */
struct mc_rates {
	double out_mbps, out_pps, in_mbps, in_pps, drops;
};

/* Migration m of a status reply against the same migration in the previous reply. */
struct mc_rates mc_top_mig_rates(const json_t *m, const json_t *prev_reply, double dt);
/* The data plane's "counters" object of two replies. */
struct mc_rates mc_top_appliance_rates(const json_t *c, const json_t *pc, double dt);

#endif
