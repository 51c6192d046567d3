/* SPDX-License-Identifier: BSD-3-Clause */
/* The SPD's exact-match tables (ms_spd_exact.h). Control thread only. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>

#include "ms_spd.h"
#include "ms_spd_exact.h"

int
ms_spd_xkind(const struct ms_spd_rule *r)
{
	const struct ms_sel *s = &r->sel;
	unsigned int full = s->src.ip.af == MS_AF_INET6 ? 128 : 32;
	bool sany = s->sport_lo == 0 && s->sport_hi == UINT16_MAX;
	bool dany = s->dport_lo == 0 && s->dport_hi == UINT16_MAX;

	if (s->src.len != full || s->dst.len != full)
		return -1;
	if (s->proto == 0 && (r->frag || (sany && dany)))
		return MS_SPD_X_ANY;
	if (r->frag || (sany && dany))
		return MS_SPD_X_PROTO;
	if (s->proto != IPPROTO_TCP && s->proto != IPPROTO_UDP)
		return -1;
	if (sany && !dany && s->dport_lo == s->dport_hi)
		return MS_SPD_X_DPORT;
	if (dany && !sany && s->sport_lo == s->sport_hi)
		return MS_SPD_X_SPORT;
	return -1;
}

/* r's key in a table of kind x: its length. */
static uint32_t
rule_key(const struct ms_spd_rule *r, enum ms_spd_xkind x, uint8_t *key)
{
	bool v6 = r->sel.src.ip.af == MS_AF_INET6;
	uint32_t alen = v6 ? 16 : 4;
	uint16_t port;

	memset(key, 0, sizeof(struct ms_spd_xkey6));
	memcpy(key, v6 ? (const void *)r->sel.src.ip.v6 : &r->sel.src.ip.v4, alen);
	memcpy(key + alen, v6 ? (const void *)r->sel.dst.ip.v6 : &r->sel.dst.ip.v4, alen);
	if (x == MS_SPD_X_ANY)
		return 2 * alen;
	port = x == MS_SPD_X_PROTO ? 0 :
	       rte_cpu_to_be_16(x == MS_SPD_X_DPORT ? r->sel.dport_lo : r->sel.sport_lo);
	memcpy(key + 2 * alen, &port, 2);
	key[2 * alen + 2] = r->sel.proto;
	return v6 ? sizeof(struct ms_spd_xkey6) : sizeof(struct ms_spd_xkey4);
}

/*
 * rte_hash_crc reads the key 8 bytes at a time, but an ANY key lies at
 * offset 4 of the flow key (MS_SPD_EXACT_OFF): hash an aligned copy. Keys
 * are 8, 12, 32 or 36 bytes.
 */
static uint32_t
exact_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t k[5];

	memcpy(k, key, len <= sizeof(k) ? len : sizeof(k));
	return rte_hash_crc(k, len <= sizeof(k) ? len : sizeof(k), init);
}

/* Adds r unless a rule of higher priority already holds its key. */
static int
exact_add(struct rte_hash *h, const struct ms_spd_rule *r, enum ms_spd_xkind x, char *err,
	  unsigned int errlen)
{
	uint8_t key[sizeof(struct ms_spd_xkey6)];
	void *old;
	int rc;

	rule_key(r, x, key);
	if (rte_hash_lookup_data(h, key, &old) >= 0 &&
	    (uint32_t)((uint64_t)(uintptr_t)old >> 32) >= r->priority)
		return 0;
	rc = rte_hash_add_key_data(h, key, (void *)(uintptr_t)((uint64_t)r->priority << 32 |
								r->userdata));
	if (rc != 0)
		snprintf(err, errlen, "rte_hash_add_key_data failed: %s", strerror(-rc));
	return rc;
}

int
ms_spd_exact_build(struct rte_hash **h, enum ms_spd_xkind x, int t, const char *name,
		   const struct ms_spd_rule *rules, unsigned int n, int socket, char *err,
		   unsigned int errlen)
{
	bool v6 = t == MS_SPD_OUT6 || t == MS_SPD_IN6 || t == MS_SPD_FRAG6;
	static const uint32_t klen[2][MS_SPD_X_MAX] = {
		{ 8, sizeof(struct ms_spd_xkey4), sizeof(struct ms_spd_xkey4),
		  sizeof(struct ms_spd_xkey4) },
		{ 32, sizeof(struct ms_spd_xkey6), sizeof(struct ms_spd_xkey6),
		  sizeof(struct ms_spd_xkey6) },
	};
	struct rte_hash_parameters hp = { 0 };
	char hname[RTE_HASH_NAMESIZE];
	unsigned int count = 0;
	int rc = 0;

	*h = NULL;
	for (unsigned int i = 0; i < n; i++)
		count += ms_spd_table_of(&rules[i]) == t && ms_spd_xkind(&rules[i]) == (int)x;
	if (count == 0)
		return 0;
	snprintf(hname, sizeof(hname), "%s_x%d%d", name, t, (int)x);
	hp.name = hname;
	/* Room for every key whatever the cuckoo buckets make of them: a
	 * half-empty table and overflow buckets. */
	hp.entries = RTE_MAX(2 * count, 16u);
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	hp.key_len = klen[v6][x];
	hp.hash_func = exact_hash;
	hp.socket_id = socket;
	*h = rte_hash_create(&hp);
	if (*h == NULL) {
		snprintf(err, errlen, "rte_hash_create(%s) failed: %s", hname,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned int i = 0; rc == 0 && i < n; i++)
		if (ms_spd_table_of(&rules[i]) == t && ms_spd_xkind(&rules[i]) == (int)x)
			rc = exact_add(*h, &rules[i], x, err, errlen);
	return rc;
}
