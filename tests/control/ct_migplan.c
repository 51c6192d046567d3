/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl migrate's plan, without libvirt or network: libvirt URIs' hosts
 * and ports (mc_uri_host), the hosts map of libvirt.conf (mc_lvhosts.c:
 * lookups and every error naming file and line), the selectors and
 * migration URI of a plan (mc_migplan.c), and the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "mc_lvhosts.h"
#include "mc_migrate.h"
#include "tl.h"

static char path[64];

static int
load(const char *text, struct mc_lvhosts *hs, char *err, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -2;
	fputs(text, f);
	fclose(f);
	setenv("MIGSEC_LIBVIRT_CONF", path, 1);
	err[0] = '\0';
	return mc_lvhosts_load(hs, err, len);
}

#define HOSTS \
	"hosts = (\n" \
	"  { name = \"hostA\"; migration_address = \"192.0.2.1\";\n" \
	"    appliance = \"apA=198.51.100.2:7443\"; appliance_outer = \"203.0.113.1\"; },\n" \
	"  { name = \"hostB\"; aliases = [ \"host-b.example\" ]; migration_address = \"192.0.2.2\";\n" \
	"    migration_ports = \"50000-50010\";\n" \
	"    appliance = \"apB=198.51.100.6:7443\"; appliance_outer = \"203.0.113.2\"; },\n" \
	"  { name = \"hostC\"; migration_address = \"192.0.2.3\"; },\n" \
	"  { name = \"hostV6\"; migration_address = \"2001:db8:1::2\";\n" \
	"    appliance = \"[2001:db8:ff::9]:7443\"; appliance_outer = \"2001:db8:ff::2\"; }\n" \
	");\n"

static void
test_uri(void)
{
	char h[64];
	unsigned int port, lvd;

	CU_ASSERT(mc_uri_host("qemu+tcp://192.0.2.2/system", h, sizeof(h), &port, &lvd) == 0);
	CU_ASSERT_STRING_EQUAL(h, "192.0.2.2");
	CU_ASSERT(port == 0 && lvd == 16509);
	CU_ASSERT(mc_uri_host("qemu+ssh://root@host-b.example/system", h, sizeof(h), &port, &lvd) == 0);
	CU_ASSERT_STRING_EQUAL(h, "host-b.example");
	CU_ASSERT(port == 0 && lvd == 22);
	CU_ASSERT(mc_uri_host("qemu://host-b/system", h, sizeof(h), &port, &lvd) == 0);
	CU_ASSERT(lvd == 16514);
	CU_ASSERT(mc_uri_host("qemu+tls://[2001:db8::2]:16600/system?x=1", h, sizeof(h), &port,
			      &lvd) == 0);
	CU_ASSERT_STRING_EQUAL(h, "2001:db8::2");
	CU_ASSERT(port == 16600 && lvd == 16600);
	CU_ASSERT(mc_uri_host("tcp://192.0.2.2:49200", h, sizeof(h), &port, &lvd) == 0);
	CU_ASSERT(port == 49200);
	CU_ASSERT(mc_uri_host("qemu:///system", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_uri_host("qemu+tcp://host:0/system", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_uri_host("qemu+tcp://host:70000/system", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_uri_host("qemu+tcp://host:12x/system", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_uri_host("qemu+tcp://[2001:db8::2/system", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_uri_host("192.0.2.2", h, sizeof(h), &port, &lvd) == -1);
	CU_ASSERT(mc_same_addr("2001:db8::2", "2001:DB8:0::2"));
	CU_ASSERT(mc_same_addr("192.0.2.2", "192.0.2.2"));
	CU_ASSERT(!mc_same_addr("192.0.2.2", "192.0.2.20"));
	CU_ASSERT(!mc_same_addr("192.0.2.2", "::ffff:192.0.2.2"));
	CU_ASSERT(!mc_same_addr("host-b", "host-b"));
}

static void
test_hosts(void)
{
	static struct mc_lvhosts hs;
	char err[512];

	CU_ASSERT_FATAL(load(HOSTS, &hs, err, sizeof(err)) == 0);
	CU_ASSERT(hs.n == 4);
	CU_ASSERT(mc_lvhosts_find(&hs, "HOSTB") == &hs.h[1]);
	CU_ASSERT(mc_lvhosts_find(&hs, "host-b.example") == &hs.h[1]);
	CU_ASSERT(mc_lvhosts_find(&hs, "192.0.2.2") == &hs.h[1]);
	CU_ASSERT(mc_lvhosts_find(&hs, "192.0.2.9") == NULL);
	CU_ASSERT(hs.h[1].port_min == 50000 && hs.h[1].port_max == 50010);
	CU_ASSERT(hs.h[0].port_min == 49152 && hs.h[0].port_max == 49215);
	CU_ASSERT(hs.h[0].has_appliance && !hs.h[2].has_appliance);
	CU_ASSERT_STRING_EQUAL(hs.h[1].appliance.name, "apB");
	CU_ASSERT_STRING_EQUAL(hs.h[3].appliance.host, "2001:db8:ff::9");
	CU_ASSERT(load("default_policy = \"required\";\n", &hs, err, sizeof(err)) == 0 && hs.n == 0);
}

static void
bad_hosts(const char *text, const char *want)
{
	static struct mc_lvhosts hs;
	char err[512];

	if (load(text, &hs, err, sizeof(err)) != -1) {
		fprintf(stderr, "\naccepted: %s\n", text);
		CU_FAIL("a bad hosts map accepted");
		return;
	}
	CU_ASSERT(strstr(err, path) != NULL);
	if (strstr(err, want) == NULL) {
		fprintf(stderr, "\nwanted '%s' in: %s\n", want, err);
		CU_FAIL("error message");
	}
}

static void
test_hosts_bad(void)
{
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\"; applianse = \"x\"; } );",
		  ":1: setting 'hosts.[0].applianse': unknown setting");
	bad_hosts("hosts = ( { name = \"a\"; } );", "'hosts.[0].migration_address': required");
	bad_hosts("hosts = (\n { name = \"a\"; migration_address = \"192.0.2.300\"; } );",
		  ":2: setting 'hosts.[0].migration_address': '192.0.2.300' is not");
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\";\n"
		  " appliance = \"apA=198.51.100.2:7443\"; } );", "needs its outer address");
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\";\n"
		  " appliance = \"nonsense\"; appliance_outer = \"203.0.113.1\"; } );",
		  "'nonsense' is not [NAME=]HOST:PORT");
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\"; "
		  "migration_ports = \"50010-50000\"; } );", "must be \"MIN-MAX\"");
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\"; },\n"
		  " { name = \"b\"; aliases = [ \"A\" ]; migration_address = \"192.0.2.2\"; } );",
		  ":2: setting 'hosts.[1]': 'A' names two hosts");
	bad_hosts("hosts = { a = 1; };", "'hosts': must be a list");
	bad_hosts("hosts = ( { name = \"a\"; migration_address = \"192.0.2.1\" } ",
		  "syntax error");
}

static void
opts(struct mc_mig_opts *o, const char *dest, const char *uri, bool disks, unsigned int nbd)
{
	memset(o, 0, sizeof(*o));
	o->domain = "web1";
	o->dest_uri = dest;
	o->migrateuri = uri;
	o->copy_all = disks;
	o->disks_port = nbd;
}

static void
test_plan(void)
{
	static struct mc_lvhosts hs;
	struct mc_mig_opts o;
	struct mc_mig_plan p;
	char err[512];

	CU_ASSERT_FATAL(load(HOSTS, &hs, err, sizeof(err)) == 0);
	opts(&o, "qemu+tcp://host-b.example/system", NULL, false, 0);
	CU_ASSERT_FATAL(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == 0);
	CU_ASSERT(p.dst == &hs.h[1]);
	CU_ASSERT_STRING_EQUAL(p.migrate_uri, "tcp://192.0.2.2");
	CU_ASSERT(p.nb_sel == 2);
	CU_ASSERT_STRING_EQUAL(p.sel[0], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=50000-50010");
	CU_ASSERT_STRING_EQUAL(p.sel[1], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=16509");
	/* disks from the same range: one selector covers both */
	opts(&o, "qemu+tcp://192.0.2.2/system", NULL, true, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == 0 && p.nb_sel == 2);
	CU_ASSERT(p.nbd_lo == 50000 && p.nbd_hi == 50010);
	/* an explicit migration port and NBD port: one selector each */
	opts(&o, "qemu+ssh://hostB/system", "tcp://192.0.2.2:50005", true, 50007);
	CU_ASSERT_FATAL(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == 0);
	CU_ASSERT(p.nb_sel == 3);
	CU_ASSERT_STRING_EQUAL(p.sel[0], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=50005");
	CU_ASSERT_STRING_EQUAL(p.sel[1], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=50007");
	CU_ASSERT_STRING_EQUAL(p.sel[2], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=22");
	CU_ASSERT_STRING_EQUAL(p.migrate_uri, "tcp://192.0.2.2:50005");
	/* tunnelled: libvirtd's connection is the one selector */
	opts(&o, "qemu+tcp://192.0.2.2/system", NULL, true, 0);
	o.tunnelled = o.p2p = true;
	CU_ASSERT_FATAL(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == 0);
	CU_ASSERT(p.nb_sel == 1);
	CU_ASSERT_STRING_EQUAL(p.sel[0], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=16509");
	opts(&o, "qemu+tcp://hostB/system", NULL, false, 0);
	o.tunnelled = o.p2p = true;
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "must name hostB's migration address") != NULL);
	opts(&o, "qemu+tcp://192.0.2.2/system", "tcp://192.0.2.2:50005", false, 0);
	o.tunnelled = o.p2p = true;
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "--tunnelled takes no --migrateuri") != NULL);
	/* direct to a UNIX socket: the destination is its libvirt's hostname, no libvirtd port */
	opts(&o, "qemu+unix:///system?socket=/run/b/libvirt-sock", NULL, true, 0);
	CU_ASSERT_FATAL(mc_mig_plan(&hs, &hs.h[0], &hs.h[1], &o, &p, err, sizeof(err)) == 0);
	CU_ASSERT(p.dst == &hs.h[1] && p.lvd_port == 0 && p.nb_sel == 1);
	CU_ASSERT_STRING_EQUAL(p.sel[0], "src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=50000-50010");
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], &hs.h[0], &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "names the source host") != NULL);
	/* refusals */
	opts(&o, "qemu+tcp://198.51.100.77/system", NULL, false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "unknown destination host '198.51.100.77'") != NULL);
	opts(&o, "qemu+tcp://hostA/system", NULL, false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "names the source host") != NULL);
	opts(&o, "qemu+tcp://hostB/system", "tcp://203.0.113.2:50005", false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "is not hostB's migration address 192.0.2.2") != NULL);
	opts(&o, "qemu+tcp://hostB/system", "rdma://192.0.2.2", false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "is not tcp://HOST[:PORT]") != NULL);
	opts(&o, "qemu+tcp://hostV6/system", NULL, false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "not one address family") != NULL);
	opts(&o, "qemu:///system", NULL, false, 0);
	CU_ASSERT(mc_mig_plan(&hs, &hs.h[0], NULL, &o, &p, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "names no host") != NULL);
}

static int
parse(const char *line, struct mc_mig_opts *o)
{
	char buf[512], *argv[32];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t != NULL && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return mc_mig_opts_parse(argc, argv, o);
}

static void
test_options(void)
{
	struct mc_mig_opts o;

	CU_ASSERT_FATAL(parse("migrate --live web1 --p2p qemu+tcp://b/system --copy-storage-all "
			      "--parallel --parallel-connections 4 --bandwidth 100 --interval 0", &o) == 0);
	CU_ASSERT_STRING_EQUAL(o.domain, "web1");
	CU_ASSERT_STRING_EQUAL(o.dest_uri, "qemu+tcp://b/system");
	CU_ASSERT(o.copy_all && o.parallel && o.parallel_conns == 4 && o.bandwidth == 100);
	CU_ASSERT(o.lifetime == 3600 && o.rekey_s == 0 && o.rekey_bytes == 0 && o.p2p);
	CU_ASSERT(parse("migrate web1 d --live", &o) == 0 && !o.p2p);
	CU_ASSERT(parse("migrate web1 d --tunnelled", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --tunnelled --p2p", &o) == 0 && o.tunnelled);
	CU_ASSERT(parse("migrate web1 d --rekey-seconds 30 --rekey-bytes 1048576", &o) == 0);
	CU_ASSERT(o.rekey_s == 30 && o.rekey_bytes == 1048576);
	CU_ASSERT(parse("migrate web1 d --rekey-seconds 5", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --rekey-bytes 1000", &o) == -1);
	CU_ASSERT(parse("migrate web1", &o) == -1);
	CU_ASSERT(parse("migrate web1 d extra", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --copy-storage-all --copy-storage-inc", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --parallel-connections 2", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --disks-port 50000", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --lifetime 0", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --bandwidth 12x", &o) == -1);
	CU_ASSERT(parse("migrate web1 d --postcopy", &o) == 0 && o.postcopy);
	CU_ASSERT(parse("migrate web1 d --postcopy-after-precopy", &o) == -1);	/* not built */
	CU_ASSERT(parse("migrate web1 d --postcopy-bandwidth 5", &o) == -1);
}

static int
suite_init(void)
{
	snprintf(path, sizeof(path), "/tmp/ct-migplan-%d.conf", (int)getpid());
	return 0;
}

static int
suite_fini(void)
{
	unlink(path);
	return 0;
}

static CU_TestInfo tests[] = {
	{ "libvirt URIs: host, explicit port, libvirtd's port by transport; bad ones", test_uri },
	{ "hosts map: lookups by name, alias, address; defaults", test_hosts },
	{ "hosts map: every error names file, line and setting", test_hosts_bad },
	{ "plan: migration URI and selectors; unknown, same, off-path and mixed hosts refused",
	  test_plan },
	{ "command line: positionals anywhere, numbers, conflicts", test_options },
	CU_TEST_INFO_NULL,
};

void
ct_suite_migplan(void)
{
	tl_add_tests(CU_add_suite("migplan", suite_init, suite_fini), tests);
}
