/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * HKDF-SHA256 from a migration's one-shot key to each SA's ESP key, salt
 * and SPI (the derivation is in mc_kdf.h). Used by migsec-control's one
 * thread; its salt and output buffers are wiped.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "mc_kdf.h"

#define LABEL "migsec-v1"
#define INFO_MAX 256

static int
hkdf(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt, size_t salt_len,
     const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM p[6], *q = p;
	int rc = -EINVAL;

	if (ctx == NULL)
		goto out;
	*q++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)key, key_len);
	if (salt != NULL)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)(uintptr_t)salt, salt_len);
	if (info != NULL)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
							 (void *)(uintptr_t)info, info_len);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, p) == 1)
		rc = 0;
out:
	EVP_KDF_CTX_free(ctx);	/* clears its copies of key and info */
	EVP_KDF_free(kdf);
	return rc;
}

int
mc_hkdf_extract(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		uint8_t prk[MC_PRK_LEN])
{
	return hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt, salt_len, NULL, 0, prk,
		    MC_PRK_LEN);
}

int
mc_hkdf_expand(const uint8_t prk[MC_PRK_LEN], const uint8_t *info, size_t info_len, uint8_t *out,
	       size_t out_len)
{
	return hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, MC_PRK_LEN, NULL, 0, info, info_len, out,
		    out_len);
}

int
mc_kdf_prk(const uint8_t key[MC_KEY_LEN], const uint8_t nonce[MC_NONCE_LEN],
	   uint8_t prk[MC_PRK_LEN])
{
	uint8_t salt[sizeof(LABEL) - 1 + MC_NONCE_LEN];
	int rc;

	memcpy(salt, LABEL, sizeof(LABEL) - 1);
	memcpy(salt + sizeof(LABEL) - 1, nonce, MC_NONCE_LEN);
	rc = mc_hkdf_extract(salt, sizeof(salt), key, MC_KEY_LEN, prk);
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc;
}

const char *
mc_kdir_name(enum mc_kdir d)
{
	return d == MC_S2D ? "s2d" : "d2s";
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
mc_kdf_esp(const uint8_t prk[MC_PRK_LEN], const char *mig_id, enum mc_kdir dir,
	   uint32_t generation, uint32_t lane, struct mc_esp_keys *out)
{
	static const char esp[] = LABEL " esp";
	uint8_t info[INFO_MAX], okm[40];
	size_t n = 0, idlen = strlen(mig_id);
	uint32_t raw;
	int rc;

	if (idlen + sizeof(esp) + 16 > sizeof(info))
		return -EINVAL;
	memcpy(info + n, esp, sizeof(esp));		/* with its 0x00 */
	n += sizeof(esp);
	memcpy(info + n, mc_kdir_name(dir), 3);
	n += 3;
	info[n++] = 0;
	memcpy(info + n, mig_id, idlen);
	n += idlen;
	info[n++] = 0;
	be32(info + n, generation);
	n += 4;
	be32(info + n, lane);
	n += 4;
	rc = mc_hkdf_expand(prk, info, n, okm, sizeof(okm));
	if (rc == 0) {
		memcpy(out->key, okm, 32);
		memcpy(out->salt, okm + 32, 4);
		raw = (uint32_t)okm[36] << 24 | (uint32_t)okm[37] << 16 | (uint32_t)okm[38] << 8 | okm[39];
		out->spi = 256 + raw % (UINT32_MAX - 255);
	}
	OPENSSL_cleanse(okm, sizeof(okm));
	return rc;
}
