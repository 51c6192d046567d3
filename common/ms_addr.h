/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_ADDR_H
#define MS_ADDR_H

/*
 * IP addresses and prefixes, IPv4 or IPv6, always stored in network byte
 * order. Shared by the configuration, the control socket and the CLI.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define MS_AF_NONE 0
#define MS_AF_INET 4
#define MS_AF_INET6 6

struct ms_ip {
	uint8_t af;		/* MS_AF_INET or MS_AF_INET6 */
	uint8_t pad[3];
	union {
		uint32_t v4;	/* network order */
		uint8_t v6[16];
	};
};

struct ms_prefix {
	struct ms_ip ip;
	uint8_t len;		/* prefix length in bits */
	uint8_t pad[3];
};

/* "192.0.2.1" or "2001:db8::1"; 0 or -EINVAL. */
int ms_ip_parse(const char *s, struct ms_ip *ip);
/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix. */
int ms_prefix_parse(const char *s, struct ms_prefix *p);
const char *ms_ip_str(const struct ms_ip *ip, char *buf, size_t len);
const char *ms_prefix_str(const struct ms_prefix *p, char *buf, size_t len);
bool ms_ip_eq(const struct ms_ip *a, const struct ms_ip *b);
bool ms_prefix_has(const struct ms_prefix *p, const struct ms_ip *ip);
bool ms_ip_is_zero(const struct ms_ip *ip);

#define MS_IPSTRLEN 64

#endif
