/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control requests (ms_ctl_proto.h) executed against the data plane: the
 * dispatcher and the requests that change something (SA add and delete, one
 * or a batch of each; pause, crypto fail-over); the reports are
 * ms_ops_report.c's. Runs in the control thread, the SA database's only
 * writer.
 */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ms_cdev.h"
#include "ms_ctl_proto.h"
#include "ms_failover.h"
#include "ms_log.h"
#include "ms_ops.h"
#include "ms_worker.h"

int32_t
ms_ops_reply_json(json_t *j, char **reply, size_t *len)
{
	*reply = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (*reply == NULL)
		return -ENOMEM;
	*len = strlen(*reply);
	return 0;
}

int32_t
ms_ops_reply_err(int32_t st, const char *msg, char **reply, size_t *len)
{
	*reply = strdup(msg);
	*len = *reply ? strlen(*reply) : 0;
	return st;
}

/* A fixed-size request body: refused (and replied to) unless it has that size. */
static bool
body_size_ok(const char *op, uint32_t blen, size_t want, char **reply, size_t *len)
{
	char err[128];

	if (blen == want)
		return true;
	snprintf(err, sizeof(err), "%s body is %u bytes, expected %zu", op, blen, want);
	ms_ops_reply_err(-EINVAL, err, reply, len);
	return false;
}

/* What SA_ADD and SA_DEL reply when they are done. */
static int32_t
reply_id(uint32_t id, char **reply, size_t *len)
{
	char j[32];

	snprintf(j, sizeof(j), "{\"id\":%u}", id);
	return ms_ops_reply_err(0, j, reply, len);
}

/* The SA's local outer address must be one of ours. */
static bool
local_is_ours(const struct ms_dp *dp, const struct ms_ip *ip)
{
	const struct ms_port_conf *pc = dp->port[MS_PORT_OUTER].conf;

	if (ip->af == MS_AF_INET)
		return pc->addr4.ip.af == MS_AF_INET && pc->addr4.ip.v4 == ip->v4;
	return pc->addr6.ip.af == MS_AF_INET6 && memcmp(pc->addr6.ip.v6, ip->v6, 16) == 0;
}

/* What the database does not check itself: the spec's fields, our address. */
static int32_t
sa_check(struct ms_ops_ctx *o, const struct ms_sa_spec *spec, char *err, size_t errlen)
{
	char ip[MS_IPSTRLEN];
	int32_t rc = ms_sa_spec_check(spec, err, errlen);

	if (rc == 0 && !local_is_ours(o->dp, &spec->local)) {
		snprintf(err, errlen, "local address %s is not this appliance's outer address",
			 ms_ip_str(&spec->local, ip, sizeof(ip)));
		rc = -EADDRNOTAVAIL;
	}
	return rc;
}

static void
sa_added(const struct ms_sa_spec *spec)
{
	char ip[MS_IPSTRLEN];

	MS_LOG(INFO, "SA %u added: %s spi 0x%x peer %s tag '%s'", spec->id,
	       ms_dir_name(spec->dir), spec->spi, ms_ip_str(&spec->peer, ip, sizeof(ip)),
	       spec->tag);
}

static int32_t
sa_add(struct ms_ops_ctx *o, const struct ms_sa_spec *spec, char *err, size_t errlen)
{
	int32_t rc = sa_check(o, spec, err, errlen);

	if (rc == 0)
		rc = ms_sadb_add(&o->dp->sadb, spec, err, errlen);
	if (rc == 0)
		sa_added(spec);
	else
		MS_LOG(WARNING, "SA add refused: %s", err);
	return rc;
}

/* The request holds the SA's key: wiped before this returns, whatever happens. */
static int32_t
op_sa_add(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply, size_t *len)
{
	struct ms_ctl_sa_add req;
	char err[256];
	uint32_t id;
	int32_t rc;

	if (!body_size_ok("SA_ADD", blen, sizeof(req), reply, len))
		return -EINVAL;
	memcpy(&req, body, sizeof(req));
	id = req.spec.id;
	rc = sa_add(o, &req.spec, err, sizeof(err));
	explicit_bzero(&req, sizeof(req));
	return rc != 0 ? ms_ops_reply_err(rc, err, reply, len) : reply_id(id, reply, len);
}

/*
 * A batch body (SA_ADD_BATCH, SA_DEL_BATCH): n and rsvd (0), then exactly n
 * elements of elem bytes, n 1..max. True with the count in *n; false with
 * the reason in err.
 */
static_assert(offsetof(struct ms_ctl_sa_batch, rsvd) == 4 &&
	      offsetof(struct ms_ctl_sa_ids, rsvd) == 4, "batch heads: n, then rsvd");
static bool
batch_body_ok(const char *op, const uint8_t *body, uint32_t blen, size_t head, size_t elem,
	      uint32_t max, uint32_t *n, char *err, size_t errlen)
{
	uint32_t h[2] = { 0, 0 };	/* n, rsvd */

	if (blen >= head)
		memcpy(h, body, sizeof(h));
	*n = h[0];
	if (blen >= head && h[0] >= 1 && h[0] <= max && h[1] == 0 && blen == head + h[0] * elem)
		return true;
	snprintf(err, errlen, "%s body is %u bytes: want %zu + n * %zu with n 1..%u (n = %u)", op,
		 blen, head, elem, max, h[0]);
	return false;
}

/* As SA_ADD, n SAs at once (all or none, one table update). Wiped whatever happens. */
static int32_t
op_sa_add_batch(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply,
		size_t *len)
{
	const size_t head = offsetof(struct ms_ctl_sa_batch, spec);
	struct ms_ctl_sa_batch req;
	char err[256];
	int32_t rc = 0;
	json_t *ids;

	memset(&req, 0, sizeof(req));
	if (!batch_body_ok("SA_ADD_BATCH", body, blen, head, sizeof(req.spec[0]), MS_CTL_BATCH_MAX,
			   &req.n, err, sizeof(err)))
		return ms_ops_reply_err(-EINVAL, err, reply, len);
	memcpy(req.spec, body + head, req.n * sizeof(req.spec[0]));
	for (uint32_t i = 0; i < req.n && rc == 0; i++) {
		char why[192];

		rc = sa_check(o, &req.spec[i], why, sizeof(why));
		if (rc != 0)
			snprintf(err, sizeof(err), "SA %u of the batch (id %u): %s; none added", i,
				 req.spec[i].id, why);
	}
	if (rc == 0)
		rc = ms_sadb_add_batch(&o->dp->sadb, req.spec, req.n, err, sizeof(err));
	ids = json_array();
	for (uint32_t i = 0; i < req.n; i++) {
		if (rc == 0)
			sa_added(&req.spec[i]);
		json_array_append_new(ids, json_integer(req.spec[i].id));
	}
	explicit_bzero(&req, sizeof(req));
	if (rc != 0) {
		json_decref(ids);
		MS_LOG(WARNING, "SA batch refused: %s", err);
		return ms_ops_reply_err(rc, err, reply, len);
	}
	return ms_ops_reply_json(json_pack("{s:o}", "ids", ids), reply, len);
}

static int32_t
op_sa_del(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply, size_t *len)
{
	struct ms_ctl_sa_id req;
	char err[128];
	int32_t rc;

	if (!body_size_ok("SA_DEL", blen, sizeof(req), reply, len))
		return -EINVAL;
	memcpy(&req, body, sizeof(req));
	rc = ms_sadb_del(&o->dp->sadb, req.id, err, sizeof(err));
	if (rc != 0)
		return ms_ops_reply_err(rc, err, reply, len);
	MS_LOG(INFO, "SA %u deleted, its keys wiped", req.id);
	return reply_id(req.id, reply, len);
}

/*
 * n SAs deleted in one table update (ms_ctl_proto.h): what exists is
 * deleted, each key wiped; what does not is listed as absent. A malformed
 * body deletes nothing.
 */
static int32_t
op_sa_del_batch(struct ms_ops_ctx *o, const uint8_t *body, uint32_t blen, char **reply,
		size_t *len)
{
	const size_t head = offsetof(struct ms_ctl_sa_ids, id);
	struct ms_ctl_sa_ids req;
	bool absent[MS_CTL_DEL_BATCH_MAX];
	char err[160];
	json_t *del, *abs;
	int rc;

	if (!batch_body_ok("SA_DEL_BATCH", body, blen, head, sizeof(req.id[0]),
			   MS_CTL_DEL_BATCH_MAX, &req.n, err, sizeof(err)))
		return ms_ops_reply_err(-EINVAL, err, reply, len);
	memcpy(req.id, body + head, req.n * sizeof(req.id[0]));
	for (uint32_t i = 1; i < req.n; i++)
		for (uint32_t j = 0; j < i; j++)
			if (req.id[i] == req.id[j]) {
				snprintf(err, sizeof(err), "SA_DEL_BATCH lists SA id %u twice (at "
					 "positions %u and %u); none deleted", req.id[i], j, i);
				return ms_ops_reply_err(-EINVAL, err, reply, len);
			}
	rc = ms_sadb_del_batch(&o->dp->sadb, req.id, req.n, absent, err, sizeof(err));
	if (rc < 0) {
		MS_LOG(WARNING, "SA batch delete refused: %s", err);
		return ms_ops_reply_err(rc, err, reply, len);
	}
	del = json_array();
	abs = json_array();
	for (uint32_t i = 0; i < req.n; i++)
		json_array_append_new(absent[i] ? abs : del, json_integer(req.id[i]));
	MS_LOG(INFO, "%d SA(s) deleted in one update, their keys wiped (%u absent)", rc,
	       req.n - (uint32_t)rc);
	return ms_ops_reply_json(json_pack("{s:o,s:o}", "ids", del, "absent", abs), reply, len);
}

static int32_t
op_failover(struct ms_ops_ctx *o, char **reply, size_t *len)
{
	char err[256];
	int rc = ms_failover_run(o->dp, o->cd, FAILOVER_HOLD_MS, err, sizeof(err));

	if (rc != 0) {
		MS_LOG(WARNING, "crypto fail-over refused: %s", err);
		return ms_ops_reply_err(rc, err, reply, len);
	}
	return ms_ops_crypto(o, reply, len);
}

/*
 * Pause: no worker takes packets from the ports (they wait in the RX
 * queues) once this returns; what is in flight is finished and sent. For
 * maintenance of the links, e.g. before a virtual port's peer restarts.
 */
static int32_t
op_pause(struct ms_ops_ctx *o, bool pause, char **reply, size_t *len)
{
	__atomic_store_n(&o->dp->paused, pause, __ATOMIC_RELEASE);
	/* a hold returns once every worker has passed a loop boundary */
	if (pause && ms_workers_hold(o->dp, FAILOVER_HOLD_MS) != 0) {
		__atomic_store_n(&o->dp->paused, 0, __ATOMIC_RELEASE);
		return ms_ops_reply_err(-ETIMEDOUT, "the workers did not stop within the hold time",
					reply, len);
	}
	if (pause)
		ms_workers_release(o->dp);
	MS_LOG(NOTICE, "workers %s", pause ? "paused: packets wait in the RX queues" : "resumed");
	return ms_ops_reply_json(json_pack("{s:b}", "paused", pause), reply, len);
}

int32_t
ms_ops_handle(void *arg, uint16_t op, const uint8_t *body, uint32_t len, char **reply,
	      size_t *rlen)
{
	struct ms_ops_ctx *o = arg;
	bool empty = len == 0;

	switch (op) {
	case MS_CTL_PING:
		return empty ? ms_ops_ping(o, reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "PING has no body", reply, rlen);
	case MS_CTL_SA_ADD:
		return op_sa_add(o, body, len, reply, rlen);
	case MS_CTL_SA_DEL:
		return op_sa_del(o, body, len, reply, rlen);
	case MS_CTL_SA_ADD_BATCH:
		return op_sa_add_batch(o, body, len, reply, rlen);
	case MS_CTL_SA_DEL_BATCH:
		return op_sa_del_batch(o, body, len, reply, rlen);
	case MS_CTL_SA_LIST:
		return empty ? ms_ops_sa_list(o, reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "SA_LIST has no body", reply, rlen);
	case MS_CTL_CRYPTO:
		return empty ? ms_ops_crypto(o, reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "CRYPTO has no body", reply, rlen);
	case MS_CTL_FAILOVER:
		return empty ? op_failover(o, reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "FAILOVER has no body", reply, rlen);
	case MS_CTL_PAUSE:
	case MS_CTL_RESUME:
		return empty ? op_pause(o, op == MS_CTL_PAUSE, reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "PAUSE/RESUME have no body", reply, rlen);
	case MS_CTL_STATS:
		return empty ? ms_ops_reply_json(ms_ops_stats_json(o->dp), reply, rlen)
			     : ms_ops_reply_err(-EINVAL, "STATS has no body", reply, rlen);
	default:
		return ms_ops_reply_err(-EOPNOTSUPP, "unknown request", reply, rlen);
	}
}
