/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's client of the data plane's local control socket
 * (mc_dpc.h): one blocking request per call, on its one thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mc_dpc.h"
#include "ms_ctl_client.h"
#include "ms_ctl_proto.h"

#define DP_TIMEOUT_MS 5000

static int
call(const char *sock, uint16_t op, const void *body, uint32_t len, char **reply, char *err,
     size_t errlen)
{
	int32_t status;
	size_t rlen;
	int rc = ms_ctl_call(sock, op, body, len, DP_TIMEOUT_MS, &status, reply, &rlen, err, errlen);

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
	return rc;
}

int
mc_dp_del(const char *sock, uint32_t id, char *err, size_t errlen)
{
	struct ms_ctl_sa_id req = { .id = id };
	char *reply = NULL;
	int rc = call(sock, MS_CTL_SA_DEL, &req, sizeof(req), &reply, err, errlen);

	free(reply);
	return rc;
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
