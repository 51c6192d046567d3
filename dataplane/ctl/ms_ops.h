/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_OPS_H
#define MS_OPS_H

#include <jansson.h>
#include <time.h>

#include "ms_dp.h"

#ifndef MS_VERSION
#define MS_VERSION "0.0.0"
#endif

struct ms_cdev;
struct ms_profile;

struct ms_ops_ctx {
	struct ms_dp *dp;
	struct ms_cdev *cd;
	const struct ms_profile *prof;
	time_t started;
};

/* ms_ctl_handler_fn for the data plane's requests. Control thread only. */
int32_t ms_ops_handle(void *arg, uint16_t op, const uint8_t *body, uint32_t len, char **reply,
		      size_t *reply_len);

/* Appliance, port and drop counters (the STATS reply). */
json_t *ms_ops_stats_json(const struct ms_dp *dp);

/*
 * Between ms_ops.c and ms_ops_report.c. A reply is JSON (ms_ops_reply_json
 * takes j) or a message with a status; the reports put theirs in *reply.
 */
int32_t ms_ops_reply_json(json_t *j, char **reply, size_t *len);
int32_t ms_ops_reply_err(int32_t st, const char *msg, char **reply, size_t *len);
int32_t ms_ops_ping(struct ms_ops_ctx *o, char **reply, size_t *len);
int32_t ms_ops_sa_list(struct ms_ops_ctx *o, char **reply, size_t *len);
int32_t ms_ops_crypto(struct ms_ops_ctx *o, char **reply, size_t *len);

#endif
