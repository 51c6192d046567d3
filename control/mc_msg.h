/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_MSG_H
#define MC_MSG_H

/*
 * The management protocol (README, "Management protocol"): over TLS 1.3,
 * each message is a 4-byte big-endian length and that many bytes of JSON,
 * one object, version "v": 1. Parsing is strict: unknown fields, wrong
 * types, out-of-range values, over-long strings and oversized messages are
 * refused with an error code, and nothing of a refused request is applied.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ms_sel.h"

#define MC_PROTO_VERSION 1
#define MC_MSG_MAX 16384	/* a request */
#define MC_REPLY_MAX (4 << 20)	/* what migsecctl takes: status of MC_MIG_MAX migrations fits */
#define MC_ID_MAX 32
#define MC_VM_MAX 64
#define MC_SEL_MAX 4
#define MC_NOTE_MAX 200
#define MC_LANES_MAX 16	/* = MS_LANES_MAX: SAs per direction and generation */
#define MC_LIFETIME_MAX (7 * 86400)
#define MC_SECRET_LEN 40	/* one-shot key (32) || nonce (8) */

enum mc_op { MC_OP_START, MC_OP_REKEY, MC_OP_END, MC_OP_STATUS, MC_OP_HEALTH };
enum mc_policy { MC_POL_REQUIRED, MC_POL_OPPORTUNISTIC, MC_POL_DISABLED };
enum mc_role { MC_ROLE_SOURCE, MC_ROLE_DESTINATION };

struct mc_req {
	enum mc_op op;
	char id[MC_ID_MAX + 1];		/* "" when absent (status of all, health) */
	char vm[MC_VM_MAX + 1];
	enum mc_policy policy;
	enum mc_role role;
	struct ms_ip peer;
	unsigned int nb_sel;
	struct ms_sel sel[MC_SEL_MAX];	/* source -> destination traffic */
	uint8_t *secret;		/* secure heap, MC_SECRET_LEN; NULL if none */
	uint64_t lifetime_s;
	uint64_t max_bytes;		/* 0: no limit */
	uint64_t rekey_s;		/* 0: the appliance default */
	uint64_t rekey_bytes;		/* 0: the appliance default */
	uint32_t replay_window;		/* 0: the appliance default */
	uint32_t lanes;			/* SAs per direction, >= both appliances' workers */
	char note[MC_NOTE_MAX + 1];	/* why (e.g. a downgrade), for the audit trail */
};

struct mc_err {
	const char *code;		/* bad_message, unsupported_version, ... */
	char msg[256];
};

/* 0, or -1 with e filled; on error nothing is left allocated. */
int mc_msg_parse(const char *text, size_t len, struct mc_req *r, struct mc_err *e);
void mc_req_clear(struct mc_req *r);

const char *mc_op_name(enum mc_op op);
const char *mc_policy_name(enum mc_policy p);
const char *mc_role_name(enum mc_role r);

/* Replies: {"v":1,"ok":true,...body} / {"v":1,"ok":false,"error":{code,message}}. */
char *mc_msg_ok(json_t *body);
char *mc_msg_error(const char *code, const char *msg);

#endif
