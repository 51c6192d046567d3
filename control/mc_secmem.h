/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MC_SECMEM_H
#define MC_SECMEM_H

/*
 * Memory for secrets. One-shot keys and what is derived from them live in
 * OpenSSL's secure heap (mlocked, excluded from core dumps, cleared on
 * free). JSON documents that carried a key in hex are allocated through
 * wipe-on-free functions, so no copy outlives its request.
 */
#include <stddef.h>
#include <stdint.h>

/* Secure heap, JSON allocators, no core dumps. 0 or -errno. */
int mc_secmem_init(size_t heap_bytes);
/*
 * Every page of the process locked in RAM, now and later (mlockall), with
 * RLIMIT_MEMLOCK raised to limit_bytes where allowed. 0 or -errno (ENOMEM,
 * EPERM: the limit is too low and the process lacks CAP_IPC_LOCK).
 */
int mc_secmem_lock(size_t limit_bytes);
/* After a setuid() from root with PR_SET_KEEPCAPS: CAP_IPC_LOCK only. 0 or -errno. */
int mc_secmem_keep_lock_cap(void);

void *mc_secure_zalloc(size_t n);
void mc_secure_free(void *p, size_t n);

/* free() that wipes first, for buffers that held secrets (size known). */
void mc_wipe_free(void *p, size_t n);

#endif
