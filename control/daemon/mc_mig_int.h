/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_MIG_INT_H
#define MC_MIG_INT_H

/*
 * Inside the migration state machine: what mc_mig.c (requests, start,
 * rekey, end), mc_mig_sa.c (SAs towards the data plane), mc_report.c
 * (counters and JSON reports), mc_tick.c (once a second) and mc_recover.c
 * (rebuilding from SA tags) share. Not for the rest of migsec-control:
 * mc_mig.h is the interface.
 *
 * Everything here runs on migsec-control's one thread (the poll loop of
 * mc_server.c); nothing is locked.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "mc_mig.h"

/*
 * Every SA's tag in the data plane:
 * "mc1|ID|ROLE|POLICY|KIND|GEN|LANE|NB|EXPIRES|OWNER" (ROLE s/d, POLICY's
 * first letter, KIND o/i/b, GEN LANE NB hex, OWNER the owner's mark of
 * mc_authz_owner_tag(), "" for none; tags of older versions end before it).
 * Written by mc_mig_sa.c, read back by mc_recover.c after a restart.
 */
#define MC_TAG_PREFIX "mc1|"
#define MC_TAG_FMT_OUT MC_TAG_PREFIX "%s|%c|%c|%c|%x|%x|%x|%llu|%s"
#define MC_TAG_FMT_IN MC_TAG_PREFIX "%32[^|]|%c|%c|%c|%x|%x|%x|%llu|%16[0-9a-f]"

/* One SA of a migration in the data plane. */
struct mc_sa {
	uint32_t id;		/* 0: none */
	uint32_t spi;
	uint64_t pkts, bytes;	/* as last read */
	uint64_t tamper;	/* tamper/replay drops as last read */
	uint64_t reported;	/* ... of which audited */
};

/* One generation in one direction: its lanes (one SA each), or a bypass rule. */
struct mc_gen {
	uint32_t gen;
	uint32_t group;		/* outbound: the data plane's lane group */
	unsigned int nb;	/* lanes; 0: none */
	struct mc_sa lane[MC_LANES_MAX];
};

struct mc_mig {
	bool used;
	char id[MC_ID_MAX + 1];
	char vm[MC_VM_MAX + 1];
	enum mc_policy policy;
	enum mc_role role;
	char owner[MC_IDENTITY_MAX];	/* the identity that started it; "": admins only */
	struct ms_ip local, peer;
	unsigned int nb_sel;
	struct ms_sel sel[MC_SEL_MAX];	/* source -> destination */
	uint8_t *prk;			/* secure heap; NULL after a restart */
	uint64_t started, expires, gen_since;
	uint64_t max_bytes, rekey_s, rekey_bytes;
	uint32_t window;
	uint32_t lanes;
	uint32_t rekeys;
	struct mc_gen out, in_cur, in_next, in_drain, bypass;
	struct mc_gen out_prev;		/* during a rekey: the outbound lanes being replaced */
	uint64_t drain_until;
	uint64_t gone_out_pkts, gone_out_bytes, gone_in_pkts, gone_in_bytes;
	uint64_t last_report;
	json_t *drops;			/* non-zero drops by reason over its SAs */
};

struct mc_state {
	const struct mc_conf *conf;
	uint32_t next_id;
	uint32_t next_group;
	bool dp_up;
	struct mc_mig m[MC_MIG_MAX];
};

enum mc_sa_kind { MC_K_OUT, MC_K_IN, MC_K_BYPASS };

static inline uint64_t
mc_now_s(void)
{
	return (uint64_t)time(NULL);
}

/* mc_mig.c: the table and the state machine's steps. */
struct mc_mig *mc_mig_find(struct mc_state *st, const char *id);
struct mc_mig *mc_mig_free_slot(struct mc_state *st);	/* NULL: table full */
void mc_mig_release(struct mc_mig *m);			/* wipes its key */
/* An error reply (malloc'ed JSON text) with a formatted message. */
char *mc_mig_err(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Make-before-break: outbound generation g + 1, then g removed; audited either way. */
int mc_mig_rekey(struct mc_state *st, struct mc_mig *m, const char *trigger, const char *by,
		 char *err, size_t errlen);
/*
 * Audit event (with the counters as the caller last read them: mc_refresh()
 * is the caller's, once for many migrations, since every refresh lists
 * every SA of the data plane), remove every SA in one request, wipe the key.
 */
void mc_mig_end(struct mc_state *st, struct mc_mig *m, const char *event, const char *by);

/* mc_mig_sa.c: SAs in the data plane. */
/* Every lane of generation gen of kind k (a bypass rule: one), or none on failure. */
int mc_gen_install(struct mc_state *st, struct mc_mig *m, enum mc_sa_kind k, uint32_t gen,
		   struct mc_gen *g, char *err, size_t errlen);
/* Removes every lane of g; their counters go to the migration's totals. */
void mc_gen_remove(struct mc_state *st, struct mc_mig *m, struct mc_gen *g, bool outbound);
void mc_gen_remove_all(struct mc_state *st, struct mc_mig *m);
uint64_t mc_gen_sum(const struct mc_gen *g, bool bytes);

/* mc_report.c: counters from the data plane and the JSON reports. */
/* Read every SA's counters. Returns the SAs by id, or NULL if the data plane is down. */
json_t *mc_refresh(struct mc_state *st);
json_t *mc_mig_ref(const struct mc_mig *m);	/* {migration, vm} */
json_t *mc_mig_json(const struct mc_state *st, const struct mc_mig *m);
char *mc_report_status(struct mc_state *st, const struct mc_req *r);
char *mc_report_health(struct mc_state *st);

#endif
