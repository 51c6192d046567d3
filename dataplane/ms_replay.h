/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_REPLAY_H
#define MS_REPLAY_H

/*
 * Anti-replay helpers around lib/ipsec's window.
 *
 * lib/ipsec (22.11) keeps exactly win/64 bitmap words but accepts sequence
 * numbers down to top - win, so the oldest word aliases the newest: a replay
 * of a packet up to 63 below the window's bottom edge slips through. migsec
 * therefore gives lib/ipsec a window one word wider (ms_replay_lib_window)
 * and enforces the configured window itself (ms_replay_too_old) before the
 * packet is prepared. The unit tests check the pair against a naive
 * reference.
 */
#include <stdbool.h>
#include <stdint.h>

#define MS_REPLAY_WORD 64

static inline uint32_t
ms_replay_lib_window(uint32_t win)
{
	return win + MS_REPLAY_WORD;
}

/* RFC 4303 appendix A2.1: the 64-bit sequence number of a received low half. */
static inline uint64_t
ms_replay_esn(uint64_t top, uint32_t seq, uint32_t win)
{
	uint32_t tl = (uint32_t)top, th = (uint32_t)(top >> 32);
	uint32_t bl = tl - win + 1;

	if (tl >= win - 1)
		th += (seq < bl);		/* window within one subspace */
	else if (th != 0)
		th -= (seq >= bl);		/* window spans two subspaces */
	return (uint64_t)th << 32 | seq;
}

/* Outside [top - win + 1, top] from below (or the never-valid 0)? */
static inline bool
ms_replay_too_old(uint64_t top, uint64_t sqn, uint32_t win)
{
	return sqn == 0 || sqn + win <= top;
}

#endif
