/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_AUDIT_H
#define MC_AUDIT_H

/*
 * The audit trail: one structured line per event, to syslog (authpriv) and,
 * if configured, appended to a JSON-lines file. Every line says what
 * changed, from what, to what. Callers never pass key material.
 */
#include <stdint.h>

#include <jansson.h>

/* Open syslog and the file (before privileges are dropped). 0 or -errno. */
int mc_audit_open(const char *appliance, const char *file);
/* Rotate the file when it would pass max_bytes (0: never); see mgmt.audit_max_kib. */
void mc_audit_bound(uint64_t max_bytes);
/* Record event with fields (ownership taken; may be NULL). */
void mc_audit(const char *event, json_t *fields);
void mc_audit_close(void);

#endif
