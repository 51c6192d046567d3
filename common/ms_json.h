/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_JSON_H
#define MS_JSON_H

/* JSON pieces that the data plane's and migsec-control's reports share. */
#include <jansson.h>

#include "ms_addr.h"

/* An address as a JSON string ("192.0.2.1", "2001:db8::1"). */
json_t *ms_ip_json(const struct ms_ip *ip);

#endif
