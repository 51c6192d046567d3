/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Refusals to management clients, audited per source within a budget
 * (mc_refuse.h). A flood of handshakes costs the audit trail at most
 * MC_REFUSE_BURST + 1 lines per source per window, and at most
 * MC_REFUSE_SOURCES + 1 sources are tracked, whatever the attacker's
 * address count. migsec-control's one thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "mc_audit.h"
#include "mc_refuse.h"

void
mc_src_of(const struct sockaddr_storage *ss, struct mc_src *s)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	char ip[INET6_ADDRSTRLEN];

	memset(s, 0, sizeof(*s));
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		s->af = 4;
		memcpy(s->a, s6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET6) {
		s->af = 6;
		memcpy(s->a, s6->sin6_addr.s6_addr, 8);	/* the /64 */
	} else if (ss->ss_family == AF_INET) {
		s->af = 4;
		memcpy(s->a, &s4->sin_addr, 4);
	} else {
		snprintf(s->str, sizeof(s->str), "?");
		return;
	}
	inet_ntop(s->af == 4 ? AF_INET : AF_INET6, s->a, ip, sizeof(ip));
	snprintf(s->str, sizeof(s->str), s->af == 6 ? "%s/64" : "%s", ip);
}

bool
mc_src_same(const struct mc_src *a, const struct mc_src *b)
{
	return a->af == b->af && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* src's entry (a fresh one if it has none), or the shared one when all are taken. */
static struct mc_refuse_ent *
entry(struct mc_refuse *r, const struct mc_src *src, uint64_t now_ms)
{
	struct mc_refuse_ent *free_e = NULL, *e;

	for (int i = 0; i < MC_REFUSE_SOURCES; i++) {
		e = &r->e[i];
		if (e->window_end_ms != 0 && mc_src_same(&e->src, src))
			return e;
		if (e->window_end_ms == 0 && free_e == NULL)
			free_e = e;
	}
	e = free_e ? free_e : &r->e[MC_REFUSE_SOURCES];
	if (e->window_end_ms == 0) {
		memset(e, 0, sizeof(*e));
		if (free_e != NULL)
			e->src = *src;
		else
			snprintf(e->src.str, sizeof(e->src.str), "other sources");
		e->window_end_ms = now_ms + MC_REFUSE_WINDOW_S * 1000ULL;
	}
	return e;
}

static void
count_reason(struct mc_refuse_ent *e, const char *reason)
{
	unsigned int i;

	for (i = 0; i < e->nb_reasons; i++)
		if (strcmp(e->reason[i].why, reason) == 0)
			break;
	if (i == e->nb_reasons) {
		if (i == MC_REFUSE_REASONS)
			reason = "other";	/* the extra slot */
		else
			e->nb_reasons++;
		snprintf(e->reason[i].why, sizeof(e->reason[i].why), "%s", reason);
	}
	e->reason[i].n++;
}

void
mc_refuse_audit(struct mc_refuse *r, const struct mc_src *src, const char *event,
		const char *reason, json_t *fields, uint64_t now_ms)
{
	struct mc_refuse_ent *e = entry(r, src, now_ms);

	e->refused++;
	if (e->audited < MC_REFUSE_BURST) {
		e->audited++;
		mc_audit(event, fields);
		return;
	}
	json_decref(fields);
	count_reason(e, reason);
}

static void
summary(const struct mc_refuse_ent *e)
{
	json_t *why = json_object();

	for (unsigned int i = 0; i <= MC_REFUSE_REASONS && e->reason[i].n; i++)
		json_object_set_new(why, e->reason[i].why, json_integer(e->reason[i].n));
	mc_audit("refusals_summary", json_pack("{s:s,s:i,s:i,s:i,s:o}", "peer", e->src.str,
					       "refused", e->refused, "audited", e->audited,
					       "seconds", MC_REFUSE_WINDOW_S, "reasons", why));
}

void
mc_refuse_tick(struct mc_refuse *r, uint64_t now_ms)
{
	for (int i = 0; i <= MC_REFUSE_SOURCES; i++) {
		struct mc_refuse_ent *e = &r->e[i];

		if (e->window_end_ms == 0 || now_ms < e->window_end_ms)
			continue;
		if (e->refused > e->audited)
			summary(e);
		memset(e, 0, sizeof(*e));
	}
}
