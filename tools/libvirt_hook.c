/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-libvirt-hook: libvirt's qemu hook (/etc/libvirt/hooks/qemu) on a
 * hypervisor host, the fail-closed gate for incoming migrations. libvirtd
 * runs it on the destination as "DOMAIN migrate begin -" with the domain's
 * XML on stdin, before the domain is started there; exit 1 refuses the
 * migration and libvirt shows our stderr to whoever ran it.
 *
 * The domain's migsec policy comes from its metadata (<migsec:policy>, set
 * with migsecctl policy) or the cluster default of /etc/migsec/libvirt.conf.
 * required: allowed only while the local appliance holds an active sealed
 * migration for this VM, asked over migsec-control's read-only query socket
 * (no key ever leaves the appliance); opportunistic and disabled: allowed;
 * an invalid policy, bad XML or a bad settings file: refused (fail closed).
 * Every decision is audited (syslog authpriv, and audit_file if set). Every
 * other hook call is allowed at once: this gate is only about migrations.
 * It must not call libvirt back (libvirtd waits for it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "mc_lvconf.h"

#define XML_MAX (16u << 20)
#define QUERY_TIMEOUT_S 2

struct decision {
	const char *vm;
	const char *policy;	/* in force */
	const char *from;	/* "metadata" or "default" */
	const char *migration;	/* the appliance's migration id, if any */
	bool allow;
	char reason[400];
};

static char *
read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap + 1);
	size_t r;

	while (b != NULL && (r = fread(b + n, 1, cap - n, stdin)) > 0) {
		n += r;
		if (n == cap && cap < XML_MAX) {
			char *nb = realloc(b, cap * 2 + 1);

			if (nb == NULL)
				break;
			b = nb;
			cap *= 2;
		} else if (n == cap) {
			break;
		}
	}
	if (b != NULL)
		b[n] = '\0';
	*len = n;
	return b;
}

/* The <migsec:policy> text of the domain XML: 1 found (in text), 0 none, -1 bad XML. */
static int
metadata_policy(const char *xml, size_t len, char *text, size_t textlen)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL, XML_PARSE_NONET |
				      XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr cx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlXPathObjectPtr r = cx ? xmlXPathEvalExpression((const xmlChar *)
		"/domain/metadata/*[local-name()='" MC_LV_ELEM "' and namespace-uri()='"
		MC_LV_NS "']", cx) : NULL;
	int rc = doc == NULL || r == NULL ? -1 : 0;

	if (r != NULL && r->nodesetval != NULL && r->nodesetval->nodeNr > 0) {
		xmlChar *c = xmlNodeGetContent(r->nodesetval->nodeTab[0]);

		snprintf(text, textlen, "%s", c ? (const char *)c : "");
		xmlFree(c);
		rc = 1;
	}
	xmlXPathFreeObject(r);
	xmlXPathFreeContext(cx);
	xmlFreeDoc(doc);
	return rc;
}

/* Ask the local appliance about vm; the reply object, or NULL with why. */
static json_t *
query(const char *path, const char *vm, char *why, size_t whylen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { QUERY_TIMEOUT_S, 0 };
	char req[8 + 80], buf[1024];
	json_t *o;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;
	ssize_t r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(req, sizeof(req), "vm %s\n", vm);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		snprintf(why, whylen, "the local appliance does not answer on %s (%s): is "
			 "migsec-control running with mgmt.query_socket set?", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (got < sizeof(buf) - 1 && (r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)r;
	close(fd);
	buf[got] = '\0';
	o = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (o == NULL || !json_is_boolean(json_object_get(o, "active"))) {
		snprintf(why, whylen, "the local appliance's answer on %s was not understood%s%s",
			 path, o ? ": " : "", o ? json_string_value(json_object_get(o, "error")) ?: "" : "");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* required: allowed only with an active sealed destination migration here. */
static void
gate_required(const struct mc_lvconf *lc, struct decision *d)
{
	json_t *o = query(lc->query_socket, d->vm, d->reason, sizeof(d->reason));
	const char *role, *id;

	if (o == NULL)
		return;
	role = json_string_value(json_object_get(o, "role"));
	id = json_string_value(json_object_get(o, "id"));
	if (!json_is_true(json_object_get(o, "active")))
		snprintf(d->reason, sizeof(d->reason), "the local appliance holds no migsec "
			 "migration for it");
	else if (!json_is_true(json_object_get(o, "sealed")))
		snprintf(d->reason, sizeof(d->reason), "the local appliance's migration %s for it "
			 "is not sealed (policy %s)", id ? id : "?",
			 json_string_value(json_object_get(o, "policy")) ?: "?");
	else if (role == NULL || strcmp(role, "destination") != 0)
		snprintf(d->reason, sizeof(d->reason), "the local appliance's migration %s for it "
			 "is not one towards this host (role %s)", id ? id : "?", role ? role : "?");
	else {
		d->allow = true;
		snprintf(d->reason, sizeof(d->reason), "sealed migration %s active on the local "
			 "appliance", id);
		d->migration = strdup(id);
	}
	json_decref(o);
}

/* The decision for vm from its XML and the host's settings. */
static void
decide(const char *xml, size_t len, const struct mc_lvconf *lc, struct decision *d)
{
	char text[64] = "";
	enum mc_lv_policy p;
	int found = metadata_policy(xml, len, text, sizeof(text));

	if (found < 0) {
		d->policy = "unknown";
		snprintf(d->reason, sizeof(d->reason), "the domain XML on stdin does not parse");
		return;
	}
	p = found ? mc_lv_policy_parse(text) : lc->default_policy;
	d->from = found ? "metadata" : "default";
	d->policy = mc_lv_policy_name(p);
	if (p == MC_LV_BAD) {
		snprintf(d->reason, sizeof(d->reason), "its migsec metadata holds no valid policy "
			 "(\"%.40s\"; set one with migsecctl policy)", text);
		return;	/* fail closed */
	}
	if (p != MC_LV_REQUIRED) {
		d->allow = true;
		snprintf(d->reason, sizeof(d->reason), "policy %s does not require sealing", d->policy);
		return;
	}
	gate_required(lc, d);
}

/* One JSON line to syslog (authpriv) and, if configured, the audit file. */
static void
audit(const struct mc_lvconf *lc, const struct decision *d)
{
	char ts[32];
	time_t now = time(NULL);
	json_t *o;
	char *line;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ts", ts, "event", "libvirt_migrate_begin",
		      "vm", d->vm, "policy", d->policy, "source", d->from ? d->from : "-",
		      "decision", d->allow ? "allow" : "refuse", "reason", d->reason);
	if (d->migration != NULL)
		json_object_set_new(o, "migration", json_string(d->migration));
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL)
		return;
	openlog("migsec-libvirt-hook", LOG_PID, LOG_AUTHPRIV);
	syslog(d->allow ? LOG_INFO : LOG_WARNING, "%s", line);
	closelog();
	if (lc != NULL && lc->audit_file[0] != '\0') {
		FILE *f = fopen(lc->audit_file, "a");

		if (f != NULL) {
			fprintf(f, "%s\n", line);
			fclose(f);
		}
	}
	free(line);
}

static void
refuse_message(const struct decision *d)
{
	fprintf(stderr, "migsec: refusing the incoming migration of '%s' (migsec policy %s): "
		"%s. Start a sealed migration for it first (migsecctl start --vm %s ... on both "
		"appliances, then migrate), or allow plaintext: migsecctl policy %s opportunistic\n",
		d->vm, d->policy, d->reason, d->vm, d->vm);
}

int
main(int argc, char **argv)
{
	struct decision d = { .vm = argc > 1 ? argv[1] : "?" };
	char err[384] = "", *xml;
	struct mc_lvconf lc;
	size_t len;
	bool conf_ok;

	if (argc < 4 || strcmp(argv[2], "migrate") != 0 || strcmp(argv[3], "begin") != 0)
		return 0;	/* not an incoming migration: not ours to judge */
	conf_ok = mc_lvconf_load(&lc, err, sizeof(err)) == 0;
	xml = read_stdin(&len);
	if (!conf_ok) {
		d.policy = "unknown";
		snprintf(d.reason, sizeof(d.reason), "%s (the gate fails closed until it is fixed)",
			 err);
	} else if (xml == NULL) {
		d.policy = "unknown";
		snprintf(d.reason, sizeof(d.reason), "out of memory reading the domain XML");
	} else {
		decide(xml, len, &lc, &d);
	}
	free(xml);
	audit(conf_ok ? &lc : NULL, &d);
	if (!d.allow)
		refuse_message(&d);
	free((char *)d.migration);
	return d.allow ? 0 : 1;
}
