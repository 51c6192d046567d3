/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_POWER_H
#define MS_POWER_H

#include "ms_dp.h"

/* Main lcore, ports configured but not started: lib/power on the workers' RX queues. */
int ms_power_enable(struct ms_dp *dp, char *err, unsigned int errlen);
/* Ports stopped. */
void ms_power_disable(struct ms_dp *dp);
/* "monitor", "pause" or "off": what lib/power does on this appliance. */
const char *ms_power_name(const struct ms_dp *dp);

#endif
