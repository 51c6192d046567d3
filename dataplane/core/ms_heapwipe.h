/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_HEAPWIPE_H
#define MS_HEAPWIPE_H

/*
 * libcrypto's heap, wiped on free. The openssl crypto device (and any
 * OpenSSL code in the process) keeps AES key schedules in blocks it
 * allocates and frees itself, some without clearing them: after an SA is
 * gone its key could still sit in freed heap memory. Every block libcrypto
 * frees, or moves in a realloc, is zeroed first (malloc_usable_size bytes).
 * Call first thing in main, before anything allocates through libcrypto:
 * 0, or -1 if it was too late (OpenSSL refuses the change then).
 */
int ms_heapwipe_init(void);

#endif
