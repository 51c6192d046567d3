/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_QUERY_H
#define MC_QUERY_H

/*
 * The local read-only query socket (mgmt.query_socket): a hypervisor
 * host's libvirt hook asks "does this appliance hold an active sealed
 * migration for VM X?" and gets yes/no with its id, policy and role. It
 * can change nothing and never sees a key. Served on migsec-control's one
 * thread, from mc_server_run()'s poll loop; every answer is audited.
 */
#include "mc_conf.h"
#include "mc_mig.h"

/* Bind (before privileges are dropped; handed to mgmt.user, mode 0660).
 * 0 (also when the setting is empty: no socket) or -errno with err. */
int mc_query_open(const struct mc_conf *conf, char *err, size_t errlen);
/* The listening socket, or -1 when there is none. */
int mc_query_fd(void);
/* One connection: accept, read one request line, answer, close. Bounded
 * by a short timeout, so a stalled client delays the loop at most that long. */
void mc_query_serve(struct mc_state *st);
void mc_query_close(void);

#endif
