/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_KDF_H
#define MC_KDF_H

/*
 * Per-direction ESP keys from a migration's one-shot key (HKDF-SHA256,
 * RFC 5869, OpenSSL EVP_KDF). Documented in the README, "Key derivation":
 *
 *   PRK = HKDF-Extract(salt = "migsec-v1" || nonce, IKM = one-shot key)
 *   OKM = HKDF-Expand(PRK, info, 40), info =
 *         "migsec-v1 esp" 0x00 dir 0x00 migration-id 0x00 BE32(generation) BE32(lane)
 *         dir = "s2d" (source to destination) or "d2s"
 *   ESP key = OKM[0..31], salt = OKM[32..35],
 *   SPI = 256 + BE32(OKM[36..39]) mod (2^32 - 256)
 */
#include <stdint.h>

#define MC_KEY_LEN 32
#define MC_NONCE_LEN 8
#define MC_PRK_LEN 32

enum mc_kdir { MC_S2D = 0, MC_D2S = 1 };

struct mc_esp_keys {
	uint8_t key[32];
	uint8_t salt[4];
	uint32_t spi;
};

int mc_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		    uint8_t prk[MC_PRK_LEN]);
int mc_hkdf_expand(const uint8_t prk[MC_PRK_LEN], const uint8_t *info, size_t info_len,
		   uint8_t *out, size_t out_len);

int mc_kdf_prk(const uint8_t key[MC_KEY_LEN], const uint8_t nonce[MC_NONCE_LEN],
	       uint8_t prk[MC_PRK_LEN]);
int mc_kdf_esp(const uint8_t prk[MC_PRK_LEN], const char *mig_id, enum mc_kdir dir,
	       uint32_t generation, uint32_t lane, struct mc_esp_keys *out);

const char *mc_kdir_name(enum mc_kdir d);

#endif
