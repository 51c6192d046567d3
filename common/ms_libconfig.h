/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MS_LIBCONFIG_H
#define MS_LIBCONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Error context: every message names file, line and the setting's path. */
struct ms_cfg_ctx {
	const char *file;
	char *err;
	unsigned int errlen;
};

/* "FILE:LINE: setting 'PATH': message"; returns -EINVAL. */
int ms_cfg_fail(struct ms_cfg_ctx *c, const config_setting_t *s, const char *path,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void ms_cfg_join(char *out, size_t len, const char *group, const char *name);
/* Unknown members of g are errors (a typo must not fall back to a default). */
int ms_cfg_members(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
		   const char *const known[]);
/* A group member of parent; NULL if absent (an error if required). */
const config_setting_t *ms_cfg_group(struct ms_cfg_ctx *c, const config_setting_t *parent,
				     const char *name, bool required, int *rc);
int ms_cfg_uint(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
		const char *name, uint32_t *out, long long min, long long max, long long def,
		bool required);
int ms_cfg_str(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
	       const char *name, char *out, size_t outlen, const char *def, bool required);
int ms_cfg_bool(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
		const char *name, bool *out, bool def);
int ms_cfg_enum(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
		const char *name, const char *const names[], int *out, int def);

#endif
