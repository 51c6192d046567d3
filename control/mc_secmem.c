/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory for secrets (mc_secmem.h): OpenSSL's secure heap, wipe-on-free
 * allocators for jansson, no core dumps. Set up once by main() of
 * migsec-control and of migsecctl, before any key is read.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <openssl/crypto.h>

#include "mc_secmem.h"

/*
 * jansson's blocks are plain malloc() blocks (so that a string it returns
 * may be freed with free()), wiped on jansson's free to their usable size.
 */
static void
json_wipe_free(void *p)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

int
mc_secmem_init(size_t heap_bytes)
{
	struct rlimit no_core = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0)
		return -errno;
	json_set_alloc_funcs(malloc, json_wipe_free);
	/* 1: the secure heap exists; 2: it exists but is not mlocked. */
	if (CRYPTO_secure_malloc_init(heap_bytes, 32) != 1)
		return -ENOMEM;
	return 0;
}

void *
mc_secure_zalloc(size_t n)
{
	return OPENSSL_secure_zalloc(n);
}

void
mc_secure_free(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_secure_clear_free(p, n);
}

void
mc_wipe_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}
