/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_LOG_H
#define MS_LOG_H

#include <rte_log.h>

/* Control-side log lines say where they come from; never pass key material. */
extern int ms_logtype;

#define MS_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, ms_logtype, "migsec: " fmt "\n", ##__VA_ARGS__)

#endif
