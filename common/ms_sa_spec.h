/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SA_SPEC_H
#define MS_SA_SPEC_H

/*
 * What an SA is made from: the record migsec-control sends the data plane
 * over the local control socket (ms_ctl_proto.h). No DPDK here; the data
 * plane's runtime SA (dataplane/sa/ms_sa.h) is built from it.
 */
#include <stdint.h>

#include "ms_addr.h"
#include "ms_sel.h"

#define MS_SA_MAX_SEL 8
#define MS_LANES_MAX 16	/* outbound SAs of one lane group (one per worker) */
#define MS_SA_TAG_MAX 96
#define MS_KEY_LEN 32
#define MS_SALT_LEN 4
#define MS_ICV_LEN 16

/*
 * The last sequence number an SA may use, 2^63 - 1. An outbound SA never
 * seals past it (drop seq_exhausted): the 64-bit counter, which is also the
 * GCM IV, then cannot wrap under the same key (WireGuard's
 * REJECT_AFTER_MESSAGES). Half the space is left unused on purpose: packets
 * refused at the limit still advance lib/ipsec's counter, and 2^63 more of
 * them take centuries at any rate. migsec-control rekeys long before (by
 * bytes or time; every generation starts at 1). A spec's seq_start is
 * 1 .. MS_SEQ_LAST, in both directions.
 */
#define MS_SEQ_LAST ((UINT64_C(1) << 63) - 1)

/*
 * in: opens ESP from the peer; out: seals towards it; bypass: no SA, the
 * selectors' traffic crosses in plaintext both ways (a policy rule, e.g. a
 * migration whose policy is "disabled").
 */
enum ms_dir { MS_DIR_IN = 0, MS_DIR_OUT = 1, MS_DIR_BYPASS = 2 };

/* What an SA is made from. Holds the key: wipe it after ms_sa_create(). */
struct ms_sa_spec {
	uint32_t id;			/* chosen by the controller, unique */
	uint32_t spi;			/* >= 256 */
	uint8_t dir;			/* enum ms_dir */
	uint8_t inner_af;		/* MS_AF_INET / MS_AF_INET6 */
	uint8_t nb_sel;
	uint8_t pad;
	uint16_t sport;			/* outer UDP ports, host order */
	uint16_t dport;
	uint32_t replay_window;		/* inbound; 0: the appliance default */
	uint64_t seq_start;		/* first sequence number sent / expected */
	uint64_t expires;		/* unix time the data plane deletes it; 0: never */
	uint32_t group;			/* out: lane group (one SA per worker); 0: none */
	uint16_t lane;			/* out: this SA's lane in the group */
	uint16_t nb_lanes;		/* out: lanes in the group, >= the worker count */
	struct ms_ip local;		/* outer addresses */
	struct ms_ip peer;
	struct ms_sel sel[MS_SA_MAX_SEL];	/* inner traffic, in this SA's direction */
	uint8_t key[MS_KEY_LEN];
	uint8_t salt[MS_SALT_LEN];
	char tag[MS_SA_TAG_MAX];	/* free text for the controller, NUL-terminated */
};

const char *ms_dir_name(uint8_t dir);

/* Validate a spec (not the key); 0 or -EINVAL with a message. */
int ms_sa_spec_check(const struct ms_sa_spec *s, char *err, unsigned int errlen);

#endif
