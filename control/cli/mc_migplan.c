/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl migrate's plan (mc_migrate.h), before anything starts: which
 * host DEST-URI names, the migration URI handed to libvirt (always on the
 * destination's migration address, through the appliances), and the
 * selectors that cover every connection of the migration from the source's
 * migration address to the destination's: QEMU's migration port (the
 * --migrateuri port, or libvirt's whole migration port range, from which
 * the destination picks), the disks' NBD port (--disks-port, or the same
 * range), and libvirtd's port of DEST-URI (peer-to-peer: the source's
 * libvirtd's connection, on which the domain's XML and libvirt's migration
 * protocol cross; direct: migsecctl's own, if it runs on the source host).
 * No libvirt, no network here.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_migrate.h"

int
mc_uri_host(const char *uri, char *host, size_t len, unsigned int *port, unsigned int *lvd)
{
	const char *s = strstr(uri, "://"), *end, *at, *h, *t;
	char scheme[32] = "";
	size_t n;

	*port = *lvd = 0;
	if (s == NULL || (size_t)(s - uri) >= sizeof(scheme))
		return -1;
	memcpy(scheme, uri, (size_t)(s - uri));
	s += 3;
	end = s + strcspn(s, "/?");
	at = memchr(s, '@', (size_t)(end - s));
	h = at ? at + 1 : s;
	if (*h == '[') {	/* [v6][:port] */
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return -1;
		n = (size_t)(rb - h - 1);
		h++;
		s = rb + 1;
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		n = (size_t)((colon ? colon : end) - h);
		s = colon ? colon : end;
	}
	if (n == 0 || n >= len)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (*s == ':') {
		char *e;
		unsigned long v = strtoul(s + 1, &e, 10);

		if (v == 0 || v > 65535 || e != end)
			return -1;
		*port = (unsigned int)v;
	}
	t = strchr(scheme, '+') ? strchr(scheme, '+') + 1 : "tls";	/* qemu://HOST: TLS */
	*lvd = *port ? *port : !strcmp(t, "tcp") ? 16509 : !strcmp(t, "tls") ? 16514
		: !strncmp(t, "ssh", 3) || !strncmp(t, "libssh", 6) ? 22 : 0;
	return 0;
}

bool
mc_same_addr(const char *a, const char *b)
{
	unsigned char x[16] = { 0 }, y[16] = { 0 };
	int fa = strchr(a, ':') ? AF_INET6 : AF_INET, fb = strchr(b, ':') ? AF_INET6 : AF_INET;

	return fa == fb && inet_pton(fa, a, x) == 1 && inet_pton(fb, b, y) == 1 &&
	       memcmp(x, y, sizeof(x)) == 0;
}

/* --migrateuri tcp://HOST[:PORT]: HOST must be the destination's migration address. */
static int
migrate_uri(const struct mc_mig_opts *o, struct mc_mig_plan *p, char *err, size_t errlen)
{
	const struct mc_lvhost *d = p->dst;
	bool v6 = strchr(d->address, ':') != NULL;
	char host[64];
	unsigned int port, lvd;

	p->mig_lo = d->port_min;
	p->mig_hi = d->port_max;
	if (o->migrateuri == NULL) {
		snprintf(p->migrate_uri, sizeof(p->migrate_uri), v6 ? "tcp://[%s]" : "tcp://%s",
			 d->address);
		return 0;
	}
	if (strncmp(o->migrateuri, "tcp://", 6) != 0 ||
	    mc_uri_host(o->migrateuri, host, sizeof(host), &port, &lvd) != 0) {
		snprintf(err, errlen, "--migrateuri '%s' is not tcp://HOST[:PORT]", o->migrateuri);
		return -1;
	}
	if (!mc_same_addr(host, d->address)) {
		snprintf(err, errlen, "--migrateuri '%s': %s is not %s's migration address %s "
			 "(hosts in the configuration): the migration would not cross its "
			 "appliance", o->migrateuri, host, d->name, d->address);
		return -1;
	}
	if (port)
		p->mig_lo = p->mig_hi = port;
	snprintf(p->migrate_uri, sizeof(p->migrate_uri), "%s", o->migrateuri);
	return 0;
}

static void
add_sel(struct mc_mig_plan *p, unsigned int lo, unsigned int hi)
{
	const struct mc_lvhost *s = p->src, *d = p->dst;
	int plen = strchr(s->address, ':') ? 128 : 32;

	for (unsigned int i = 0; i < p->nb_sel; i++)	/* one range once */
		if (strstr(p->sel[i], ",dport=") != NULL) {
			unsigned int a = 0, b = 0;

			if (sscanf(strstr(p->sel[i], ",dport=") + 7, "%u-%u", &a, &b) < 1)
				continue;
			if (b == 0)
				b = a;
			if (a <= lo && hi <= b)
				return;
		}
	if (lo == hi)
		snprintf(p->sel[p->nb_sel++], sizeof(p->sel[0]),
			 "src=%s/%d,dst=%s/%d,proto=tcp,dport=%u", s->address, plen, d->address,
			 plen, lo);
	else
		snprintf(p->sel[p->nb_sel++], sizeof(p->sel[0]),
			 "src=%s/%d,dst=%s/%d,proto=tcp,dport=%u-%u", s->address, plen, d->address,
			 plen, lo, hi);
}

/*
 * --tunnelled: memory and disks cross inside libvirtd's own connection, so
 * that is the one selector, and DEST-URI must name the destination's
 * migration address (a name could resolve past the appliances).
 */
static int
tunnel(const struct mc_mig_opts *o, const char *host, struct mc_mig_plan *p, char *err,
       size_t errlen)
{
	if (o->migrateuri != NULL || o->disks_port || o->parallel) {
		snprintf(err, errlen, "--tunnelled takes no --migrateuri, --disks-port or --parallel "
			 "(everything crosses libvirtd's connection)");
		return -1;
	}
	if (!mc_same_addr(host, p->dst->address) || p->lvd_port == 0) {
		snprintf(err, errlen, "--tunnelled: DEST-URI %s must name %s's migration address %s "
			 "and a network transport: the tunnel is libvirtd's connection, and it must "
			 "cross the appliances", o->dest_uri, p->dst->name, p->dst->address);
		return -1;
	}
	add_sel(p, p->lvd_port, p->lvd_port);
	return 0;
}

int
mc_mig_plan(const struct mc_lvhosts *hs, const struct mc_lvhost *src, const struct mc_lvhost *dst,
	    const struct mc_mig_opts *o, struct mc_mig_plan *p, char *err, size_t errlen)
{
	char host[128];
	unsigned int port;

	memset(p, 0, sizeof(*p));
	p->src = src;
	if (mc_uri_host(o->dest_uri, host, sizeof(host), &port, &p->lvd_port) != 0) {
		if (dst == NULL) {
			snprintf(err, errlen, "DEST-URI '%s' names no host (as qemu+tcp://HOST/system)",
				 o->dest_uri);
			return -1;
		}
		host[0] = '\0';	/* direct, to a UNIX socket: dst is its libvirt's hostname */
		p->lvd_port = 0;
	}
	p->dst = dst != NULL ? dst : mc_lvhosts_find(hs, host);
	if (p->dst == NULL) {
		snprintf(err, errlen, "unknown destination host '%s' (of DEST-URI %s): not in the "
			 "hosts of %s", host, o->dest_uri, hs->file);
		return -1;
	}
	if (p->dst == src) {
		snprintf(err, errlen, "DEST-URI %s names the source host %s itself", o->dest_uri,
			 src->name);
		return -1;
	}
	if ((strchr(src->address, ':') == NULL) != (strchr(p->dst->address, ':') == NULL)) {
		snprintf(err, errlen, "%s migrates over %s, %s over %s: not one address family",
			 src->name, src->address, p->dst->name, p->dst->address);
		return -1;
	}
	if (o->tunnelled)
		return tunnel(o, host, p, err, errlen);
	if (migrate_uri(o, p, err, errlen) != 0)
		return -1;
	add_sel(p, p->mig_lo, p->mig_hi);
	if (o->copy_all || o->copy_inc) {
		p->nbd_lo = o->disks_port ? o->disks_port : p->dst->port_min;
		p->nbd_hi = o->disks_port ? o->disks_port : p->dst->port_max;
		add_sel(p, p->nbd_lo, p->nbd_hi);
	}
	/* DEST-URI's libvirtd port, if that connection crosses the appliances: the source's
	 * libvirtd's (peer-to-peer), or migsecctl's own on the source host (direct). */
	if (p->lvd_port)
		add_sel(p, p->lvd_port, p->lvd_port);
	return 0;
}

static int
number(const char *opt, const char *v, long long lo, long long hi, long long *out)
{
	char *e;
	long long n = strtoll(v, &e, 10);

	if (*v == '\0' || *e != '\0' || n < lo || n > hi) {
		fprintf(stderr, "migsecctl: migrate: %s wants a whole number %lld..%lld, not '%s'\n",
			opt, lo, hi, v);
		return -1;
	}
	*out = n;
	return 0;
}

int
mc_mig_opts_parse(int argc, char **argv, struct mc_mig_opts *o)
{
	static const struct option opts[] = {
		{ "connect", 1, NULL, 'c' }, { "live", 0, NULL, 'L' }, { "p2p", 0, NULL, 'P' },
		{ "migrateuri", 1, NULL, 'u' }, { "disks-port", 1, NULL, 'd' },
		{ "copy-storage-all", 0, NULL, 'A' }, { "copy-storage-inc", 0, NULL, 'I' },
		{ "persistent", 0, NULL, 'p' }, { "undefinesource", 0, NULL, 'U' },
		{ "parallel", 0, NULL, 'm' }, { "parallel-connections", 1, NULL, 'n' },
		{ "bandwidth", 1, NULL, 'b' }, { "id", 1, NULL, 'i' }, { "lifetime", 1, NULL, 'l' },
		{ "key-stdin", 0, NULL, 'k' }, { "interval", 1, NULL, 't' },
		{ "rekey-seconds", 1, NULL, 'r' }, { "rekey-bytes", 1, NULL, 'R' },
		{ "tunnelled", 0, NULL, 'T' }, { "tunneled", 0, NULL, 'T' },
		{ "postcopy", 0, NULL, 'y' }, { NULL, 0, NULL, 0 },
	};
	const char *pos[2] = { NULL, NULL };
	long long v;
	int opt;

	memset(o, 0, sizeof(*o));
	o->lifetime = 3600;
	o->interval_ms = 1000;
	optind = 0;	/* glibc: initialise again, so that "-" (arguments in order) applies */
	while ((opt = getopt_long(argc, argv, "-c:", opts, NULL)) != -1) {
		switch (opt) {
		case 1:
			if (pos[1] != NULL) {
				fprintf(stderr, "migsecctl: migrate: unexpected argument '%s'\n", optarg);
				return -1;
			}
			pos[pos[0] != NULL] = optarg;
			break;
		case 'c': o->connect = optarg; break;
		case 'L': break;	/* always live */
		case 'P': o->p2p = true; break;
		case 'u': o->migrateuri = optarg; break;
		case 'A': o->copy_all = true; break;
		case 'I': o->copy_inc = true; break;
		case 'p': o->persistent = true; break;
		case 'U': o->undefine = true; break;
		case 'm': o->parallel = true; break;
		case 'T': o->tunnelled = true; break;
		case 'y': o->postcopy = true; break;
		case 'i': o->id = optarg; break;
		case 'k': o->key_stdin = true; break;
		case 'r':	/* the appliances' own bounds (docs/management.md) */
			if (number("--rekey-seconds", optarg, 10, 86400, &o->rekey_s) != 0)
				return -1;
			break;
		case 'R':
			if (number("--rekey-bytes", optarg, 1 << 20, 1LL << 62, &o->rekey_bytes) != 0)
				return -1;
			break;
		case 'd': case 'n': case 'b': case 'l': case 't':
			if (number(opt == 'd' ? "--disks-port" : opt == 'n' ? "--parallel-connections"
				   : opt == 'b' ? "--bandwidth" : opt == 'l' ? "--lifetime"
				   : "--interval", optarg, opt == 't' ? 0 : 1, opt == 'd' ? 65535
				   : opt == 'n' ? 255 : opt == 'b' ? 1 << 20 : opt == 'l' ? 604800
				   : 3600, &v) != 0)
				return -1;
			if (opt == 'd')
				o->disks_port = (unsigned int)v;
			else if (opt == 'n')
				o->parallel_conns = (unsigned int)v;
			else if (opt == 'b')
				o->bandwidth = (unsigned int)v;
			else if (opt == 'l')
				o->lifetime = v;
			else
				o->interval_ms = v ? (int)(v * 1000) : 0x7fffffff;
			break;
		default:
			return -1;
		}
	}
	o->domain = pos[0];
	o->dest_uri = pos[1];
	if (o->domain == NULL || o->dest_uri == NULL) {
		fprintf(stderr, "migsecctl: migrate needs DOMAIN and DEST-URI (as virsh migrate: "
			"migsecctl migrate web1 qemu+tcp://host-b/system)\n");
		return -1;
	}
	if (o->tunnelled && !o->p2p) {
		fprintf(stderr, "migsecctl: migrate: --tunnelled needs --p2p (libvirt tunnels only "
			"a peer-to-peer migration)\n");
		return -1;
	}
	if (o->copy_all && o->copy_inc) {
		fprintf(stderr, "migsecctl: migrate: --copy-storage-all or --copy-storage-inc, not both\n");
		return -1;
	}
	if ((o->parallel_conns && !o->parallel) || (o->disks_port && !o->copy_all && !o->copy_inc)) {
		fprintf(stderr, "migsecctl: migrate: --parallel-connections needs --parallel, "
			"--disks-port a --copy-storage-* option\n");
		return -1;
	}
	return 0;
}
