/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_addr.h"

int
ms_ip_parse(const char *s, struct ms_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (s == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, s, &ip->v4) == 1) {
		ip->af = MS_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->v6) == 1) {
		ip->af = MS_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int
ms_prefix_parse(const char *s, struct ms_prefix *p)
{
	char buf[MS_IPSTRLEN];
	const char *slash;
	unsigned long len;
	char *end;
	size_t n;
	int max;

	memset(p, 0, sizeof(*p));
	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ms_ip_parse(buf, &p->ip) != 0)
		return -EINVAL;
	max = p->ip.af == MS_AF_INET ? 32 : 128;
	if (slash == NULL) {
		p->len = max;
		return 0;
	}
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len > (unsigned long)max)
		return -EINVAL;
	p->len = (uint8_t)len;
	/* Host bits must be zero: "192.0.2.1/24" is almost always a typo. */
	if (p->ip.af == MS_AF_INET) {
		uint32_t host = len == 32 ? 0 : (0xffffffffu >> len);

		if (ntohl(p->ip.v4) & host)
			return -EINVAL;
	} else {
		for (unsigned int b = (unsigned int)len; b < 128; b++)
			if (p->ip.v6[b / 8] & (0x80 >> (b % 8)))
				return -EINVAL;
	}
	return 0;
}

const char *
ms_ip_str(const struct ms_ip *ip, char *buf, size_t len)
{
	if (ip->af == MS_AF_INET)
		return inet_ntop(AF_INET, &ip->v4, buf, (socklen_t)len);
	if (ip->af == MS_AF_INET6)
		return inet_ntop(AF_INET6, ip->v6, buf, (socklen_t)len);
	snprintf(buf, len, "-");
	return buf;
}

const char *
ms_prefix_str(const struct ms_prefix *p, char *buf, size_t len)
{
	char ip[MS_IPSTRLEN];

	snprintf(buf, len, "%s/%u", ms_ip_str(&p->ip, ip, sizeof(ip)), p->len);
	return buf;
}

bool
ms_ip_eq(const struct ms_ip *a, const struct ms_ip *b)
{
	if (a->af != b->af)
		return false;
	if (a->af == MS_AF_INET)
		return a->v4 == b->v4;
	return memcmp(a->v6, b->v6, 16) == 0;
}

bool
ms_ip_is_zero(const struct ms_ip *ip)
{
	static const uint8_t zero[16];

	if (ip->af == MS_AF_INET)
		return ip->v4 == 0;
	if (ip->af == MS_AF_INET6)
		return memcmp(ip->v6, zero, 16) == 0;
	return true;
}

bool
ms_prefix_has(const struct ms_prefix *p, const struct ms_ip *ip)
{
	unsigned int full, rem;

	if (p->ip.af != ip->af)
		return false;
	if (ip->af == MS_AF_INET) {
		uint32_t mask = p->len == 0 ? 0 : htonl(0xffffffffu << (32 - p->len));

		return (ip->v4 & mask) == (p->ip.v4 & mask);
	}
	full = p->len / 8;
	rem = p->len % 8;
	if (memcmp(ip->v6, p->ip.v6, full) != 0)
		return false;
	if (rem == 0)
		return true;
	return ((ip->v6[full] ^ p->ip.v6[full]) & (0xff << (8 - rem)) & 0xff) == 0;
}
