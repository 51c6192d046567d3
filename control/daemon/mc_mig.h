/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_MIG_H
#define MC_MIG_H

/*
 * Migrations on this appliance: their SAs in the data plane, key
 * lifecycle, make-before-break rekey, lifetimes and limits, and the audit
 * of all of it.
 *
 * SAs of a migration, per generation g (keys from mc_kdf.c):
 *   outbound g           - this side seals with it
 *   inbound g and g + 1  - the peer may switch to g + 1 at any time: it is
 *                          installed before the peer could use it
 * A rekey installs outbound g + 1 and removes outbound g (no round trip:
 * both sides derive the same keys). When inbound g + 1 sees its first
 * packet, inbound g + 2 is installed and inbound g is kept drain_s more,
 * then removed. No packet is lost, no IV reused under one key.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "mc_conf.h"
#include "mc_msg.h"

#define MC_MIG_MAX 256

struct mc_state;

struct mc_state *mc_state_new(const struct mc_conf *conf);
void mc_state_free(struct mc_state *st);	/* ends nothing; wipes every key held */

/* Rebuild migrations from the data plane's SAs (after a restart): no keys. */
int mc_recover(struct mc_state *st);

/* A request of client who (mc_authz.c decides first whether it may). Returns
 * the reply (malloc'ed JSON text). */
char *mc_handle(struct mc_state *st, const struct mc_req *r, const struct mc_client *who);

/* Once a second: lifetimes, byte limits, automatic rekeys, inbound advance,
 * draining, aggregated tamper/replay reports. */
void mc_tick(struct mc_state *st);

/* End every migration (wiping their keys in both processes). */
void mc_end_all(struct mc_state *st, const char *why);

#endif
