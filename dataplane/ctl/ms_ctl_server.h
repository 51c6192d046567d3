/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CTL_SERVER_H
#define MS_CTL_SERVER_H

/* Local control socket server (transport only; see ms_ops.c for the requests). */
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct ms_ctl;

/*
 * Handle one request. body/len: the request body (wiped by the caller after
 * return). *reply: malloc'ed reply body (JSON or an error message), *len its
 * length. Returns 0 or -errno, sent back as the reply status.
 */
typedef int32_t (*ms_ctl_handler_fn)(void *arg, uint16_t op, const uint8_t *body, uint32_t len,
				     char **reply, size_t *reply_len);

int ms_ctl_open(struct ms_ctl **c, const char *path, const char *user, ms_ctl_handler_fn h,
		void *arg, char *err, unsigned int errlen);
void ms_ctl_close(struct ms_ctl *c);
/* Fill pollfds (needs at least 9 slots); returns how many. */
int ms_ctl_pollfds(struct ms_ctl *c, struct pollfd *fds, int max);
void ms_ctl_service(struct ms_ctl *c, const struct pollfd *fds, int n);

#endif
