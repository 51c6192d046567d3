/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cryptodev.h>
#include <rte_ip.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "ms_replay.h"
#include "ms_sa.h"

#define OUTER_TTL 64
#define ESP_FIXED (8 /* UDP */ + 8 /* ESP header */ + 8 /* IV */ + MS_ICV_LEN)

uint32_t
ms_sa_max_inner(uint32_t mtu, uint8_t outer_af)
{
	uint32_t hdr = outer_af == MS_AF_INET6 ? 40 : 20;

	if (mtu < hdr + ESP_FIXED + 8)
		return 0;
	/* ciphertext = align4(inner + 2-byte trailer) */
	return ((mtu - hdr - ESP_FIXED) & ~3u) - 2;
}

/* Ethernet + outer IP header template; lib/ipsec appends the UDP header. */
static unsigned int
build_template(const struct ms_sa_env *env, const struct ms_sa_spec *s, uint8_t *hdr)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)hdr;

	memset(hdr, 0, 64);
	rte_ether_addr_copy(&env->outer_mac, &eth->src_addr);
	if (s->local.af == MS_AF_INET) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = OUTER_TTL;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = s->local.v4;
		ip->dst_addr = s->peer.v4;
		return sizeof(*eth) + sizeof(*ip);
	} else {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->proto = IPPROTO_UDP;
		ip->hop_limits = OUTER_TTL;
		memcpy(ip->src_addr, s->local.v6, 16);
		memcpy(ip->dst_addr, s->peer.v6, 16);
		return sizeof(*eth) + sizeof(*ip);
	}
}

static void
fill_prm(const struct ms_sa_env *env, const struct ms_sa_spec *s,
	 struct rte_crypto_sym_xform *xf, uint8_t *hdr, struct rte_ipsec_sa_prm *prm)
{
	memset(xf, 0, sizeof(*xf));
	xf->type = RTE_CRYPTO_SYM_XFORM_AEAD;
	xf->aead.op = s->dir == MS_DIR_OUT ? RTE_CRYPTO_AEAD_OP_ENCRYPT
					    : RTE_CRYPTO_AEAD_OP_DECRYPT;
	xf->aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
	xf->aead.key.data = s->key;
	xf->aead.key.length = MS_KEY_LEN;
	xf->aead.iv.offset = MS_IV_OFFSET;
	xf->aead.iv.length = 12;
	xf->aead.digest_length = MS_ICV_LEN;
	xf->aead.aad_length = 12;	/* SPI + 64-bit ESN (RFC 4106 section 5), both directions */

	memset(prm, 0, sizeof(*prm));
	prm->userdata = s->id;
	/*
	 * A lane of a group is sealed by one worker only: plain sequence
	 * numbers. An outbound SA outside a group may be used by every worker:
	 * atomic. An inbound SA is opened by whichever worker receives its
	 * packets; without ESN and window (below) lib/ipsec keeps no state of
	 * it but its own statistics, which migsec does not read, and the
	 * window is migsec's lock-free one (ms_replay.h).
	 */
	prm->flags = s->dir == MS_DIR_OUT && s->group == 0 ? RTE_IPSEC_SAFLAG_SQN_ATOM : 0;
	prm->crypto_xform = xf;
	prm->ipsec_xform.spi = s->spi;
	memcpy(&prm->ipsec_xform.salt, s->salt, MS_SALT_LEN);
	prm->ipsec_xform.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
	prm->ipsec_xform.mode = RTE_SECURITY_IPSEC_SA_MODE_TUNNEL;
	prm->ipsec_xform.direction = s->dir == MS_DIR_OUT ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS
							   : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
	/* Inbound ESN and anti-replay are migsec's own: see ms_replay.h. */
	prm->ipsec_xform.options.esn = s->dir == MS_DIR_OUT;
	/*
	 * Only outbound SAs say udp_encap: lib/ipsec (22.11 and later) then adds
	 * the UDP header from the template. For an inbound SA the flag makes
	 * rte_ipsec_sa_init() skip the inbound set-up entirely (its switch has
	 * no NAT-T inbound case), and every packet fails. Inbound needs no flag:
	 * the caller counts the UDP header into l3_len (ms_inbound.c).
	 */
	prm->ipsec_xform.options.udp_encap = s->dir == MS_DIR_OUT;
	prm->ipsec_xform.replay_win_sz = 0;
	/* out: the first sequence number sent */
	prm->ipsec_xform.esn.value = s->dir == MS_DIR_OUT ? s->seq_start : 0;
	prm->ipsec_xform.udp.sport = s->sport;
	prm->ipsec_xform.udp.dport = s->dport;
	prm->ipsec_xform.tunnel.type = s->local.af == MS_AF_INET ? RTE_SECURITY_IPSEC_TUNNEL_IPV4
								  : RTE_SECURITY_IPSEC_TUNNEL_IPV6;
	prm->tun.next_proto = s->inner_af == MS_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	prm->tun.hdr_l3_off = RTE_ETHER_HDR_LEN;
	prm->tun.hdr_len = (uint8_t)build_template(env, s, hdr);
	prm->tun.hdr = hdr;
}

static void
fill_rt(const struct ms_sa_env *env, const struct ms_sa_spec *s, uint32_t slot,
	struct ms_sa_rt *rt)
{
	rt->id = s->id;
	rt->spi = s->spi;
	rt->slot = slot;
	rt->dir = s->dir;
	rt->inner_af = s->inner_af;
	rt->outer_af = s->local.af;
	rt->nb_sel = s->nb_sel;
	rt->max_inner = (uint16_t)ms_sa_max_inner(env->outer_mtu, s->local.af);
	rt->mss_max = (uint16_t)(rt->max_inner - (s->inner_af == MS_AF_INET ? 40 : 60));
	if (s->local.af == MS_AF_INET)
		rt->outer_ck = MS_CK_IP4;
	else
		rt->outer_ck = env->udp_cksum_offload ? MS_CK_UDP6_OFFLOAD : MS_CK_UDP6;
	rt->sport = rte_cpu_to_be_16(s->sport);
	rt->dport = rte_cpu_to_be_16(s->dport);
	rt->group = s->group;
	rt->lane = s->lane;
	rt->replay_win = s->replay_window ? s->replay_window : env->replay_default;
	rt->local = s->local;
	rt->peer = s->peer;
	memcpy(rt->sel, s->sel, sizeof(rt->sel));
}

/* rt's lib/ipsec SA, from prm. */
static int
ipsec_sa_init(const struct ms_sa_env *env, const struct rte_ipsec_sa_prm *prm,
	      struct ms_sa_rt *rt, char *err, unsigned int errlen)
{
	int sz = rte_ipsec_sa_size(prm), rc;

	if (sz < 0) {
		snprintf(err, errlen, "lib/ipsec rejects the SA parameters: %s", strerror(-sz));
		return sz;
	}
	rt->ss.sa = rte_zmalloc_socket("ms_ipsec_sa", (size_t)sz, RTE_CACHE_LINE_SIZE, env->socket);
	if (rt->ss.sa == NULL) {
		snprintf(err, errlen, "out of memory creating the SA");
		return -ENOMEM;
	}
	rc = rte_ipsec_sa_init(rt->ss.sa, prm, (uint32_t)sz);
	if (rc < 0) {
		snprintf(err, errlen, "rte_ipsec_sa_init failed: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* The crypto session (it copies the key), bound to the lib/ipsec session. */
static int
crypto_session(const struct ms_sa_env *env, struct rte_crypto_sym_xform *xf, struct ms_sa *sa,
	       char *err, unsigned int errlen)
{
	int rc;

	sa->crypto_sess = rte_cryptodev_sym_session_create(env->cdev_id, xf, env->sess_pool);
	if (sa->crypto_sess == NULL) {
		snprintf(err, errlen, "crypto session create failed: %s (session pool exhausted?)",
			 rte_strerror(rte_errno));
		return -ENOSPC;
	}
	sa->cdev_id = env->cdev_id;
	sa->rt->ss.type = RTE_SECURITY_ACTION_TYPE_NONE;
	sa->rt->ss.crypto.ses = sa->crypto_sess;
	sa->rt->ss.crypto.dev_id = env->cdev_id;
	rc = rte_ipsec_session_prepare(&sa->rt->ss);
	if (rc != 0) {
		snprintf(err, errlen, "rte_ipsec_session_prepare failed: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* ESP for a sealing or opening SA; the key and salt leave only copies in the device. */
static int
esp_setup(const struct ms_sa_env *env, const struct ms_sa_spec *spec, struct ms_sa *sa,
	  char *err, unsigned int errlen)
{
	struct rte_crypto_sym_xform xf;
	struct rte_ipsec_sa_prm prm;
	uint8_t hdr[64];
	int rc;

	fill_prm(env, spec, &xf, hdr, &prm);
	rc = ipsec_sa_init(env, &prm, sa->rt, err, errlen);
	if (rc == 0)
		rc = crypto_session(env, &xf, sa, err, errlen);
	explicit_bzero(&xf, sizeof(xf));	/* only held a pointer, but be sure */
	explicit_bzero(&prm, sizeof(prm));	/* held the salt */
	return rc;
}

int
ms_sa_create(const struct ms_sa_env *env, const struct ms_sa_spec *spec, uint32_t slot,
	     struct ms_sa **out, char *err, unsigned int errlen)
{
	struct ms_sa *sa;
	int rc;

	rc = ms_sa_spec_check(spec, err, errlen);
	if (rc != 0)
		return rc;
	sa = rte_zmalloc_socket("ms_sa", sizeof(*sa), 0, env->socket);
	if (sa == NULL)
		goto nomem;
	sa->rt = rte_zmalloc_socket("ms_sa_rt", sizeof(*sa->rt), RTE_CACHE_LINE_SIZE, env->socket);
	if (sa->rt == NULL)
		goto nomem;
	/* A bypass SA is a policy rule: no ESP, no key. */
	if (spec->dir != MS_DIR_BYPASS && (rc = esp_setup(env, spec, sa, err, errlen)) != 0)
		goto fail;
	fill_rt(env, spec, slot, sa->rt);
	if (spec->dir == MS_DIR_IN) {
		sa->rt->replay = rte_zmalloc_socket("ms_replay", sizeof(*sa->rt->replay),
						    RTE_CACHE_LINE_SIZE, env->socket);
		if (sa->rt->replay == NULL)
			goto nomem;
		ms_replay_init(sa->rt->replay, spec->seq_start - 1);	/* nothing seen yet */
	}
	sa->spec = *spec;
	explicit_bzero(sa->spec.key, sizeof(sa->spec.key));
	explicit_bzero(sa->spec.salt, sizeof(sa->spec.salt));
	sa->created = (uint64_t)time(NULL);
	*out = sa;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory creating the SA");
	rc = -ENOMEM;
fail:
	ms_sa_destroy(sa);
	return rc;
}

void
ms_sa_destroy(struct ms_sa *sa)
{
	if (sa == NULL)
		return;
	if (sa->crypto_sess != NULL)
		rte_cryptodev_sym_session_free(sa->cdev_id, sa->crypto_sess);
	if (sa->rt != NULL) {
		if (sa->rt->ss.sa != NULL) {
			rte_ipsec_sa_fini(sa->rt->ss.sa);	/* zeroes salt and state */
			rte_free(sa->rt->ss.sa);
		}
		rte_free(sa->rt->replay);
		explicit_bzero(sa->rt, sizeof(*sa->rt));
		rte_free(sa->rt);
	}
	explicit_bzero(sa, sizeof(*sa));
	rte_free(sa);
}
