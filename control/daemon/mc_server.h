/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_SERVER_H
#define MC_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "mc_conf.h"
#include "mc_mig.h"
#include "mc_tls.h"

struct mc_server;

/* Listening socket for "ADDR:PORT" / "[ADDR6]:PORT"; fd or -errno. */
int mc_listen(const char *spec, char *err, size_t errlen);
struct mc_server *mc_server_new(const struct mc_conf *conf, struct mc_state *st, SSL_CTX *ctx,
				int lfd);
/* Serve until *quit; runs mc_tick() once a second. */
int mc_server_run(struct mc_server *s, volatile sig_atomic_t *quit);
void mc_server_free(struct mc_server *s);

#endif
