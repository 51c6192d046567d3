/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <string.h>

#include "ms_profile.h"

static int
str(const config_setting_t *g, const char *file, const char *name, char *out, size_t len,
    bool required, char *err, unsigned int errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);

	out[0] = '\0';
	if (s == NULL) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s:%d: setting 'profile.%s': required setting is missing",
			 file, config_setting_source_line(g), name);
		return -EINVAL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    strlen(config_setting_get_string(s)) >= len) {
		snprintf(err, errlen, "%s:%d: setting 'profile.%s': must be a string of at most "
			 "%zu characters", file, config_setting_source_line(s), name, len - 1);
		return -EINVAL;
	}
	snprintf(out, len, "%s", config_setting_get_string(s));
	return 0;
}

int
ms_profile_load(const struct ms_conf *conf, struct ms_profile *p, char *err, unsigned int errlen)
{
	static const char *const known[] = { "name", "description", "driver", "device", "vdev",
		"pci", "hint", NULL };
	const config_setting_t *g;
	config_t cfg;
	int rc = -EINVAL, n;

	memset(p, 0, sizeof(*p));
	n = snprintf(p->file, sizeof(p->file), "%s/%s.conf", conf->profile_dir, conf->profile);
	if (n < 0 || (size_t)n >= sizeof(p->file)) {
		snprintf(err, errlen, "%s: crypto.profile_dir is too long", conf->file);
		return -EINVAL;
	}
	config_init(&cfg);
	if (config_read_file(&cfg, p->file) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			snprintf(err, errlen, "%s: crypto.profile \"%s\": cannot read %s (known "
				 "profiles are the .conf files in %s)", conf->file, conf->profile,
				 p->file, conf->profile_dir);
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", p->file,
				 config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	g = config_lookup(&cfg, "profile");
	if (g == NULL || !config_setting_is_group(g)) {
		snprintf(err, errlen, "%s:1: setting 'profile': required group is missing", p->file);
		goto out;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		bool ok = false;

		for (int k = 0; known[k]; k++)
			ok |= strcmp(config_setting_name(m), known[k]) == 0;
		if (!ok) {
			snprintf(err, errlen, "%s:%d: setting 'profile.%s': unknown setting", p->file,
				 config_setting_source_line(m), config_setting_name(m));
			goto out;
		}
	}
	if (str(g, p->file, "name", p->name, sizeof(p->name), true, err, errlen) ||
	    str(g, p->file, "description", p->description, sizeof(p->description), false, err,
		errlen) ||
	    str(g, p->file, "driver", p->driver, sizeof(p->driver), true, err, errlen) ||
	    str(g, p->file, "device", p->device, sizeof(p->device), true, err, errlen) ||
	    str(g, p->file, "vdev", p->vdev, sizeof(p->vdev), false, err, errlen) ||
	    str(g, p->file, "pci", p->pci, sizeof(p->pci), false, err, errlen) ||
	    str(g, p->file, "hint", p->hint, sizeof(p->hint), false, err, errlen))
		goto out;
	if (strcmp(p->name, conf->profile) != 0) {
		snprintf(err, errlen, "%s:%d: setting 'profile.name': \"%s\" does not match the file "
			 "name (\"%s\")", p->file, config_setting_source_line(g), p->name,
			 conf->profile);
		goto out;
	}
	rc = 0;
out:
	config_destroy(&cfg);
	return rc;
}
