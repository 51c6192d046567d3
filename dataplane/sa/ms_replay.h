/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_REPLAY_H
#define MS_REPLAY_H

/*
 * Inbound extended sequence numbers and the anti-replay window (RFC 4303
 * 3.4.3 and appendix A, a ring of bitmap blocks as in RFC 6479): migsec's
 * own.
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
 * the ICV verified records exactly that number here.
 *
 * Many writers, no lock: the window is checked where packets arrive. A
 * packet of one SA may reach any worker (a NIC's RSS, a packet socket's
 * fan-out rolling over when one ring is full), and passing it to one owner
 * worker reorders it behind everything that owner already queued. Here the
 * window is one 64-bit `top` that only rises (compare-and-swap) and a ring
 * of 64-bit slots, each holding a 32-bit block tag (the low half of
 * sqn / 32) beside the 32-bit bitmap of that block. A number is recorded
 * with one compare-and-swap on its slot: a slot holding an older block is
 * taken over (its stale bits vanish in the same store, so nothing has to be
 * cleared when top moves), a slot already holding a newer block means the
 * number is out of the window. Two copies of one packet on two workers
 * race for the same slot; exactly one sets the bit. Why no replay can be
 * accepted: a number that passes the 64-bit top check lies within
 * MS_REPLAY_WIN_MAX of top, so its slot cannot yet have moved past its block
 * (that needs a number MS_REPLAY_SPAN - 32 above it to be accepted first);
 * if it was recorded before, its bit is still there. The unit tests check
 * the window against a naive reference, across the 2^32 wrap, and with two
 * threads recording the same numbers at once.
 */
#include <stdbool.h>
#include <stdint.h>

#define MS_REPLAY_BLOCK 32		/* sequence numbers per slot */
#define MS_REPLAY_SLOTS 256		/* power of two */
#define MS_REPLAY_SPAN (MS_REPLAY_BLOCK * MS_REPLAY_SLOTS)
#define MS_REPLAY_WIN_MAX 4096		/* <= MS_REPLAY_SPAN - MS_REPLAY_BLOCK */

struct ms_replay {
	uint64_t top;				/* highest sequence number accepted */
	uint64_t slot[MS_REPLAY_SLOTS];		/* tag << 32 | bitmap, slot (sqn / 32) % SLOTS */
};

enum ms_replay_verdict { MS_REPLAY_OK = 0, MS_REPLAY_DUP, MS_REPLAY_OLD };

/*
 * A window that has seen nothing, with top as its highest number: every
 * slot tagged with the newest block at or below top's that maps to it, no
 * bit set. Before any worker sees the SA (it is published after this).
 */
static inline void
ms_replay_init(struct ms_replay *r, uint64_t top)
{
	uint64_t tb = top / MS_REPLAY_BLOCK;

	r->top = top;
	for (uint32_t i = 0; i < MS_REPLAY_SLOTS; i++)
		r->slot[i] = (uint64_t)(uint32_t)(tb - ((tb - i) & (MS_REPLAY_SLOTS - 1))) << 32;
}

static inline uint64_t
ms_replay_top(const struct ms_replay *r)
{
	return __atomic_load_n(&r->top, __ATOMIC_RELAXED);
}

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

/*
 * sqn against one slot's value: OLD if the slot moved on to a newer block
 * (tags compared as serial numbers), DUP if sqn's bit is set in its block.
 */
static inline enum ms_replay_verdict
ms_replay_slot_verdict(uint64_t v, uint64_t sqn)
{
	int32_t ahead = (int32_t)((uint32_t)(v >> 32) - (uint32_t)(sqn / MS_REPLAY_BLOCK));

	if (ahead > 0)
		return MS_REPLAY_OLD;
	if (ahead == 0 && (v >> (sqn % MS_REPLAY_BLOCK) & 1))
		return MS_REPLAY_DUP;
	return MS_REPLAY_OK;
}

static inline uint64_t *
ms_replay_slot(struct ms_replay *r, uint64_t sqn)
{
	return &r->slot[(sqn / MS_REPLAY_BLOCK) % MS_REPLAY_SLOTS];
}

/* Before decryption: would sqn be accepted now? Records nothing. */
static inline enum ms_replay_verdict
ms_replay_check(const struct ms_replay *r, uint64_t sqn, uint32_t win)
{
	const uint64_t *s = &r->slot[(sqn / MS_REPLAY_BLOCK) % MS_REPLAY_SLOTS];

	if (ms_replay_too_old(ms_replay_top(r), sqn, win))
		return MS_REPLAY_OLD;
	return ms_replay_slot_verdict(__atomic_load_n(s, __ATOMIC_RELAXED), sqn);
}

/* Check and record an authenticated packet; safe from any number of workers. */
static inline enum ms_replay_verdict
ms_replay_update(struct ms_replay *r, uint64_t sqn, uint32_t win)
{
	uint64_t *s = ms_replay_slot(r, sqn);
	uint64_t tag = (uint64_t)(uint32_t)(sqn / MS_REPLAY_BLOCK) << 32;
	uint64_t bit = 1ULL << (sqn % MS_REPLAY_BLOCK);
	uint64_t v, nv, top;
	enum ms_replay_verdict vd;

	if (ms_replay_too_old(ms_replay_top(r), sqn, win))
		return MS_REPLAY_OLD;
	v = __atomic_load_n(s, __ATOMIC_RELAXED);
	do {
		vd = ms_replay_slot_verdict(v, sqn);
		if (vd != MS_REPLAY_OK)
			return vd;
		/* Same block: add the bit; an older block: take the slot over. */
		nv = (v & ~0xffffffffULL) == tag ? v | bit : tag | bit;
	} while (!__atomic_compare_exchange_n(s, &v, nv, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	top = ms_replay_top(r);
	while (sqn > top && !__atomic_compare_exchange_n(&r->top, &top, sqn, true,
							  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return MS_REPLAY_OK;
}

#endif
