/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_SHOW_H
#define MC_SHOW_H

/* migsecctl's text output of what the appliances report. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* 1536 -> "1.5 KiB". Returns buf. */
const char *mc_human_bytes(long long v, char *buf, size_t len);

/* An integer member of o, 0 if absent (replies are the appliance's, not trusted to be complete). */
long long mc_jint(const json_t *o, const char *key);

/*
 * Every counter of the data plane's "counters" object (the status reply):
 * appliance, ports, workers, drops by reason (the non-zero ones), each line
 * indented by two spaces.
 */
void mc_show_counters(FILE *f, const json_t *counters);

/* The crypto profile and each device's state and counters (the status reply's "crypto"). */
void mc_show_crypto(FILE *f, const json_t *crypto);

/* A status reply: the appliance, its data plane's counters, each migration. */
void mc_show_status(FILE *f, json_t *reply, const char *name);
/* A health reply: the appliance, and each worker's share of busy and idle time. */
void mc_show_health(FILE *f, json_t *reply, const char *name);

#endif
