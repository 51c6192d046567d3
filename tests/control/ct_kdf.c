/* SPDX-License-Identifier: BSD-3-Clause */
/* HKDF-SHA256: RFC 5869 test cases 1-3, then migsec's own derivation pinned
 * with vectors computed independently (Python cryptography, the recipe in docs/management.md). */
#include <string.h>

#include "ct.h"
#include "mc_kdf.h"
#include "tl.h"

static void
seq_bytes(uint8_t *b, unsigned int from, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(from + i);
}

static void
check(const uint8_t *salt, size_t sl, const uint8_t *ikm, size_t il, const uint8_t *info, size_t fl,
      const char *prk_hex, const char *okm_hex)
{
	uint8_t prk[32], okm[82], want[82];
	size_t n = tl_unhex(okm_hex, want);

	CU_ASSERT_EQUAL_FATAL(mc_hkdf_extract(salt, sl, ikm, il, prk), 0);
	tl_unhex(prk_hex, want + 0);
	CU_ASSERT_EQUAL(memcmp(prk, want, 32), 0);
	n = tl_unhex(okm_hex, want);
	CU_ASSERT_EQUAL_FATAL(mc_hkdf_expand(prk, info, fl, okm, n), 0);
	CU_ASSERT_EQUAL(memcmp(okm, want, n), 0);
}

static void
test_rfc5869(void)
{
	uint8_t ikm[80], salt[80], info[80];

	memset(ikm, 0x0b, 22);
	seq_bytes(salt, 0, 13);
	seq_bytes(info, 0xf0, 10);
	check(salt, 13, ikm, 22, info, 10,
	      "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	      "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
	seq_bytes(ikm, 0, 80);
	seq_bytes(salt, 0x60, 80);
	seq_bytes(info, 0xb0, 80);
	check(salt, 80, ikm, 80, info, 80,
	      "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
	      "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
	memset(ikm, 0x0b, 22);
	check(NULL, 0, ikm, 22, NULL, 0,
	      "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

static void
test_migsec_vectors(void)
{
	static const struct {
		enum mc_kdir dir;
		uint32_t gen;
		const char *key, *salt;
		uint32_t spi;
	} v[] = {
		{ MC_S2D, 0, "07b54731685384be8718b388924c3f5a98d8de3f3e478cbd60fe971c90b394c7", "4043912f", 0x54fbec05 },
		{ MC_S2D, 1, "d834f7d1cdb634a7859e9c1571e0bee9b880dd19552d97f931637c5c3ff03e2c", "d5e13a83", 0x0ca0c37a },
		{ MC_D2S, 0, "8c58acead45b316c7aa3a17816e0bf635f576ba15f7995221c749e7e90c5a89b", "fb537bf2", 0xfb04d074 },
		{ MC_D2S, 1, "b0f5769cb34c56a203cd833198d3b6a8ecc538803c7bc706d728591323ed88ef", "bbb6a0e4", 0x83838013 },
	};
	uint8_t key[32], nonce[8], prk[32], want[32];
	struct mc_esp_keys k;

	seq_bytes(key, 0, 32);
	seq_bytes(nonce, 0xa0, 8);
	CU_ASSERT_EQUAL_FATAL(mc_kdf_prk(key, nonce, prk), 0);
	tl_unhex("085a1b03d08b200ab811afad2dff96c1f2755ff47af7d85d94a53c5fec052d8c", want);
	CU_ASSERT_EQUAL(memcmp(prk, want, 32), 0);
	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CU_ASSERT_EQUAL_FATAL(mc_kdf_esp(prk, "mig-1", v[i].dir, v[i].gen, 0, &k), 0);
		tl_unhex(v[i].key, want);
		CU_ASSERT_EQUAL(memcmp(k.key, want, 32), 0);
		tl_unhex(v[i].salt, want);
		CU_ASSERT_EQUAL(memcmp(k.salt, want, 4), 0);
		CU_ASSERT_EQUAL(k.spi, v[i].spi);
	}
	/* Another migration id, lane or nonce: other keys. */
	CU_ASSERT_EQUAL(mc_kdf_esp(prk, "mig-2", MC_S2D, 0, 0, &k), 0);
	tl_unhex(v[0].key, want);
	CU_ASSERT_NOT_EQUAL(memcmp(k.key, want, 32), 0);
	CU_ASSERT_EQUAL(mc_kdf_esp(prk, "mig-1", MC_S2D, 0, 1, &k), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(k.key, want, 32), 0);
}

static const CU_TestInfo tests[] = {
	{ "RFC 5869 test cases 1-3 (SHA-256)", test_rfc5869 },
	{ "migsec key derivation vectors", test_migsec_vectors },
	CU_TEST_INFO_NULL,
};

void
ct_suite_kdf(void)
{
	tl_add_tests(CU_add_suite("kdf", NULL, NULL), tests);
}
