/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's client of the data plane's local control socket
 * (mc_dpc.h): one blocking request per call, on its one thread, and the
 * reconciliation of SAs whose requests went unanswered.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "mc_audit.h"
#include "mc_dpc.h"
#include "mc_secmem.h"
#include "ms_ctl_client.h"
#include "ms_ctl_proto.h"

#define DP_TIMEOUT_MS 5000
#define PENDING_MAX 256
#define GONE_GRACE_S 10	/* "no such SA" this long: a late SA_ADD did not land */

static int timeout_ms = DP_TIMEOUT_MS;

/*
 * SAs the data plane may hold although migsec-control gave up on them: an
 * SA_ADD or SA_DEL whose answer did not come in time (or the connection
 * broke after the request was sent). The data plane may still install
 * the SA, or have kept it; its key would live until the SA's own expiry,
 * up to 7 days. Each is deleted at the next reconciliation (mc_dp_list,
 * once a tick), until the data plane says it is gone (for GONE_GRACE_S,
 * as a late SA_ADD may still be on its way) or is gone itself. Each step
 * is audited: sa_unanswered when an SA is taken in, sa_reconciled (with
 * how) when it is settled, sa_unreconciled if it cannot be tracked.
 */
static struct pending {
	char sock[108];
	uint32_t id;
	time_t gone_since;	/* 0: not yet seen absent */
} pending[PENDING_MAX];
static unsigned int nb_pending;

void
mc_dp_set_timeout(int ms)
{
	timeout_ms = ms > 0 ? ms : DP_TIMEOUT_MS;
}

/* The request may have reached the data plane, and been acted on. */
static bool
maybe_delivered(int rc)
{
	return rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -EPIPE || rc == -EPROTO;
}

static void
pending_add(const char *sock, uint32_t id)
{
	for (unsigned int i = 0; i < nb_pending; i++)
		if (pending[i].id == id && strcmp(pending[i].sock, sock) == 0)
			return;
	if (nb_pending == PENDING_MAX) {
		fprintf(stderr, "migsec-control: SA %u: too many unanswered requests to reconcile; "
			"it lives until its expiry\n", id);
		mc_audit("sa_unreconciled", json_pack("{s:I,s:s,s:s}", "sa", (json_int_t)id,
						      "dataplane", sock, "reason",
						      "too many unanswered requests; it lives until "
						      "its expiry"));
		return;
	}
	mc_audit("sa_unanswered", json_pack("{s:I,s:s,s:s}", "sa", (json_int_t)id, "dataplane", sock,
					    "note", "the data plane may hold it: deleted at the "
					    "next reconciliation"));
	snprintf(pending[nb_pending].sock, sizeof(pending[0].sock), "%s", sock);
	pending[nb_pending].id = id;
	pending[nb_pending++].gone_since = 0;
}

static int
call(const char *sock, uint16_t op, const void *body, uint32_t len, char **reply, char *err,
     size_t errlen)
{
	int32_t status;
	size_t rlen;
	int rc = ms_ctl_call(sock, op, body, len, timeout_ms, &status, reply, &rlen, err, errlen);

	if (rc != 0)
		return rc;
	if (status != 0) {
		snprintf(err, errlen, "data plane refused: %s", *reply);
		free(*reply);
		*reply = NULL;
		return status;
	}
	return 0;
}

int
mc_dp_add(const char *sock, const struct ms_sa_spec *spec, char *err, size_t errlen)
{
	struct ms_ctl_sa_add req;
	char *reply = NULL;
	int rc;

	req.spec = *spec;
	rc = call(sock, MS_CTL_SA_ADD, &req, sizeof(req), &reply, err, errlen);
	OPENSSL_cleanse(&req, sizeof(req));
	free(reply);
	if (maybe_delivered(rc))
		pending_add(sock, spec->id);
	return rc;
}

int
mc_dp_add_batch(const char *sock, const struct ms_sa_spec *specs, unsigned int n, char *err,
		size_t errlen)
{
	const size_t head = offsetof(struct ms_ctl_sa_batch, spec);
	struct ms_ctl_sa_batch *req;
	char *reply = NULL;
	int rc;

	if (n == 1)
		return mc_dp_add(sock, specs, err, errlen);
	if (n == 0 || n > MS_CTL_BATCH_MAX) {
		snprintf(err, errlen, "a batch holds 1 to %u SAs, not %u", MS_CTL_BATCH_MAX, n);
		return -EINVAL;
	}
	req = mc_secure_zalloc(sizeof(*req));	/* keys: locked, wiped when freed */
	if (req == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	req->n = n;
	memcpy(req->spec, specs, n * sizeof(specs[0]));
	rc = call(sock, MS_CTL_SA_ADD_BATCH, req, (uint32_t)(head + n * sizeof(specs[0])), &reply,
		  err, errlen);
	mc_secure_free(req, sizeof(*req));
	free(reply);
	for (unsigned int i = 0; maybe_delivered(rc) && i < n; i++)
		pending_add(sock, specs[i].id);
	return rc;
}

static int
del_once(const char *sock, uint32_t id, char *err, size_t errlen)
{
	struct ms_ctl_sa_id req = { .id = id };
	char *reply = NULL;
	int rc = call(sock, MS_CTL_SA_DEL, &req, sizeof(req), &reply, err, errlen);

	free(reply);
	return rc;
}

int
mc_dp_del(const char *sock, uint32_t id, char *err, size_t errlen)
{
	int rc = del_once(sock, id, err, errlen);

	if (maybe_delivered(rc))
		pending_add(sock, id);
	return rc;
}

/* The reply's "absent" ids among ids[0..n): absent[i]. false if the reply makes no sense. */
static bool
parse_absent(const char *reply, const uint32_t *ids, unsigned int n, bool *absent)
{
	json_t *j = json_loads(reply != NULL ? reply : "", 0, NULL), *a = json_object_get(j, "absent");
	json_t *d = json_object_get(j, "ids"), *v;
	bool ok = json_is_array(a) && json_is_array(d) &&
		  json_array_size(a) + json_array_size(d) == n;
	size_t k;

	for (unsigned int i = 0; i < n; i++)
		absent[i] = false;
	json_array_foreach(ok ? a : NULL, k, v)
		for (unsigned int i = 0; i < n; i++)
			absent[i] |= json_integer_value(v) == (json_int_t)ids[i];
	json_decref(j);
	return ok;
}

/* Up to MS_CTL_DEL_BATCH_MAX ids in one SA_DEL_BATCH. */
static int
del_chunk(const char *sock, const uint32_t *ids, unsigned int n, bool *absent, char *err,
	  size_t errlen)
{
	const size_t head = offsetof(struct ms_ctl_sa_ids, id);
	struct ms_ctl_sa_ids *req = calloc(1, sizeof(*req));
	char *reply = NULL;
	int rc;

	if (req == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	req->n = n;
	memcpy(req->id, ids, n * sizeof(ids[0]));
	rc = call(sock, MS_CTL_SA_DEL_BATCH, req, (uint32_t)(head + n * sizeof(ids[0])), &reply,
		  err, errlen);
	free(req);
	if (rc == 0 && !parse_absent(reply, ids, n, absent)) {
		snprintf(err, errlen, "data plane's SA_DEL_BATCH reply makes no sense");
		rc = -EPROTO;	/* may have deleted them: reconciled later */
	}
	free(reply);
	return rc;
}

int
mc_dp_del_batch(const char *sock, const uint32_t *ids, unsigned int n, bool *absent, char *err,
		size_t errlen)
{
	int rc = 0, worst = 0;

	for (unsigned int i = 0; i < n; i++)
		absent[i] = false;
	for (unsigned int i = 0; i < n; i += MS_CTL_DEL_BATCH_MAX) {
		unsigned int k = n - i < MS_CTL_DEL_BATCH_MAX ? n - i : MS_CTL_DEL_BATCH_MAX;

		rc = del_chunk(sock, ids + i, k, absent + i, err, errlen);
		if (rc == -EOPNOTSUPP) {	/* a data plane older than SA_DEL_BATCH */
			for (unsigned int j = i; j < i + k; j++) {
				int one = mc_dp_del(sock, ids[j], err, errlen);

				absent[j] = one == -ENOENT;
				if (one != 0 && one != -ENOENT)
					worst = one;
			}
			continue;
		}
		for (unsigned int j = i; maybe_delivered(rc) && j < i + k; j++)
			pending_add(sock, ids[j]);
		if (rc != 0)
			worst = rc;
	}
	return worst;
}

static bool
reconciled(const struct pending *p, const char *how)
{
	mc_audit("sa_reconciled", json_pack("{s:I,s:s,s:s}", "sa", (json_int_t)p->id, "dataplane",
					    p->sock, "result", how));
	return true;
}

/* One attempt for pending SA i; true when it is settled (deleted or gone). */
static bool
reconcile_one(struct pending *p, time_t now)
{
	char err[256];
	int rc = del_once(p->sock, p->id, err, sizeof(err));

	if (rc == 0)
		return reconciled(p, "deleted (an unanswered request had left it in the data plane)");
	if (rc == -ENOENT) {	/* the data plane's answer: no such SA (yet?) */
		if (p->gone_since == 0)
			p->gone_since = now;
		return now - p->gone_since >= GONE_GRACE_S &&
			reconciled(p, "absent (the request never took effect)");
	}
	/* Not there at all: a dead data plane took its keys along. */
	return !maybe_delivered(rc) && reconciled(p, "data plane gone");
}

void
mc_dp_reconcile(const char *sock)
{
	time_t now = time(NULL);

	for (unsigned int i = 0; i < nb_pending;) {
		struct pending *p = &pending[i];

		if (strcmp(p->sock, sock) != 0) {
			i++;
			continue;
		}
		if (!reconcile_one(p, now)) {
			if (p->gone_since == 0)
				break;	/* no answer again: leave the rest for the next tick */
			i++;
			continue;
		}
		*p = pending[--nb_pending];
	}
}

unsigned int
mc_dp_pending(void)
{
	return nb_pending;
}

static json_t *
get_json(const char *sock, uint16_t op, char *err, size_t errlen)
{
	char *reply = NULL;
	json_error_t je;
	json_t *j;

	if (call(sock, op, NULL, 0, &reply, err, errlen) != 0)
		return NULL;
	j = json_loads(reply, 0, &je);
	if (j == NULL)
		snprintf(err, errlen, "data plane reply is not JSON: %s", je.text);
	free(reply);
	return j;
}

json_t *
mc_dp_list(const char *sock, char *err, size_t errlen)
{
	mc_dp_reconcile(sock);	/* the list then shows what is really left */
	return get_json(sock, MS_CTL_SA_LIST, err, errlen);
}

json_t *
mc_dp_ping(const char *sock, char *err, size_t errlen)
{
	return get_json(sock, MS_CTL_PING, err, errlen);
}

json_t *
mc_dp_stats(const char *sock, char *err, size_t errlen)
{
	return get_json(sock, MS_CTL_STATS, err, errlen);
}

json_t *
mc_dp_crypto(const char *sock, char *err, size_t errlen)
{
	return get_json(sock, MS_CTL_CRYPTO, err, errlen);
}
