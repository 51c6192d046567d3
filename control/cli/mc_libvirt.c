/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl policy: a domain's migsec policy, kept by libvirt in the
 * domain's <metadata> as <migsec:policy xmlns:migsec="MC_LV_NS">, so that
 * it travels with the domain (migration, dumpxml, define) and the qemu hook
 * on the destination finds it in the XML it is handed. Without the element
 * the cluster's default applies (/etc/migsec/libvirt.conf). Built only with
 * libvirt (meson: MS_HAVE_LIBVIRT); otherwise the command says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_cli.h"
#include "mc_libvirt.h"
#include "mc_lvconf.h"

#ifdef MS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

struct pol_args {
	const char *domain, *value, *uri;
	bool json;
};

/* libvirt prints every error to stderr by default; we say it once, our way. */
static void
quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

void
mc_lv_quiet(void)
{
	virSetErrorFunc(NULL, quiet);
}

const char *
mc_lv_msg(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

static int
parse_args(int argc, char **argv, struct pol_args *a)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc)
			a->uri = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			a->json = true;
		else if (argv[i][0] == '-' || (a->domain && a->value)) {
			fprintf(stderr, "migsecctl: policy: unexpected argument '%s'\n", argv[i]);
			return -1;
		} else if (a->domain == NULL)
			a->domain = argv[i];
		else
			a->value = argv[i];
	}
	if (a->domain == NULL) {
		fprintf(stderr, "migsecctl: policy needs a DOMAIN (its libvirt name)\n");
		return -1;
	}
	if (a->value && strcmp(a->value, "default") != 0 &&
	    mc_lv_policy_parse(a->value) == MC_LV_BAD) {
		fprintf(stderr, "migsecctl: policy: '%s' is not a policy: required, opportunistic, "
			"disabled or default\n", a->value);
		return -1;
	}
	return 0;
}

/* The element's text: "required" from <migsec:policy ...>required</migsec:policy>. */
static enum mc_lv_policy
element_policy(const char *xml)
{
	const char *open = strchr(xml, '>'), *close = strrchr(xml, '<');
	char text[32];
	size_t n;

	if (open == NULL || close == NULL || close <= open || open[-1] == '/')
		return MC_LV_BAD;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(text) || memchr(open + 1, '<', n) != NULL)
		return MC_LV_BAD;
	memcpy(text, open + 1, n);
	text[n] = '\0';
	return mc_lv_policy_parse(text);
}

/* Live and persistent definitions, whichever the domain has. */
static unsigned int
affect(virDomainPtr d)
{
	unsigned int f = 0;

	if (virDomainIsActive(d) == 1)
		f |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainIsPersistent(d) == 1)
		f |= VIR_DOMAIN_AFFECT_CONFIG;
	return f ? f : VIR_DOMAIN_AFFECT_CURRENT;
}

static int
set_policy(virDomainPtr d, const struct pol_args *a)
{
	char xml[96];
	int rc;

	if (strcmp(a->value, "default") == 0) {
		rc = virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, NULL, NULL, MC_LV_NS,
					  affect(d));
	} else {
		snprintf(xml, sizeof(xml), "<%s>%s</%s>", MC_LV_ELEM,
			 mc_lv_policy_name(mc_lv_policy_parse(a->value)), MC_LV_ELEM);
		rc = virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, MC_LV_PREFIX,
					  MC_LV_NS, affect(d));
	}
	if (rc != 0) {
		fprintf(stderr, "migsecctl: policy: libvirt refused to change %s: %s\n", a->domain,
			mc_lv_msg());
		return MC_EXIT_REFUSED;
	}
	return MC_EXIT_OK;
}

static void
show(const struct pol_args *a, const char *policy, const char *from, const struct mc_lvconf *lc)
{
	if (a->json) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "domain", a->domain, "policy", policy,
				      "source", from);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return;
	}
	if (strcmp(from, "metadata") == 0)
		printf("%s: %s\n", a->domain, policy);
	else
		printf("%s: %s (the default of %s: no migsec policy in its metadata)\n", a->domain,
		       policy, lc->file);
}

int
mc_lv_domain_policy(virDomainPtr d, const struct mc_lvconf *lc, enum mc_lv_policy *p,
		    const char **from)
{
	char *xml = virDomainGetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, MC_LV_NS,
					 VIR_DOMAIN_AFFECT_CURRENT);

	if (xml == NULL) {
		virErrorPtr e = virGetLastError();

		if (e == NULL || e->code != VIR_ERR_NO_DOMAIN_METADATA)
			return -1;
		*p = lc->default_policy;
		*from = "default";
		return 0;
	}
	*p = element_policy(xml);
	*from = "metadata";
	free(xml);
	return 0;
}

/* Print the policy in force: the element's, or the cluster's default. */
static int
get_policy(virDomainPtr d, const struct pol_args *a)
{
	char err[384] = "";
	const char *from;
	struct mc_lvconf lc;
	enum mc_lv_policy p;

	if (mc_lvconf_load(&lc, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsecctl: %s\n", err);
		return MC_EXIT_USAGE;
	}
	if (mc_lv_domain_policy(d, &lc, &p, &from) != 0) {
		fprintf(stderr, "migsecctl: policy: cannot read %s's metadata: %s\n", a->domain,
			mc_lv_msg());
		return MC_EXIT_UNREACHABLE;
	}
	if (strcmp(from, "default") == 0) {
		show(a, mc_lv_policy_name(lc.default_policy), "default", &lc);
		return MC_EXIT_OK;
	}
	show(a, p == MC_LV_BAD ? "invalid (treated as required)" : mc_lv_policy_name(p),
	     "metadata", &lc);
	return p == MC_LV_BAD ? MC_EXIT_REFUSED : MC_EXIT_OK;
}

int
mc_lv_policy_main(bool json, int argc, char **argv)
{
	struct pol_args a = { .json = json };
	virConnectPtr conn;
	virDomainPtr d;
	int rc;

	if (parse_args(argc, argv, &a) != 0)
		return MC_EXIT_USAGE;
	mc_lv_quiet();
	conn = virConnectOpen(a.uri);
	if (conn == NULL) {
		fprintf(stderr, "migsecctl: policy: cannot connect to libvirt (%s): %s\n",
			a.uri ? a.uri : "default URI", mc_lv_msg());
		return MC_EXIT_UNREACHABLE;
	}
	d = virDomainLookupByName(conn, a.domain);
	if (d == NULL) {
		virErrorPtr e = virGetLastError();
		bool none = e != NULL && e->code == VIR_ERR_NO_DOMAIN;

		if (none)
			fprintf(stderr, "migsecctl: policy: no domain '%s' on %s\n", a.domain,
				a.uri ? a.uri : "the default libvirt URI");
		else
			fprintf(stderr, "migsecctl: policy: cannot look up '%s': %s\n", a.domain,
				mc_lv_msg());
		virConnectClose(conn);
		return none ? MC_EXIT_NO_DOMAIN : MC_EXIT_UNREACHABLE;
	}
	rc = a.value ? set_policy(d, &a) : MC_EXIT_OK;
	if (rc == MC_EXIT_OK)
		rc = get_policy(d, &a);
	virDomainFree(d);
	virConnectClose(conn);
	return rc;
}

#else

int
mc_lv_policy_main(bool json, int argc, char **argv)
{
	(void)json;
	(void)argc;
	(void)argv;
	fprintf(stderr, "migsecctl: policy: this migsecctl was built without libvirt "
		"(install libvirt-dev and rebuild)\n");
	return MC_EXIT_USAGE;
}

#endif
