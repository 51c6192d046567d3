/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DPCTL_H
#define DPCTL_H

/*
 * migsec-dpctl, a one-shot single-threaded command-line program: what its
 * files share. dpctl.c: main, usage, one request to the data plane's
 * control socket; dpctl_sa.c: the sa commands; dpctl_print.c: stats and
 * crypto as text.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses (documented in usage and migsec-dpctl(8)). */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

void dpctl_usage(FILE *f);
/* Before a key is read: every page locked in RAM; 0, or -1 with the reason printed. */
int dpctl_lock_memory(void);

/* One request; the reply (malloc'ed, NUL-terminated) to *out, or printed if out is NULL.
 * Returns the exit status; a refusal is printed. */
int dpctl_simple(const char *path, uint16_t op, const void *body, uint32_t len, char **out);
/* One request without a body; its JSON reply as is (json) or through pretty. */
int dpctl_show(const char *path, uint16_t op, bool json, void (*pretty)(const char *));

/* sa list|add|del ...: argv[0] is "sa". Returns the exit status. */
int dpctl_sa(const char *path, int argc, char **argv);

void dpctl_print_stats(const char *js);
void dpctl_print_crypto(const char *js);

#endif
