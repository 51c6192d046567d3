/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One management connection, non-blocking, driven by mc_server.c's poll
 * loop: the TLS handshake and the client's identity, then request after
 * request (a length prefix, the JSON, mgmt.request_s from its first byte),
 * each answered by mc_handle() before the next is read; a bad length ends
 * the connection after its error reply.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mc_audit.h"
#include "mc_server_int.h"
#include "mc_tls.h"

/* Returns false when the connection must close. */
static bool
handshake(struct mc_server *s, struct conn *k, uint64_t now)
{
	int r = SSL_accept(k->ssl), e;
	char why[256];

	if (r == 1) {
		k->who = mc_authz_client(s->conf, k->ssl, k->subject, sizeof(k->subject));
		if (k->who == NULL) {
			mc_srv_audit_conn(s, "auth_failure", k, "client certificate not allowed: no entry of "
				   "mgmt.clients is its subject or subjectAltName", now);
			return false;
		}
		k->st = C_READ;
		set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: idle");
		return true;
	}
	e = SSL_get_error(k->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return true;
	mc_tls_failure(k->ssl, why, sizeof(why));
	mc_srv_audit_conn(s, "auth_failure", k, why, now);
	return false;
}

/* The reply must be taken within mgmt.timeout_s. */
static void
reply(const struct mc_server *s, struct conn *k, char *body, uint64_t now)
{
	size_t n = body ? strlen(body) : 0;
	uint32_t be = htonl((uint32_t)n);

	k->out = malloc(4 + n);
	if (k->out == NULL) {
		free(body);
		k->close_after = true;
		return;
	}
	memcpy(k->out, &be, 4);
	memcpy(k->out + 4, body, n);
	free(body);
	k->out_len = 4 + n;
	k->out_off = 0;
	k->st = C_WRITE;
	set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: reply not taken within "
		     "mgmt.timeout_s");
}

static void
serve(struct mc_server *s, struct conn *k, uint64_t now)
{
	struct mc_req req;
	struct mc_err e;
	char *out;

	if (mc_msg_parse((const char *)k->in + 4, k->need, &req, &e) != 0) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "peer", k->peer, "code", e.code,
				      "reason", e.msg);

		json_object_set_new(o, "client", json_string(k->who->identity));
		mc_audit("request_rejected", o);
		out = mc_msg_error(e.code, e.msg);
	} else {
		out = mc_handle(s->st, &req, k->who);
		mc_req_clear(&req);
	}
	OPENSSL_cleanse(k->in, sizeof(k->in));
	k->got = 0;
	k->need = 0;
	reply(s, k, out, now);
}

/* The length prefix is in: a length out of range ends the connection after the reply. */
static void
check_length(struct mc_server *s, struct conn *k, uint64_t now)
{
	char msg[96];
	uint32_t be;

	memcpy(&be, k->in, 4);
	k->need = ntohl(be);
	if (k->need != 0 && k->need <= MC_MSG_MAX)
		return;
	snprintf(msg, sizeof(msg), "message length %u is not 1..%d", k->need, MC_MSG_MAX);
	mc_audit("request_rejected", json_pack("{s:s,s:s,s:s}", "peer", k->peer,
					       "client", k->who->identity, "reason", msg));
	reply(s, k, mc_msg_error("bad_message", msg), now);
	k->close_after = true;	/* the stream cannot be trusted */
}

/* One deadline per request, from its first byte: trickling does not push it back. */
static bool
read_more(struct mc_server *s, struct conn *k, uint64_t now)
{
	while (k->st == C_READ) {
		size_t want = k->got < 4 ? 4 - k->got : 4 + k->need - k->got;
		int r, e;

		if (want == 0) {
			serve(s, k, now);
			return true;
		}
		r = SSL_read(k->ssl, k->in + k->got, (int)want);
		if (r <= 0) {
			e = SSL_get_error(k->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
		}
		if (k->got == 0)
			set_deadline(k, now, s->conf->request_s * 1000ULL, "timeout: request not "
				     "complete within mgmt.request_s");
		k->got += (size_t)r;
		if (k->got == 4)
			check_length(s, k, now);
	}
	return true;
}

static bool
write_more(const struct mc_server *s, struct conn *k, uint64_t now)
{
	while (k->out_off < k->out_len) {
		int r = SSL_write(k->ssl, k->out + k->out_off, (int)(k->out_len - k->out_off)), e;

		if (r <= 0) {
			e = SSL_get_error(k->ssl, r);
			return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
		}
		k->out_off += (size_t)r;
	}
	free(k->out);
	k->out = NULL;
	if (k->close_after)
		return false;
	k->st = C_READ;
	set_deadline(k, now, s->conf->timeout_s * 1000ULL, "timeout: idle");
	return true;
}

static bool
step1(struct mc_server *s, struct conn *k, uint64_t now)
{
	switch (k->st) {
	case C_HANDSHAKE:
		return handshake(s, k, now) && (k->st == C_HANDSHAKE || read_more(s, k, now));
	case C_READ:
		return read_more(s, k, now) && (k->st != C_WRITE || write_more(s, k, now));
	case C_WRITE:
		return write_more(s, k, now);
	}
	return false;
}

/*
 * A request that came in one TLS record with the one before sits in
 * OpenSSL's buffer, where poll() does not see it: serve it now, a few per
 * wake-up (mc_srv_pending() makes the next poll return at once for the rest).
 */
bool
mc_srv_step(struct mc_server *s, struct conn *k, uint64_t now)
{
	if (!step1(s, k, now))
		return false;
	for (int i = 0; i < PENDING_BURST && k->st == C_READ && mc_srv_pending(k); i++)
		if (!step1(s, k, now))
			return false;
	return true;
}

bool
mc_srv_pending(const struct conn *k)
{
	return k->st == C_READ && SSL_has_pending(k->ssl);
}
