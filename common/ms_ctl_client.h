/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CTL_CLIENT_H
#define MS_CTL_CLIENT_H

/* Client side of the data plane's control socket (no DPDK needed). */
#include <stddef.h>
#include <stdint.h>

/*
 * One request, one reply, on a fresh connection, within timeout_ms.
 * Returns 0 with *status (0 or -errno from the data plane) and *reply
 * (malloc'ed, NUL-terminated, *reply_len bytes); or -errno if the data plane
 * could not be reached or hung up, with a message in err.
 */
int ms_ctl_call(const char *path, uint16_t op, const void *body, uint32_t len, int timeout_ms,
		int32_t *status, char **reply, size_t *reply_len, char *err, size_t errlen);

#endif
