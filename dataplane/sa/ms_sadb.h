/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SADB_H
#define MS_SADB_H

/*
 * The SA database. Workers read an immutable snapshot (struct ms_tables:
 * SPI -> SA through rte_ipsec_sad, selectors -> SA through rte_acl, and
 * what the configuration decides for packets no SA takes). The control
 * thread is the only writer: every change builds a new snapshot,
 * publishes it with one release store, waits for an RCU grace period
 * (rte_rcu_qsbr), and only then frees the old snapshot and any SA it
 * removed. Workers never wait, and SAs other than the changed one keep
 * flowing. Workers load the snapshot once per burst and never read the
 * parsed configuration.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_ipsec_sad.h>
#include <rte_rcu_qsbr.h>

#include "ms_route.h"
#include "ms_sa.h"
#include "ms_spd.h"
#include "ms_stats.h"

/*
 * What a selector leads to: one SA, or the lanes of a group (an outbound
 * migration sealed by every worker, worker w with lane w % nb).
 */
struct ms_target {
	uint16_t nb;
	uint16_t pad[3];
	struct ms_sa_rt *rt[MS_LANES_MAX];
};

/*
 * The configuration's part of a snapshot, decided when the snapshot is
 * built (lib/ipsec's choose-at-prepare): what workers do with packets that
 * no SA takes, and the next-hop inputs of both ports.
 */
struct ms_path_rt {
	bool bypass;			/* default policy: bypass (else discard) */
	bool mss_clamp;			/* clamp TCP SYNs to the SA's mss_max */
	rte_be16_t udp_port;		/* ESP-in-UDP destination port */
	struct ms_hop hop[MS_PORT_MAX];	/* by enum ms_port_idx */
	struct ms_remotes remotes;	/* bypass: destination -> peer appliance's next hop */
};

struct ms_tables {
	struct rte_ipsec_sad *sad;	/* inbound SPI -> struct ms_sa_rt * */
	struct ms_spd spd;		/* selector -> slot + 1 into tg[] */
	uint32_t nb_tg;
	struct ms_target *tg;
	uint32_t nb_rt;			/* every SA (listings) */
	struct ms_sa_rt **rt;
	struct ms_path_rt path;
};

struct ms_neigh_entry;

/* Called (control thread) for a new outbound SA: its next hop entry. */
typedef struct ms_neigh_entry *(*ms_nexthop_fn)(void *arg, const struct ms_ip *peer);
/* Called (control thread) for every snapshot: the configuration as it is now. */
typedef int (*ms_path_fn)(void *arg, struct ms_path_rt *path, char *err, unsigned int errlen);

/* What the database asks of its owner. */
struct ms_sadb_ops {
	ms_nexthop_fn nexthop;
	ms_path_fn path;
	void *arg;
};

struct ms_sadb {
	struct ms_tables *cur;		/* published snapshot */
	struct rte_rcu_qsbr *rcu;
	struct ms_sa_env env;
	struct ms_stats *stats;
	uint32_t max_sa;
	uint32_t nb_workers;		/* a lane group needs at least this many lanes */
	uint32_t count;
	struct ms_sa **sa;		/* [max_sa], by counter slot */
	uint64_t gen;			/* snapshot generation, for unique names */
	uint32_t prio_next;
	struct ms_sadb_ops ops;
	uint64_t changes;
};

int ms_sadb_init(struct ms_sadb *db, const struct ms_sa_env *env, struct ms_stats *stats,
		 struct rte_rcu_qsbr *rcu, uint32_t max_sa, const struct ms_sadb_ops *ops);
/*
 * Control thread: build and publish a snapshot of the SAs and of the
 * configuration as ops->path reports it now. At start-up (workers expect
 * a snapshot), and after any change of the configuration: workers see it
 * from their next burst on, like an SA change.
 */
int ms_sadb_publish(struct ms_sadb *db, char *err, unsigned int errlen);
/* Removes every SA (wiping keys) and frees the tables. */
void ms_sadb_fini(struct ms_sadb *db);

/* Control thread only. 0, or -errno with a message. spec->key is not wiped here. */
int ms_sadb_add(struct ms_sadb *db, const struct ms_sa_spec *spec, char *err,
		unsigned int errlen);
/*
 * n SAs at once, all or none, in one snapshot: one build of the tables and
 * one grace period instead of n (a start's lanes and directions).
 */
int ms_sadb_add_batch(struct ms_sadb *db, const struct ms_sa_spec *specs, unsigned int n,
		      char *err, unsigned int errlen);
int ms_sadb_del(struct ms_sadb *db, uint32_t id, char *err, unsigned int errlen);
/*
 * Every SA of ids[0..n) that exists deleted in one snapshot (one build of
 * the tables, one grace period), each key schedule zeroed as by
 * ms_sadb_del; absent[i] says that ids[i] was not there (or listed before).
 * How many were deleted, or -errno with a message (then none was).
 */
int ms_sadb_del_batch(struct ms_sadb *db, const uint32_t *ids, unsigned int n, bool *absent,
		      char *err, unsigned int errlen);
const struct ms_sa *ms_sadb_find(const struct ms_sadb *db, uint32_t id);

/* Delete every SA whose expiry time (unix seconds) has come; how many. */
unsigned int ms_sadb_expire(struct ms_sadb *db, uint64_t now);

/* Workers (and registered RCU readers): the current snapshot. */
static inline const struct ms_tables *
ms_sadb_tables(const struct ms_sadb *db)
{
	return __atomic_load_n(&db->cur, __ATOMIC_ACQUIRE);
}

#endif
