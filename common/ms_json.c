/* SPDX-License-Identifier: BSD-3-Clause */
#include "ms_json.h"

json_t *
ms_ip_json(const struct ms_ip *ip)
{
	char b[MS_IPSTRLEN];

	return json_string(ms_ip_str(ip, b, sizeof(b)));
}
