/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_SA_H
#define MS_SA_H

/*
 * One security association: ESP tunnel mode in UDP (RFC 4303, RFC 3948) with
 * AES-256-GCM-16 (RFC 4106) and 64-bit ESN, built on lib/ipsec.
 *
 * Two records (as in VPP): struct ms_sa_rt is what the workers read, small and
 * immutable after publication except for the inbound window; struct
 * ms_sa is the control thread's record. The key exists only in the spec,
 * which the caller wipes, and inside the crypto session, which
 * rte_cryptodev_sym_session_free() zeroes.
 */
#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ipsec.h>

#include "ms_replay.h"
#include "ms_sa_spec.h"

struct ms_neigh_entry;

/* How a sealed packet's outer checksums are made, decided at install. */
enum ms_outer_ck {
	MS_CK_IP4 = 0,		/* IPv4 header checksum (UDP checksum 0) */
	MS_CK_UDP6,		/* IPv6: UDP checksum in software (RFC 8200 forbids 0) */
	MS_CK_UDP6_OFFLOAD,	/* IPv6: the outer port's NIC computes it */
};

/* Fast-path record. */
struct ms_sa_rt {
	struct rte_ipsec_session ss;	/* lib/ipsec session (cache aligned) */
	uint32_t id;
	uint32_t spi;
	uint32_t slot;			/* index of the SA's counters */
	uint8_t dir;
	uint8_t inner_af;
	uint8_t outer_af;
	uint8_t nb_sel;
	uint16_t max_inner;		/* out: largest inner L3 packet that fits */
	rte_be16_t sport;		/* in: expected outer UDP ports */
	rte_be16_t dport;
	uint16_t mss_max;		/* out: TCP MSS that fits max_inner */
	uint32_t group;			/* out: lane group, 0: none (listings only) */
	uint16_t lane;
	uint8_t outer_ck;		/* out: enum ms_outer_ck */
	uint32_t replay_win;		/* in: configured window (packets) */
	struct ms_replay *replay;	/* in: the window; every worker records in it */
	struct ms_ip local;		/* in: expected outer destination */
	struct ms_ip peer;		/* in: expected outer source */
	struct ms_neigh_entry *nh;	/* out: next hop towards the peer */
	struct ms_sel sel[MS_SA_MAX_SEL];
} __rte_cache_aligned;

/* Control record. */
struct ms_sa {
	struct ms_sa_rt *rt;
	void *crypto_sess;
	uint8_t cdev_id;
	struct ms_sa_spec spec;		/* key and salt zeroed */
	uint64_t created;		/* unix time */
	uint32_t prio;			/* selector priority: newer wins */
};

/* What every SA of this appliance shares. */
struct ms_sa_env {
	uint8_t cdev_id;
	struct rte_mempool *sess_pool;
	struct rte_ether_addr outer_mac;
	uint32_t outer_mtu;
	uint32_t replay_default;
	bool udp_cksum_offload;		/* the outer port computes UDP checksums */
	int socket;
};

/* Offset of the 12-byte GCM nonce inside a crypto op (lib/ipsec writes it). */
#define MS_IV_OFFSET (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))

/* Largest inner L3 length that still fits mtu after ESP-in-UDP (outer af). */
uint32_t ms_sa_max_inner(uint32_t mtu, uint8_t outer_af);

/* Create an SA and its crypto session. Does not wipe spec->key. */
int ms_sa_create(const struct ms_sa_env *env, const struct ms_sa_spec *spec, uint32_t slot,
		 struct ms_sa **out, char *err, unsigned int errlen);
/* Free the session (zeroes the key schedule), the SA, and wipe both records. */
void ms_sa_destroy(struct ms_sa *sa);

#endif
