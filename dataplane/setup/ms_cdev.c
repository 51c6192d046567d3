/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "ms_cdev.h"
#include "ms_failover.h"
#include "ms_sa.h"

#define QP_DESC 2048

static const char *const role_name[] = { "fail-over primary: ", "fail-over secondary: " };

int
ms_cdev_check_caps(uint8_t dev_id, char *err, unsigned int errlen)
{
	struct rte_cryptodev_sym_capability_idx idx = {
		.type = RTE_CRYPTO_SYM_XFORM_AEAD,
		.algo.aead = RTE_CRYPTO_AEAD_AES_GCM,
	};
	const struct rte_cryptodev_symmetric_capability *cap;
	const char *name = rte_cryptodev_name_get(dev_id);

	cap = rte_cryptodev_sym_capability_get(dev_id, &idx);
	if (cap == NULL) {
		snprintf(err, errlen, "crypto device %s does not offer AES-GCM", name);
		return -ENOTSUP;
	}
	/* ESP with ESN needs 12 bytes of AAD, without ESN 8 (RFC 4106 section 5). */
	if (rte_cryptodev_sym_capability_check_aead(cap, MS_KEY_LEN, MS_ICV_LEN, 12, 12) != 0 ||
	    rte_cryptodev_sym_capability_check_aead(cap, MS_KEY_LEN, MS_ICV_LEN, 8, 12) != 0) {
		snprintf(err, errlen, "crypto device %s offers AES-GCM but not with a 256-bit key, "
			 "16-byte ICV, 12-byte IV and 8/12-byte AAD as ESP needs", name);
		return -ENOTSUP;
	}
	return 0;
}

static int
missing(const struct ms_cdev_desc *d, const char *role, char *err, unsigned int errlen)
{
	char pci[MS_DEV_MAX + 16] = "";

	if (d->pci[0])
		snprintf(pci, sizeof(pci), " (PCI %s)", d->pci);
	snprintf(err, errlen, "%scrypto profile %s (%s): device %s%s is not present.%s%s%s", role,
		 d->profile, d->file, d->device, pci, d->hint[0] ? " " : "", d->hint,
		 d->hugepages && !rte_eal_has_hugepages() ? " This process runs without hugepages "
		 "(eal.hugepages), and this device needs them." : "");
	return -ENODEV;
}

/* Find a profile's device and check it offers what the workers need. */
static int
check_dev(const struct ms_cdev_desc *d, const char *role, uint16_t nb_qp, uint8_t *dev_id,
	  char *err, unsigned int errlen)
{
	struct rte_cryptodev_info info;
	char why[256];
	int id, rc;

	id = rte_cryptodev_get_dev_id(d->device);
	if (id < 0)
		return missing(d, role, err, errlen);
	*dev_id = (uint8_t)id;
	rte_cryptodev_info_get(*dev_id, &info);
	if (strcmp(info.driver_name, d->driver) != 0) {
		snprintf(err, errlen, "%scrypto profile %s (%s): device %s is driven by %s, the "
			 "profile expects %s; fix profile.device or profile.driver", role,
			 d->profile, d->file, d->device, info.driver_name, d->driver);
		return -ENODEV;
	}
	rc = ms_cdev_check_caps(*dev_id, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "%scrypto profile %s: %s; choose a crypto.profile whose "
			 "device does (aesni_gcm, openssl, qat)", role, d->profile, why);
		return rc;
	}
	if (info.max_nb_queue_pairs < nb_qp) {
		snprintf(err, errlen, "%scrypto profile %s: device %s has %u queue pairs, %u "
			 "workers need one each; use fewer workers (eal.lcores)%s%s", role,
			 d->profile, d->device, info.max_nb_queue_pairs, nb_qp,
			 d->qp_hint[0] ? " or " : "", d->qp_hint);
		return -ENOSPC;
	}
	return 0;
}

static int
open_devices(const struct ms_profile *p, uint16_t nb_qp, struct ms_cdev *cd, char *err,
	     unsigned int errlen)
{
	int rc;

	if (p->failover) {
		for (int m = 0; m < MS_MEMBERS; m++) {
			rc = check_dev(&p->member[m], role_name[m], nb_qp, &cd->member_id[m], err,
				       errlen);
			if (rc != 0)
				return rc;
		}
		if (rte_cryptodev_get_dev_id(p->dev.device) < 0)
			return missing(&p->dev, "", err, errlen);
		cd->dev_id = (uint8_t)rte_cryptodev_get_dev_id(p->dev.device);
		rc = ms_failover_attach(p, cd, err, errlen);
		if (rc != 0)
			return rc;
		cd->failover = true;
	}
	/* A scheduler offers what all its members offer: checked again. */
	rc = check_dev(&p->dev, "", nb_qp, &cd->dev_id, err, errlen);
	if (rc != 0 && cd->failover)
		ms_failover_detach(cd);	/* else the EAL's clean-up would trip on them */
	return rc;
}

static int
make_pools(const struct ms_profile *p, uint32_t sessions, uint32_t ops, int socket,
	   struct ms_cdev *cd, char *err, unsigned int errlen)
{
	/* A scheduler session holds one session per member, from the same pool. */
	uint32_t nb_sess = cd->failover ? sessions * (1 + MS_MEMBERS) : sessions;
	char name[64];

	snprintf(name, sizeof(name), "ms_sess_%u", cd->dev_id);
	cd->sess_pool = rte_cryptodev_sym_session_pool_create(name, nb_sess,
		rte_cryptodev_sym_get_private_session_size(cd->dev_id), 0, 0, socket);
	snprintf(name, sizeof(name), "ms_cop_%u", cd->dev_id);
	cd->op_pool = rte_crypto_op_pool_create(name, RTE_CRYPTO_OP_TYPE_SYMMETRIC, ops,
						RTE_MIN(256u, ops / 4),
						16 /* GCM nonce */, socket);
	if (cd->sess_pool == NULL || cd->op_pool == NULL) {
		snprintf(err, errlen, "crypto device %s: cannot allocate session/op pools (%s); "
			 "more memory (eal.memory_mb) or fewer crypto.sessions", p->dev.device,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

int
ms_cdev_setup(const struct ms_profile *p, uint16_t nb_qp, uint32_t sessions, uint32_t ops,
	      int socket, struct ms_cdev *cd, char *err, unsigned int errlen)
{
	struct rte_cryptodev_config cfg = { 0 };
	struct rte_cryptodev_qp_conf qp = { 0 };
	const char *dev = p->dev.device;
	int rc;

	memset(cd, 0, sizeof(*cd));
	rc = open_devices(p, nb_qp, cd, err, errlen);
	if (rc != 0)
		return rc;
	cfg.socket_id = socket;
	cfg.nb_queue_pairs = nb_qp;
	cfg.ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | RTE_CRYPTODEV_FF_SECURITY;
	rc = rte_cryptodev_configure(cd->dev_id, &cfg);
	if (rc != 0) {
		snprintf(err, errlen, "crypto device %s: configure failed: %s", dev, strerror(-rc));
		ms_cdev_close(cd);
		return rc;
	}
	rc = make_pools(p, sessions, ops, socket, cd, err, errlen);
	if (rc != 0) {
		ms_cdev_close(cd);
		return rc;
	}
	qp.nb_descriptors = QP_DESC;
	qp.mp_session = cd->sess_pool;
	for (uint16_t q = 0; q < nb_qp; q++) {
		rc = rte_cryptodev_queue_pair_setup(cd->dev_id, q, &qp, socket);
		if (rc != 0) {
			snprintf(err, errlen, "crypto device %s: queue pair %u: %s", dev, q,
				 strerror(-rc));
			ms_cdev_close(cd);
			return rc;
		}
	}
	rc = rte_cryptodev_start(cd->dev_id);
	if (rc != 0) {
		snprintf(err, errlen, "crypto device %s: start failed: %s", dev, strerror(-rc));
		ms_cdev_close(cd);
		return rc;
	}
	cd->nb_qp = nb_qp;
	return 0;
}

/* lib/ipsec writes salt || IV into each op's IV area (ms_sa.h, MS_IV_OFFSET). */
static void
op_iv_wipe(struct rte_mempool *mp, void *arg, void *obj, unsigned int idx)
{
	RTE_SET_USED(mp);
	RTE_SET_USED(arg);
	RTE_SET_USED(idx);
	explicit_bzero((uint8_t *)obj + MS_IV_OFFSET, 16);
}

/* Workers stopped: every op is back in the pool, and none is touched again. */
void
ms_cdev_close(struct ms_cdev *cd)
{
	rte_cryptodev_stop(cd->dev_id);
	if (cd->failover)
		ms_failover_detach(cd);
	rte_cryptodev_close(cd->dev_id);
	if (cd->op_pool != NULL)
		rte_mempool_obj_iter(cd->op_pool, op_iv_wipe, NULL);	/* the last salts */
	rte_mempool_free(cd->op_pool);
	rte_mempool_free(cd->sess_pool);
	cd->op_pool = cd->sess_pool = NULL;
}
