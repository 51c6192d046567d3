/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_REFUSE_H
#define MC_REFUSE_H

/*
 * Sources of management connections, and the audit of what is refused to
 * them (refused connections, failed handshakes, timeouts) without letting
 * an unauthenticated flood write a line per attempt: per source, the first
 * MC_REFUSE_BURST refusals of a MC_REFUSE_WINDOW_S window get their own
 * line, the rest one refusals_summary line when the window ends.
 * migsec-control's one thread only (mc_server.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#define MC_REFUSE_WINDOW_S 10
#define MC_REFUSE_BURST 10
#define MC_REFUSE_SOURCES 64	/* sources tracked at once; the rest share one entry */
#define MC_REFUSE_REASONS 8	/* distinct reasons counted per summary; the rest: "other" */

/* A source: an IPv4 address, or an IPv6 /64 (one host's usual share). */
struct mc_src {
	uint8_t af;		/* 0: none (the shared entry), 4 or 6 */
	uint8_t a[16];
	char str[48];		/* the address (IPv6: the /64 prefix) */
};

struct mc_refuse_ent {
	struct mc_src src;
	uint64_t window_end_ms;	/* 0: free */
	unsigned int refused, audited, nb_reasons;
	struct { char why[96]; unsigned int n; } reason[MC_REFUSE_REASONS + 1];
};

struct mc_refuse {
	struct mc_refuse_ent e[MC_REFUSE_SOURCES + 1];	/* the last one: every other source */
};

/* The source of a peer's address. */
void mc_src_of(const struct sockaddr_storage *ss, struct mc_src *s);
bool mc_src_same(const struct mc_src *a, const struct mc_src *b);

/*
 * Audit event (fields, ownership taken) refused to src for reason, or only
 * count it while src is over its burst.
 */
void mc_refuse_audit(struct mc_refuse *r, const struct mc_src *src, const char *event,
		     const char *reason, json_t *fields, uint64_t now_ms);
/* The summaries of windows that have ended (called about once a second). */
void mc_refuse_tick(struct mc_refuse *r, uint64_t now_ms);

#endif
