/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libconfig helpers shared by the data plane's and migsec-control's
 * configuration: typed getters with ranges and defaults, and errors that
 * name file, line and setting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ms_libconfig.h"


int
ms_cfg_fail(struct ms_cfg_ctx *c, const config_setting_t *s, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int line = s ? config_setting_source_line(s) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(c->err, c->errlen, "%s:%d: setting '%s': %s", c->file, line, path, msg);
	else	/* a missing top-level setting has no line */
		snprintf(c->err, c->errlen, "%s: setting '%s': %s", c->file, path, msg);
	return -EINVAL;
}

void
ms_cfg_join(char *out, size_t len, const char *group, const char *name)
{
	if (group == NULL || group[0] == '\0')
		snprintf(out, len, "%s", name);
	else
		snprintf(out, len, "%s.%s", group, name);
}

/* Reject settings nobody reads: a typo must not silently fall back to a default. */
int
ms_cfg_members(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath,
	      const char *const known[])
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		const char *name = config_setting_name(m);
		char path[128];
		bool ok = false;

		for (unsigned int k = 0; known[k] != NULL; k++)
			if (name != NULL && strcmp(name, known[k]) == 0)
				ok = true;
		if (!ok) {
			ms_cfg_join(path, sizeof(path), gpath, name ? name : "?");
			return ms_cfg_fail(c, m, path, "unknown setting");
		}
	}
	return 0;
}

const config_setting_t *
ms_cfg_group(struct ms_cfg_ctx *c, const config_setting_t *parent, const char *name, bool required, int *rc)
{
	const config_setting_t *g = config_setting_get_member(parent, name);

	*rc = 0;
	if (g == NULL) {
		if (required)
			*rc = ms_cfg_fail(c, parent, name, "required group is missing");
		return NULL;
	}
	if (!config_setting_is_group(g))
		*rc = ms_cfg_fail(c, g, name, "must be a group { ... }");
	return g;
}

int
ms_cfg_uint(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath, const char *name,
	 uint32_t *out, long long min, long long max, long long def, bool required)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	char path[128];
	long long v;

	ms_cfg_join(path, sizeof(path), gpath, name);
	if (s == NULL) {
		if (required)
			return ms_cfg_fail(c, g, path, "required setting is missing");
		*out = (uint32_t)def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return ms_cfg_fail(c, s, path, "must be an integer");
	v = config_setting_get_int64(s);
	if (v < min || v > max)
		return ms_cfg_fail(c, s, path, "must be between %lld and %lld (got %lld)", min, max, v);
	*out = (uint32_t)v;
	return 0;
}

int
ms_cfg_str(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath, const char *name,
	char *out, size_t outlen, const char *def, bool required)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	char path[128];
	const char *v;

	ms_cfg_join(path, sizeof(path), gpath, name);
	if (s == NULL) {
		if (required)
			return ms_cfg_fail(c, g, path, "required setting is missing");
		snprintf(out, outlen, "%s", def ? def : "");
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return ms_cfg_fail(c, s, path, "must be a string");
	v = config_setting_get_string(s);
	if (strlen(v) >= outlen)
		return ms_cfg_fail(c, s, path, "longer than %zu characters", outlen - 1);
	/* a required setting says something ("" or a string that starts with NUL does not) */
	if (required && v[0] == '\0')
		return ms_cfg_fail(c, s, path, "must not be empty");
	snprintf(out, outlen, "%s", v);
	return 0;
}

int
ms_cfg_bool(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath, const char *name,
	 bool *out, bool def)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	char path[128];

	ms_cfg_join(path, sizeof(path), gpath, name);
	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return ms_cfg_fail(c, s, path, "must be true or false");
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int
ms_cfg_enum(struct ms_cfg_ctx *c, const config_setting_t *g, const char *gpath, const char *name,
	 const char *const names[], int *out, int def)
{
	const config_setting_t *s = g ? config_setting_get_member(g, name) : NULL;
	char path[128], buf[32], list[128] = "";

	ms_cfg_join(path, sizeof(path), gpath, name);
	if (s == NULL) {
		*out = def;
		return 0;
	}
	if (ms_cfg_str(c, g, gpath, name, buf, sizeof(buf), NULL, true) != 0)
		return -EINVAL;
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(buf, names[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	return ms_cfg_fail(c, s, path, "must be one of %s (got \"%s\")", list, buf);
}

