/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CTL_PROTO_H
#define MS_CTL_PROTO_H

/*
 * The data plane's local control socket (Unix stream socket, mode 0600).
 *
 * Every message is a 16-byte header followed by len bytes of body; both
 * ends are built from this header and run on one host, so fields are in
 * host byte order. Requests carry fixed binary bodies; replies carry JSON
 * text (status 0) or a one-line error message (status -errno).
 * One request, one reply, in order; a client may send many on a connection.
 */
#include <stdint.h>

#include "ms_sa_spec.h"

#define MS_CTL_MAGIC 0x4d534350u	/* "MSCP" */
#define MS_CTL_VERSION 1
#define MS_CTL_MAX_REQ 16384		/* largest request body */
#define MS_CTL_MAX_REPLY (8u << 20)	/* largest reply body */

enum ms_ctl_op {
	MS_CTL_PING = 1,	/* body: none. reply: appliance summary */
	MS_CTL_SA_ADD = 2,	/* body: struct ms_ctl_sa_add. reply: {"id": N} */
	MS_CTL_SA_DEL = 3,	/* body: struct ms_ctl_sa_id. reply: {"id": N} */
	MS_CTL_SA_LIST = 4,	/* body: none. reply: every SA with its counters */
	MS_CTL_STATS = 5,	/* body: none. reply: appliance, port and drop counters */
	MS_CTL_CRYPTO = 6,	/* body: none. reply: crypto profile and devices, with counters */
	MS_CTL_FAILOVER = 7,	/* body: none. reply: as CRYPTO, after taking the fail-over
				 * profile's primary out of service */
	MS_CTL_PAUSE = 8,	/* body: none. reply: {"paused": true} once no worker polls the
				 * ports (packets wait in the RX queues) */
	MS_CTL_RESUME = 9,	/* body: none. reply: {"paused": false} */
	MS_CTL_SA_ADD_BATCH = 10, /* body: struct ms_ctl_sa_batch, n specs. reply: {"ids": [..]};
				   all or none, in one table update */
	MS_CTL_SA_DEL_BATCH = 11, /* body: struct ms_ctl_sa_ids, n ids. reply:
				   {"ids": [deleted..], "absent": [..]}; one table update */
	MS_CTL_OP_MAX
};

struct ms_ctl_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t len;		/* body bytes that follow */
	int32_t status;		/* replies: 0 or -errno; requests: 0 */
};

/* Carries a key: both ends wipe it as soon as it is consumed. */
struct ms_ctl_sa_add {
	struct ms_sa_spec spec;
};

/* Carries keys, as SA_ADD. The body is 8 + n * sizeof(struct ms_sa_spec) bytes. */
#define MS_CTL_BATCH_MAX 16	/* a start's lanes of one direction (MS_LANES_MAX) */
struct ms_ctl_sa_batch {
	uint32_t n;		/* 1 .. MS_CTL_BATCH_MAX */
	uint32_t rsvd;		/* 0 */
	struct ms_sa_spec spec[MS_CTL_BATCH_MAX];
};

struct ms_ctl_sa_id {
	uint32_t id;
};

/*
 * SA_DEL_BATCH: n SAs deleted in one table update (one snapshot, one RCU
 * grace period), each key wiped as by SA_DEL. The body is 8 + n * 4 bytes.
 * Delete what exists: every listed SA the data plane holds is deleted, and
 * an id it does not hold is no error but is listed in the reply's "absent"
 * (a caller ending a migration wants every SA of it gone: an all-or-none
 * refusal because one of them had already expired would leave the others'
 * keys alive). A malformed body (n 0 or above MS_CTL_DEL_BATCH_MAX, rsvd
 * not 0, a length other than 8 + n * 4, an id listed twice) is refused
 * whole with -EINVAL; a table that cannot be rebuilt (-ENOMEM) deletes none.
 */
#define MS_CTL_DEL_BATCH_MAX 1024
struct ms_ctl_sa_ids {
	uint32_t n;		/* 1 .. MS_CTL_DEL_BATCH_MAX */
	uint32_t rsvd;		/* 0 */
	uint32_t id[MS_CTL_DEL_BATCH_MAX];
};

_Static_assert(sizeof(struct ms_ctl_hdr) == 16, "wire header is 16 bytes");
_Static_assert(sizeof(struct ms_ctl_sa_add) <= MS_CTL_MAX_REQ, "request fits");
_Static_assert(sizeof(struct ms_ctl_sa_batch) <= MS_CTL_MAX_REQ, "batch fits");
_Static_assert(sizeof(struct ms_ctl_sa_ids) <= MS_CTL_MAX_REQ, "id batch fits");
_Static_assert(MS_CTL_BATCH_MAX >= MS_LANES_MAX, "a batch holds a lane group");

#endif
