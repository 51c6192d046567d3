/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Authorization on the management port (mc_authz.h): which configured
 * client a certificate is, and whether that client may make a request —
 * its role, the migration's owner, the peer, the selectors. A refusal
 * changes nothing and is audited. Runs on migsec-control's one thread.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mc_audit.h"
#include "mc_authz.h"
#include "mc_mig_int.h"
#include "mc_tls.h"

static volatile sig_atomic_t hup;

static void
on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

void
mc_authz_watch_hup(void)
{
	struct sigaction sa = { .sa_handler = on_hup };	/* no SA_RESTART: poll() wakes */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

void
mc_authz_reload(const struct mc_conf *c, SSL_CTX *ctx)
{
	char err[400];

	if (!hup)
		return;
	hup = 0;
	if (mc_tls_reload_trust(ctx, c->ca, c->crl, err, sizeof(err)) != 0) {
		mc_audit("trust_reload_failed", json_pack("{s:s,s:s}", "reason", err, "note",
			 "the CA and CRL loaded before stay in force"));
		return;
	}
	mc_audit("trust_reloaded", json_pack("{s:s,s:s}", "ca", c->ca, "crl",
		 c->crl[0] ? c->crl : "(none)"));
}

const struct mc_client *
mc_authz_client(const struct mc_conf *c, SSL *ssl, char *subject, size_t len)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	const struct mc_client *who = NULL;

	subject[0] = '\0';
	if (peer == NULL)
		return NULL;
	mc_tls_subject(peer, subject, len);
	for (unsigned int i = 0; i < c->nb_clients && who == NULL; i++)
		if (mc_tls_identity_matches(peer, c->clients[i].identity))
			who = &c->clients[i];
	X509_free(peer);
	return who;
}

static char * __attribute__((format(printf, 4, 5)))
denied(const struct mc_req *r, const struct mc_client *who, const char *code, const char *fmt,
       ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mc_audit("request_denied", json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "client", who->identity,
		 "role", mc_client_role_name(who->role), "op", mc_op_name(r->op), "migration", r->id,
		 "code", code, "reason", msg));
	return mc_msg_error(code, msg);
}

static bool
prefixes_meet(const struct ms_prefix *a, const struct ms_prefix *b)
{
	if (a->ip.af != b->ip.af)
		return false;
	return a->len <= b->len ? ms_prefix_has(a, &b->ip) : ms_prefix_has(b, &a->ip);
}

/* Is there a packet both selectors match? */
static bool
sels_meet(const struct ms_sel *a, const struct ms_sel *b)
{
	return prefixes_meet(&a->src, &b->src) && prefixes_meet(&a->dst, &b->dst) &&
	       (a->proto == 0 || b->proto == 0 || a->proto == b->proto) &&
	       a->sport_lo <= b->sport_hi && b->sport_lo <= a->sport_hi &&
	       a->dport_lo <= b->dport_hi && b->dport_lo <= a->dport_hi;
}

/*
 * The running migration whose traffic r's selectors would also match, either
 * way (a migration's SAs cover its selectors and their mirror, a bypass rule
 * both); NULL if none. The newest rule wins in the data plane, so such a
 * start would take that traffic over.
 */
static const struct mc_mig *
overlapping(const struct mc_state *st, const struct mc_req *r)
{
	for (int i = 0; i < MC_MIG_MAX; i++) {
		const struct mc_mig *m = &st->m[i];

		for (unsigned int a = 0; m->used && a < r->nb_sel; a++)
			for (unsigned int b = 0; b < m->nb_sel; b++) {
				struct ms_sel mirror;

				ms_sel_mirror(&m->sel[b], &mirror);
				if (sels_meet(&r->sel[a], &m->sel[b]) || sels_meet(&r->sel[a], &mirror))
					return m;
			}
	}
	return NULL;
}

static char *
start_check(struct mc_state *st, const struct mc_req *r, const struct mc_client *who)
{
	const struct mc_mig *m;
	bool peer_ok = false;
	char ip[64];

	for (unsigned int i = 0; i < st->conf->nb_peers; i++)
		peer_ok |= ms_prefix_has(&st->conf->peers[i], &r->peer);
	if (!peer_ok)
		return denied(r, who, "forbidden", "field 'peer': %s is not in mgmt.peers",
			      ms_ip_str(&r->peer, ip, sizeof(ip)));
	if (mc_mig_find(st, r->id) != NULL)
		return NULL;	/* op_start says "exists" */
	m = overlapping(st, r);
	if (m != NULL)
		return denied(r, who, "overlap", "selectors overlap those of running migration "
			      "'%s': end it first", m->id);
	return NULL;
}

char *
mc_authz_check(struct mc_state *st, const struct mc_req *r, const struct mc_client *who)
{
	const struct mc_mig *m;

	if (r->op == MC_OP_STATUS || r->op == MC_OP_HEALTH)
		return NULL;	/* every role reads */
	if (who->role == MC_CLIENT_OBSERVER)
		return denied(r, who, "forbidden", "role observer may only read status and health; "
			      "%s needs operator", mc_op_name(r->op));
	if (r->op == MC_OP_START)
		return start_check(st, r, who);
	m = mc_mig_find(st, r->id);
	if (m == NULL || who->role == MC_CLIENT_ADMIN || strcmp(m->owner, who->identity) == 0)
		return NULL;	/* not_found is mc_handle's to say */
	return denied(r, who, "forbidden", "migration '%s' belongs to %s: only it or an admin may "
		      "%s it", r->id, m->owner[0] ? m->owner : "no configured client (recovered)",
		      mc_op_name(r->op));
}

void
mc_authz_owner_tag(const char *identity, char out[MC_OWNER_TAG_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (EVP_Digest(identity, strlen(identity), md, &n, EVP_sha256(), NULL) != 1 ||
	    n < MC_OWNER_TAG_LEN / 2)
		return;
	for (unsigned int i = 0; i < MC_OWNER_TAG_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

const char *
mc_authz_owner_by_tag(const struct mc_conf *c, const char *tag)
{
	char t[MC_OWNER_TAG_LEN + 1];

	for (unsigned int i = 0; tag[0] != '\0' && i < c->nb_clients; i++) {
		mc_authz_owner_tag(c->clients[i].identity, t);
		if (strcmp(t, tag) == 0 && c->clients[i].role != MC_CLIENT_OBSERVER)
			return c->clients[i].identity;
	}
	return NULL;
}
