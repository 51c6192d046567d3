/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Memory for secrets (mc_secmem.h): OpenSSL's secure heap, wipe-on-free
 * allocators for jansson, no core dumps, the whole process locked in RAM.
 * Set up once by main() of migsec-control and of migsecctl, before any key
 * is read.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/*
 * Beyond the secure heap, a key passes through buffers this code does not
 * own: the TLS record layer's, jansson's, the connection buffer, the stack
 * of HKDF and of the SA spec. Only locking every page keeps all of them out
 * of swap. MCL_FUTURE counts every later mapping against RLIMIT_MEMLOCK as
 * well: a process that may (root) raises the limit first, so that it keeps
 * working after it drops to an unprivileged user. MCL_ONFAULT: a page is
 * locked when first touched; an untouched page holds nothing to protect.
 */
int
mc_secmem_lock(size_t limit_bytes)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < limit_bytes) {
		struct rlimit want = { limit_bytes, rl.rlim_max };

		if (want.rlim_max != RLIM_INFINITY && want.rlim_max < limit_bytes)
			want.rlim_max = limit_bytes;	/* only root may; harmless if refused */
		if (setrlimit(RLIMIT_MEMLOCK, &want) != 0 && rl.rlim_max > rl.rlim_cur) {
			want.rlim_cur = rl.rlim_max;
			want.rlim_max = rl.rlim_max;
			(void)setrlimit(RLIMIT_MEMLOCK, &want);
		}
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0)
		return 0;
	if (errno == EINVAL && mlockall(MCL_CURRENT | MCL_FUTURE) == 0)	/* before Linux 4.4 */
		return 0;
	return -errno;
}

/*
 * After setuid() with PR_SET_KEEPCAPS: of root's capabilities only
 * CAP_IPC_LOCK stays, so that memory locked with MCL_FUTURE may still grow
 * past RLIMIT_MEMLOCK when the limit could not be raised (no
 * CAP_SYS_RESOURCE, as in some containers). Raw capset(2): no libcap.
 */
int
mc_secmem_keep_lock_cap(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	d[0].effective = d[0].permitted = 1u << CAP_IPC_LOCK;
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
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
