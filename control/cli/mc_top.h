/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_TOP_H
#define MC_TOP_H

/*
 * migsecctl top: a live view of the appliances' migrations. Every interval
 * it asks each appliance for its status and shows, per migration, the rates
 * between the last two replies.
 */
#include <stdbool.h>

#include <openssl/ssl.h>

/*
 * argv[0] is "top"; the rest: [--interval S] [--count N] APPLIANCE...
 * Returns migsecctl's exit status: 0 after N frames or on SIGINT/SIGTERM,
 * 2 usage, 3 an appliance did not answer in the last frame.
 */
int mc_top_main(SSL_CTX *ctx, int timeout_ms, bool json, int argc, char **argv);

#endif
