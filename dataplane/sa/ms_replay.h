/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_REPLAY_H
#define MS_REPLAY_H

/*
 * Inbound extended sequence numbers and the anti-replay window (RFC 4303
 * 3.4.3 and appendix A, bitmap as in RFC 6479): migsec's own.
 *
 * lib/ipsec (22.11, and upstream as of 2026) cannot be trusted with them:
 *  - esn_inb_update_sqn() computes the window bit as a 64-bit value but
 *    stores it in a uint32_t, so a sequence number whose low six bits are
 *    32..63 is never recorded and its replay is accepted;
 *  - it reconstructs the high 32 bits twice, for the AAD when the packet is
 *    prepared and again for the window after decryption, against a window
 *    top that newer packets of the same burst (or in flight) have moved. An
 *    authentic old packet then passes the ICV as seq and enters the window
 *    as 2^32 + seq, which accepts the replay and wedges the window;
 *  - it keeps exactly win/64 bitmap words while accepting down to top - win,
 *    so the oldest word aliases the newest.
 * So inbound SAs run lib/ipsec without ESN and without a window. migsec
 * reconstructs the 64-bit number once, before the crypto device sees the
 * packet, writes it into the RFC 4106 AAD itself (ms_inbound.c), and after
 * the ICV verified records exactly that number here. Single writer: the
 * SA's owner worker. The unit tests check the window against a naive
 * reference, across the 2^32 wrap.
 */
#include <stdbool.h>
#include <stdint.h>

#define MS_REPLAY_WORD 64
#define MS_REPLAY_WIN_MAX 4096
#define MS_REPLAY_WORDS 128	/* power of two, > MS_REPLAY_WIN_MAX / 64 + 1 */

struct ms_replay {
	uint64_t top;			/* highest sequence number accepted */
	uint64_t bits[MS_REPLAY_WORDS];	/* bit s % 64 of word (s / 64) % WORDS */
};

enum ms_replay_verdict { MS_REPLAY_OK = 0, MS_REPLAY_DUP, MS_REPLAY_OLD };

/*
 * The 64-bit sequence number of a received low half: the one nearest the
 * window top. RFC 4303 appendix A2.1 reads a number below the window as
 * belonging to the next 2^32 subspace, to be rejected by the ICV; reading
 * it as the old number it almost surely is gets the same drop, counted as
 * outside_window, without spending the crypto device on it. A sender can
 * only be more than 2^31 ahead after losing two billion packets.
 */
static inline uint64_t
ms_replay_esn(uint64_t top, uint32_t seq)
{
	uint32_t ahead = seq - (uint32_t)top;

	if (ahead < (1u << 31))
		return top + ahead;
	return (uint64_t)(uint32_t)-ahead > top ? 0 : top - (uint32_t)-ahead;
}

/* Outside [top - win + 1, top] from below (or the never-valid 0)? */
static inline bool
ms_replay_too_old(uint64_t top, uint64_t sqn, uint32_t win)
{
	return sqn == 0 || sqn + win <= top;
}

static inline uint64_t *
ms_replay_word(struct ms_replay *r, uint64_t sqn)
{
	return &r->bits[(sqn / MS_REPLAY_WORD) % MS_REPLAY_WORDS];
}

static inline enum ms_replay_verdict
ms_replay_check(const struct ms_replay *r, uint64_t sqn, uint32_t win)
{
	if (ms_replay_too_old(r->top, sqn, win))
		return MS_REPLAY_OLD;
	if (sqn > r->top)
		return MS_REPLAY_OK;
	if (r->bits[(sqn / MS_REPLAY_WORD) % MS_REPLAY_WORDS] & (1ULL << (sqn % MS_REPLAY_WORD)))
		return MS_REPLAY_DUP;
	return MS_REPLAY_OK;
}

/* Check and record an authenticated packet. */
static inline enum ms_replay_verdict
ms_replay_update(struct ms_replay *r, uint64_t sqn, uint32_t win)
{
	enum ms_replay_verdict v = ms_replay_check(r, sqn, win);

	if (v != MS_REPLAY_OK)
		return v;
	if (sqn > r->top) {
		uint64_t from = r->top / MS_REPLAY_WORD, to = sqn / MS_REPLAY_WORD;

		if (to - from >= MS_REPLAY_WORDS)
			from = to - MS_REPLAY_WORDS;
		for (uint64_t w = from + 1; w <= to; w++)	/* words entering the window */
			r->bits[w % MS_REPLAY_WORDS] = 0;
		__atomic_store_n(&r->top, sqn, __ATOMIC_RELAXED);
	}
	*ms_replay_word(r, sqn) |= 1ULL << (sqn % MS_REPLAY_WORD);
	return MS_REPLAY_OK;
}

#endif
