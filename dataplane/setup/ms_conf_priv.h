/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_CONF_PRIV_H
#define MS_CONF_PRIV_H

/*
 * Between the files of the configuration schema: ms_conf.c (the file, the
 * appliance's own groups) and ms_conf_net.c (the network: inner, outer,
 * remote). Main lcore, before the EAL starts.
 */
#include <libconfig.h>

#include "ms_conf.h"
#include "ms_libconfig.h"

/* Groups inner and outer, then the remote list (it needs outer's addresses). */
int ms_conf_load_net(struct ms_cfg_ctx *c, const config_setting_t *root, struct ms_conf *conf);

#endif
