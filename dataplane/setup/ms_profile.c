/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ms_profile.h"

#define PCI_TOKEN "{pci}"
#define SCHED_DRIVER "crypto_scheduler"

/* One parsed profile file. */
struct pfile {
	char name[MS_NAME_MAX];
	char description[128];
	struct ms_cdev_desc d;
	char member[MS_MEMBERS][MS_NAME_MAX];	/* fail-over: profile names */
	int member_line[MS_MEMBERS];
	int line;				/* of the profile group */
	bool uses_pci;				/* "{pci}" in pci or device */
};

static const char *const member_key[MS_MEMBERS] = { "primary", "secondary" };

static int __attribute__((format(printf, 6, 7)))
fail(char *err, unsigned int errlen, const char *file, int line, const char *setting,
     const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: setting '%s': %s", file, line, setting, msg);
	return -EINVAL;
}

static int
str(const config_setting_t *g, const char *file, const char *name, char *out, size_t len,
    bool required, char *err, unsigned int errlen)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char path[48];

	snprintf(path, sizeof(path), "profile.%s", name);
	out[0] = '\0';
	if (s == NULL)
		return required ? fail(err, errlen, file, config_setting_source_line(g), path,
				       "required setting is missing") : 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    strlen(config_setting_get_string(s)) >= len)
		return fail(err, errlen, file, config_setting_source_line(s), path,
			    "must be a string of at most %zu characters", len - 1);
	/* a required setting says something ("" or a string that starts with NUL does not) */
	if (required && config_setting_get_string(s)[0] == '\0')
		return fail(err, errlen, file, config_setting_source_line(s), path,
			    "must not be empty");
	snprintf(out, len, "%s", config_setting_get_string(s));
	return 0;
}

/*
 * Replace every "{pci}" in s (len bytes, at most MS_DEV_MAX) by the
 * appliance's crypto.pci. 0, or -1 if the result would not fit (s is then
 * unchanged).
 */
static int
subst_pci(char *s, size_t len, const char *pci)
{
	char out[MS_DEV_MAX];
	size_t o = 0, plen = strlen(pci), tlen = strlen(PCI_TOKEN);
	const char *p = s, *t;

	while ((t = strstr(p, PCI_TOKEN)) != NULL) {
		if (o + (size_t)(t - p) + plen >= sizeof(out))
			return -1;
		memcpy(out + o, p, (size_t)(t - p));
		o += (size_t)(t - p);
		memcpy(out + o, pci, plen);
		o += plen;
		p = t + tlen;
	}
	if (o + strlen(p) >= sizeof(out) || o + strlen(p) >= len)
		return -1;
	memcpy(out + o, p, strlen(p) + 1);
	memcpy(s, out, strlen(out) + 1);
	return 0;
}

static int
check_members(const config_setting_t *g, const char *file, char *err, unsigned int errlen)
{
	static const char *const known[] = { "name", "description", "driver", "device", "vdev",
		"pci", "hugepages", "hint", "qp_hint", "primary", "secondary", NULL };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned int)i);
		char path[64];
		bool ok = false;

		for (int k = 0; known[k]; k++)
			ok |= strcmp(config_setting_name(m), known[k]) == 0;
		if (ok)
			continue;
		snprintf(path, sizeof(path), "profile.%s", config_setting_name(m));
		return fail(err, errlen, file, config_setting_source_line(m), path,
			    "unknown setting");
	}
	return 0;
}

static int
parse_group(const config_setting_t *g, const char *file, const char *pci, struct pfile *pf,
	    char *err, unsigned int errlen)
{
	struct ms_cdev_desc *d = &pf->d;
	const config_setting_t *hp = config_setting_get_member(g, "hugepages");
	int rc;

	pf->line = (int)config_setting_source_line(g);
	if ((rc = check_members(g, file, err, errlen)) ||
	    (rc = str(g, file, "name", pf->name, sizeof(pf->name), true, err, errlen)) ||
	    (rc = str(g, file, "description", pf->description, sizeof(pf->description), false,
		      err, errlen)) ||
	    (rc = str(g, file, "driver", d->driver, sizeof(d->driver), true, err, errlen)) ||
	    (rc = str(g, file, "device", d->device, sizeof(d->device), true, err, errlen)) ||
	    (rc = str(g, file, "vdev", d->vdev, sizeof(d->vdev), false, err, errlen)) ||
	    (rc = str(g, file, "pci", d->pci, sizeof(d->pci), false, err, errlen)) ||
	    (rc = str(g, file, "hint", d->hint, sizeof(d->hint), false, err, errlen)) ||
	    (rc = str(g, file, "qp_hint", d->qp_hint, sizeof(d->qp_hint), false, err, errlen)))
		return rc;
	for (int m = 0; m < MS_MEMBERS; m++) {
		const config_setting_t *s = config_setting_get_member(g, member_key[m]);

		if ((rc = str(g, file, member_key[m], pf->member[m], sizeof(pf->member[m]), false,
			      err, errlen)))
			return rc;
		pf->member_line[m] = s ? (int)config_setting_source_line(s) : pf->line;
	}
	if (hp != NULL && config_setting_type(hp) != CONFIG_TYPE_BOOL)
		return fail(err, errlen, file, config_setting_source_line(hp), "profile.hugepages",
			    "must be true or false");
	d->hugepages = hp != NULL && config_setting_get_bool(hp);
	pf->uses_pci = strstr(d->pci, PCI_TOKEN) || strstr(d->device, PCI_TOKEN);
	if (pf->uses_pci && pci[0] != '\0') {
		if (subst_pci(d->pci, sizeof(d->pci), pci) != 0)
			return fail(err, errlen, file, pf->line, "profile.pci",
				    "too long once {pci} is replaced by crypto.pci");
		if (subst_pci(d->device, sizeof(d->device), pci) != 0)
			return fail(err, errlen, file, pf->line, "profile.device",
				    "too long once {pci} is replaced by crypto.pci");
	}
	snprintf(d->profile, sizeof(d->profile), "%s", pf->name);
	snprintf(d->file, sizeof(d->file), "%s", file);
	return 0;
}

/*
 * Read DIR/NAME.conf into pf. -ENOENT without a message when the file
 * cannot be read: the caller says who asked for it.
 */
static int
parse_file(const char *dir, const char *name, const char *pci, struct pfile *pf,
	   char *file, size_t flen, char *err, unsigned int errlen)
{
	const config_setting_t *g;
	config_t cfg;
	int n, rc = -EINVAL;

	memset(pf, 0, sizeof(*pf));
	n = snprintf(file, flen, "%s/%s.conf", dir, name);
	if (n < 0 || (size_t)n >= flen) {
		snprintf(err, errlen, "%s/%s.conf: path too long", dir, name);
		return -ENAMETOOLONG;
	}
	config_init(&cfg);
	if (config_read_file(&cfg, file) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			rc = -ENOENT;
		else
			snprintf(err, errlen, "%s:%d: syntax error: %s", file,
				 config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	g = config_lookup(&cfg, "profile");
	if (g == NULL || !config_setting_is_group(g)) {
		snprintf(err, errlen, "%s:1: setting 'profile': required group is missing", file);
		goto out;
	}
	rc = parse_group(g, file, pci, pf, err, errlen);
	if (rc == 0 && strcmp(pf->name, name) != 0)
		rc = fail(err, errlen, file, pf->line, "profile.name", "\"%s\" does not match the "
			  "file name (\"%s\")", pf->name, name);
out:
	config_destroy(&cfg);
	return rc;
}

/* Where a member's name came from: the appliance configuration or the profile. */
struct origin {
	const char *file;
	int line;
	const char *setting;
};

static int
load_member(const struct ms_conf *conf, const char *name, const struct origin *o,
	    struct pfile *pf, char *err, unsigned int errlen)
{
	char file[MS_PATH_MAX];
	int rc = parse_file(conf->profile_dir, name, conf->crypto_pci, pf, file, sizeof(file),
			    err, errlen);

	if (rc == -ENOENT)
		return fail(err, errlen, o->file, o->line, o->setting, "crypto profile \"%s\": "
			    "cannot read %s (known profiles are the .conf files in %s)", name, file,
			    conf->profile_dir);
	if (rc == 0 && pf->member[MS_PRIMARY][0] != '\0')
		return fail(err, errlen, o->file, o->line, o->setting, "\"%s\" is itself a "
			    "fail-over profile; name a device profile (aesni_gcm, qat, openssl)",
			    name);
	return rc;
}

static int
build_failover(const struct ms_conf *conf, struct ms_profile *p, const struct pfile *top,
	       bool *uses_pci, char *err, unsigned int errlen)
{
	const char *over[MS_MEMBERS] = { conf->primary, conf->secondary };
	const int over_line[MS_MEMBERS] = { conf->line_primary, conf->line_secondary };
	static const char *const over_key[MS_MEMBERS] = { "crypto.primary", "crypto.secondary" };
	static struct pfile pf[MS_MEMBERS];	/* large; start-up runs on one thread */
	struct origin o[MS_MEMBERS];
	int rc, n;

	if (strcmp(p->dev.driver, SCHED_DRIVER) != 0 ||
	    strncmp(p->dev.device, SCHED_DRIVER, strlen(SCHED_DRIVER)) != 0 ||
	    strchr(p->dev.device, ',') != NULL)
		return fail(err, errlen, p->file, top->line, "profile.device", "a fail-over profile "
			    "drives the %s PMD: driver = \"%s\" and a device name that starts "
			    "with \"%s\" (e.g. \"%s0\")", SCHED_DRIVER, SCHED_DRIVER, SCHED_DRIVER,
			    SCHED_DRIVER);
	if (p->dev.vdev[0] != '\0' || p->dev.pci[0] != '\0')
		return fail(err, errlen, p->file, top->line, p->dev.vdev[0] ? "profile.vdev"
			    : "profile.pci", "a fail-over profile builds its vdev from primary and "
			    "secondary: remove this setting");
	for (int m = 0; m < MS_MEMBERS; m++) {
		bool from_conf = over[m][0] != '\0';
		const char *name = from_conf ? over[m] : top->member[m];

		o[m] = (struct origin){ from_conf ? conf->file : p->file,
			from_conf ? over_line[m] : top->member_line[m],
			from_conf ? over_key[m] : m == MS_PRIMARY ? "profile.primary"
								  : "profile.secondary" };
		if (name[0] == '\0')
			return fail(err, errlen, p->file, top->line, o[m].setting,
				    "required setting is missing");
		rc = load_member(conf, name, &o[m], &pf[m], err, errlen);
		if (rc != 0)
			return rc;
		p->member[m] = pf[m].d;
		*uses_pci |= pf[m].uses_pci;
	}
	if (strcmp(p->member[MS_PRIMARY].device, p->member[MS_SECONDARY].device) == 0)
		return fail(err, errlen, o[MS_SECONDARY].file, o[MS_SECONDARY].line,
			    o[MS_SECONDARY].setting, "the secondary is the primary's device (%s); "
			    "fail-over needs two devices", p->member[MS_PRIMARY].device);
	n = snprintf(p->dev.vdev, sizeof(p->dev.vdev), "%s,mode=%s", p->dev.device,
		     MS_FAILOVER_MODE);
	if (n < 0 || (size_t)n >= sizeof(p->dev.vdev))
		return fail(err, errlen, p->file, top->line, "profile.device", "too long");
	p->failover = true;
	return 0;
}

/* The appliance's crypto.pci must be set exactly when the profile uses it. */
static int
check_pci(const struct ms_conf *conf, const struct ms_profile *p, bool uses_pci, char *err,
	  unsigned int errlen)
{
	if (uses_pci && conf->crypto_pci[0] == '\0')
		return fail(err, errlen, conf->file, conf->line_crypto, "crypto.pci",
			    "crypto profile %s (%s) drives a PCI device: set crypto.pci to its "
			    "address (dpdk-devbind.py --status lists them)", p->name, p->file);
	if (!uses_pci && conf->crypto_pci[0] != '\0')
		return fail(err, errlen, conf->file, conf->line_pci, "crypto.pci",
			    "crypto profile %s drives no PCI device; remove crypto.pci", p->name);
	return 0;
}

int
ms_profile_load(const struct ms_conf *conf, struct ms_profile *p, char *err, unsigned int errlen)
{
	static struct pfile top;
	bool uses_pci;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = parse_file(conf->profile_dir, conf->profile, conf->crypto_pci, &top, p->file,
			sizeof(p->file), err, errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "%s: crypto.profile \"%s\": cannot read %s (known profiles "
			 "are the .conf files in %s)", conf->file, conf->profile, p->file,
			 conf->profile_dir);
	if (rc != 0)
		return rc;
	snprintf(p->name, sizeof(p->name), "%s", top.name);
	snprintf(p->description, sizeof(p->description), "%s", top.description);
	p->dev = top.d;
	uses_pci = top.uses_pci;
	if (top.member[MS_PRIMARY][0] != '\0' || top.member[MS_SECONDARY][0] != '\0')
		rc = build_failover(conf, p, &top, &uses_pci, err, errlen);
	else if (conf->primary[0] != '\0' || conf->secondary[0] != '\0')
		rc = fail(err, errlen, conf->file, conf->primary[0] ? conf->line_primary
			  : conf->line_secondary, conf->primary[0] ? "crypto.primary"
			  : "crypto.secondary", "crypto profile %s is not a fail-over profile; "
			  "remove this setting or use crypto.profile = \"failover\"", p->name);
	if (rc == 0)
		rc = check_pci(conf, p, uses_pci, err, errlen);
	return rc;
}

unsigned int
ms_profile_devices(const struct ms_profile *p, const struct ms_cdev_desc *out[3])
{
	unsigned int n = 0;

	if (p->failover) {	/* the scheduler attaches devices that exist already */
		out[n++] = &p->member[MS_PRIMARY];
		out[n++] = &p->member[MS_SECONDARY];
	}
	out[n++] = &p->dev;
	return n;
}
