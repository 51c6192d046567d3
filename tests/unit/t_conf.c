/* SPDX-License-Identifier: BSD-3-Clause */
/* Configuration: every error names file, line and setting; nothing is guessed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ms_conf.h"
#include "ms_profile.h"
#include "ms_stats.h"
#include "tl.h"
#include "ut.h"

#ifndef UT_SRCDIR
#error "UT_SRCDIR must point at the source tree"
#endif

static char dir[64];
static char path[128];

/* A valid file; line numbers below refer to it. */
static const char *const good[] = {
	"name = \"apA\";",						/* 1 */
	"eal: {",							/* 2 */
	"  lcores = \"0,1\";",						/* 3 */
	"  file_prefix = \"apA\";",					/* 4 */
	"};",								/* 5 */
	"inner: { device = \"net_af_packet0,iface=inner\"; ipv4 = \"192.0.2.253/24\"; };", /* 6 */
	"outer: {",							/* 7 */
	"  device = \"0000:3b:00.1\";",					/* 8 */
	"  ipv4 = \"203.0.113.1/24\";",					/* 9 */
	"  mtu = 9000;",						/* 10 */
	"};",								/* 11 */
	"remote = ( { prefix = \"192.0.2.2/32\"; via = \"203.0.113.2\"; } );", /* 12 */
	"policy: { default = \"bypass\"; replay_window = 2048; };",	/* 13 */
	"limits: { mbuf_size = 9400; };",				/* 14 */
	NULL,
};

static int
suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/migsec-ut-conf-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.conf", dir);
	return 0;
}

static int
suite_fini(void)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

/* Write good with line `line` replaced (0: none) and optional extra text. */
static int
load(int line, const char *repl, const char *extra, struct ms_conf *c, char *err)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	for (int i = 0; good[i]; i++)
		fprintf(f, "%s\n", i + 1 == line ? repl : good[i]);
	if (extra)
		fprintf(f, "%s\n", extra);
	fclose(f);
	err[0] = '\0';
	return ms_conf_load(path, c, err, 512);
}

static void
expect(int line, const char *repl, const char *extra, const char *want)
{
	static struct ms_conf c;
	char err[512], full[600];

	CU_ASSERT_NOT_EQUAL(load(line, repl, extra, &c, err), 0);
	snprintf(full, sizeof(full), "%s:%s", path, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, full));
	if (strstr(err, full) == NULL)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, full);
}

static void
test_good(void)
{
	static struct ms_conf c;
	char err[512];

	CU_ASSERT_EQUAL_FATAL(load(0, NULL, NULL, &c, err), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "apA");
	CU_ASSERT_EQUAL(c.outer.mtu, 9000);
	CU_ASSERT_EQUAL(c.inner.mtu, 1500);		/* default */
	CU_ASSERT_EQUAL(c.policy, MS_POLICY_BYPASS);
	CU_ASSERT_EQUAL(c.replay_window, 2048);
	CU_ASSERT_EQUAL(c.udp_port, 4500);
	CU_ASSERT_EQUAL(c.nb_remote, 1);
	CU_ASSERT(c.remote[0].proxy);
	CU_ASSERT_EQUAL(c.outer.addr4.len, 24);
	CU_ASSERT_EQUAL(c.max_sa, 1024);
	CU_ASSERT_EQUAL(c.huge, MS_HUGE_AUTO);
	CU_ASSERT(c.huge_unlink);			/* default: keys die with the process */
	CU_ASSERT_EQUAL(c.poll.mode, MS_POLL_BUSY);
	CU_ASSERT_EQUAL(c.poll.spin_polls, 512);
	CU_ASSERT_EQUAL(c.poll.sleep_after_us, 500);
	CU_ASSERT_EQUAL(c.poll.sleep_max_us, 1000);
	CU_ASSERT_EQUAL_FATAL(load(0, NULL, "poll: { mode = \"adaptive\"; sleep_max_us = 200; };",
				   &c, err), 0);
	CU_ASSERT_EQUAL(c.poll.mode, MS_POLL_ADAPTIVE);
	CU_ASSERT_EQUAL(c.poll.sleep_max_us, 200);
	CU_ASSERT_EQUAL_FATAL(load(0, NULL, "poll: { mode = \"interrupt\"; };", &c, err), 0);
	CU_ASSERT_EQUAL(c.poll.mode, MS_POLL_INTERRUPT);
	CU_ASSERT_STRING_EQUAL(ms_poll_mode_name(c.poll.mode), "interrupt");
}

static void
test_errors(void)
{
	expect(10, "  mtu = 70000;", NULL, "10: setting 'outer.mtu': must be between 1280 and 9600 (got 70000)");
	expect(10, "  mtu = \"big\";", NULL, "10: setting 'outer.mtu': must be an integer");
	expect(10, "  mtux = 1500;", NULL, "10: setting 'outer.mtux': unknown setting");
	expect(3, "  lcorez = \"0,1\";", NULL, "3: setting 'eal.lcorez': unknown setting");
	expect(3, "  lcores = \"\";", NULL, "3: setting 'eal.lcores': must not be empty");
	expect(3, "", NULL, "2: setting 'eal.lcores': required setting is missing");
	expect(3, "  lcores = \"0;1\";", NULL, "3: setting 'eal.lcores': must be a core list");
	expect(3, "  lcores = \"0,1\"; huge_unlink = 1;", NULL,
	       "3: setting 'eal.huge_unlink': must be true or false");
	expect(9, "  ipv4 = \"203.0.113.300/24\";", NULL, "9: setting 'outer.ipv4': not a valid ADDRESS/PREFIXLEN");
	expect(9, "  ipv4 = \"2001:db8::1/64\";", NULL, "9: setting 'outer.ipv4': must be an IPv4 address");
	expect(9, "  ipv4 = \"203.0.113.1\";", NULL, "9: setting 'outer.ipv4': must be ADDRESS/PREFIXLEN");
	expect(13, "policy: { default = \"allow\"; };", NULL,
	       "13: setting 'policy.default': must be one of \"discard\", \"bypass\" (got \"allow\")");
	expect(13, "policy: { replay_window = 32; };", NULL,
	       "13: setting 'policy.replay_window': must be between 64 and 4096 (got 32)");
	expect(12, "remote = ( { prefix = \"192.0.2.2/24\"; via = \"203.0.113.2\"; } );", NULL,
	       "12: setting 'remote[0]': prefix \"192.0.2.2/24\" is not a valid network");
	expect(12, "remote = ( { prefix = \"2001:db8::/64\"; via = \"2001:db8:ff::2\"; } );", NULL,
	       "12: setting 'remote[0]': via is IPv6 but outer has no IPv6 address");
	expect(8, "  device = \"0000:3b:00.1\"; gateway4 = \"198.51.100.1\";", NULL,
	       "8: setting 'outer': gateway4 must be inside the ipv4 prefix");
	expect(14, "limits: { mbuf_size = 2048; };", NULL,
	       "14: setting 'limits.mbuf_size': 2048 bytes cannot hold an MTU 9000 frame");
	expect(0, NULL, "bogus = 1;", "15: setting 'bogus': unknown setting");
	expect(0, NULL, "control: { socket = \"relative.sock\"; };",
	       "15: setting 'control.socket': must be an absolute path");
	expect(6, "inner: { device = ; };", NULL, "6: syntax error");
	expect(0, NULL, "poll: { mode = \"lazy\"; };",
	       "15: setting 'poll.mode': must be one of \"busy\", \"adaptive\", \"interrupt\" "
	       "(got \"lazy\")");
	expect(0, NULL, "poll: { sleep_max_us = 0; };",
	       "15: setting 'poll.sleep_max_us': must be between 1 and 100000 (got 0)");
	expect(0, NULL, "poll: { spin_us = 5; };", "15: setting 'poll.spin_us': unknown setting");
	expect(1, "name = \"a b\";", NULL, "1: setting 'name': only letters, digits");
}

static void
test_missing_file(void)
{
	static struct ms_conf c;
	char err[512];

	CU_ASSERT_NOT_EQUAL(ms_conf_load("/nonexistent/migsec.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/migsec.conf: cannot read file"));
}

static void
test_example_and_profiles(void)
{
	static struct ms_conf c;
	struct ms_profile p;
	char err[512];

	CU_ASSERT_EQUAL(ms_conf_load(UT_SRCDIR "/conf/migsec.conf.example", &c, err, sizeof(err)), 0);
	snprintf(c.profile_dir, sizeof(c.profile_dir), "%s", UT_SRCDIR "/pmd-profiles");
	CU_ASSERT_EQUAL(ms_profile_load(&c, &p, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(p.dev.device, "crypto_aesni_gcm0");
	snprintf(c.profile, sizeof(c.profile), "nosuch");
	CU_ASSERT_NOT_EQUAL(ms_profile_load(&c, &p, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "crypto.profile \"nosuch\": cannot read"));
}

/*
 * The good file plus a crypto group on line 15, with the shipped profiles
 * (or those in pdir); returns the profile loader's result.
 */
static int
load_profile(const char *crypto, const char *pdir, struct ms_profile *p, char *err)
{
	static struct ms_conf c;

	CU_ASSERT_EQUAL_FATAL(load(0, NULL, crypto, &c, err), 0);
	snprintf(c.profile_dir, sizeof(c.profile_dir), "%s", pdir ? pdir : UT_SRCDIR "/pmd-profiles");
	err[0] = '\0';
	return ms_profile_load(&c, p, err, 1024);
}

static void
expect_profile(const char *crypto, const char *pdir, const char *want)
{
	static struct ms_profile p;
	char err[1024];

	CU_ASSERT_NOT_EQUAL(load_profile(crypto, pdir, &p, err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	if (strstr(err, want) == NULL)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
}

/* Every shipped profile loads; {pci} comes from crypto.pci, canonical. */
static void
test_profiles(void)
{
	static struct ms_profile p;
	char err[1024];

	CU_ASSERT_EQUAL(load_profile("crypto: { profile = \"openssl\"; };", NULL, &p, err), 0);
	CU_ASSERT(!p.failover && strcmp(p.dev.vdev, "crypto_openssl0") == 0);
	CU_ASSERT_EQUAL(load_profile("crypto: { profile = \"qat\"; pci = \"3d:01.0\"; };", NULL,
				     &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.dev.pci, "0000:3d:01.0");
	CU_ASSERT_STRING_EQUAL(p.dev.device, "0000:3d:01.0_qat_sym");
	CU_ASSERT_STRING_EQUAL(p.dev.driver, "crypto_qat");
	CU_ASSERT(p.dev.hugepages && p.dev.vdev[0] == '\0');
	/* the shipped fail-over profile: qat, then aesni_gcm */
	CU_ASSERT_EQUAL(load_profile("crypto: { profile = \"failover\"; pci = \"0000:3d:01.1\"; };",
				     NULL, &p, err), 0);
	CU_ASSERT(p.failover);
	CU_ASSERT_STRING_EQUAL(p.member[MS_PRIMARY].device, "0000:3d:01.1_qat_sym");
	CU_ASSERT_STRING_EQUAL(p.member[MS_SECONDARY].device, "crypto_aesni_gcm0");
	CU_ASSERT_STRING_EQUAL(p.dev.vdev, "crypto_scheduler0,mode=fail-over");
	CU_ASSERT_EQUAL(load_profile("crypto: { profile = \"failover\"; primary = \"aesni_gcm\"; "
				     "secondary = \"openssl\"; };", NULL, &p, err), 0);
	CU_ASSERT_STRING_EQUAL(p.member[MS_PRIMARY].device, "crypto_aesni_gcm0");
	CU_ASSERT_STRING_EQUAL(p.member[MS_SECONDARY].device, "crypto_openssl0");
	if (err[0])
		fprintf(stderr, "\n  %s\n", err);
}

/* Profile errors name the file, line and setting where the fix goes. */
static void
test_profile_errors(void)
{
	char pdir[96], f[128];
	FILE *fp;

	expect(0, NULL, "crypto: { pci = \"3d:01\"; };",
	       "15: setting 'crypto.pci': must be a PCI address like");
	expect_profile("crypto: { profile = \"qat\"; };", NULL,
		       "15: setting 'crypto.pci': crypto profile qat (" UT_SRCDIR
		       "/pmd-profiles/qat.conf) drives a PCI device: set crypto.pci");
	expect_profile("crypto: { profile = \"failover\"; };", NULL,
		       "15: setting 'crypto.pci': crypto profile failover");
	expect_profile("crypto: { pci = \"0000:3d:01.0\"; };", NULL,
		       "15: setting 'crypto.pci': crypto profile aesni_gcm drives no PCI device");
	expect_profile("crypto: { primary = \"openssl\"; };", NULL,
		       "15: setting 'crypto.primary': crypto profile aesni_gcm is not a fail-over");
	expect_profile("crypto: { profile = \"failover\"; primary = \"nosuch\"; };", NULL,
		       "15: setting 'crypto.primary': crypto profile \"nosuch\": cannot read");
	expect_profile("crypto: { profile = \"failover\"; primary = \"failover\"; };", NULL,
		       "15: setting 'crypto.primary': \"failover\" is itself a fail-over profile");
	expect_profile("crypto: { profile = \"failover\"; primary = \"openssl\"; "
		       "secondary = \"openssl\"; };", NULL,
		       "15: setting 'crypto.secondary': the secondary is the primary's device");
	/* errors inside a profile file */
	snprintf(pdir, sizeof(pdir), "%s/prof", dir);
	CU_ASSERT_FATAL(mkdir(pdir, 0700) == 0);
	snprintf(f, sizeof(f), "%s/bad.conf", pdir);
	fp = fopen(f, "w");
	CU_ASSERT_FATAL(fp != NULL);
	fprintf(fp, "profile: {\n  name = \"bad\";\n  driver = \"crypto_openssl\";\n"
		"  device = \"crypto_openssl0\";\n  hugepages = 1;\n};\n");
	fclose(fp);
	expect_profile("crypto: { profile = \"bad\"; };", pdir,
		       "/prof/bad.conf:5: setting 'profile.hugepages': must be true or false");
	fp = fopen(f, "w");
	fprintf(fp, "profile: {\n  name = \"bad\";\n  driver = \"crypto_openssl\";\n"
		"  device = \"crypto_openssl0\";\n  primary = \"openssl\";\n"
		"  secondary = \"aesni_gcm\";\n};\n");
	fclose(fp);
	expect_profile("crypto: { profile = \"bad\"; };", pdir,
		       "/prof/bad.conf:1: setting 'profile.device': a fail-over profile drives the "
		       "crypto_scheduler PMD");
	/* every {pci} is replaced; a device name that then would not fit is refused */
	fp = fopen(f, "w");
	fprintf(fp, "profile: {\n  name = \"bad\";\n  driver = \"crypto_qat\";\n"
		"  pci = \"{pci}\";\n  device = \"{pci}_qat_{pci}\";\n};\n");
	fclose(fp);
	{
		static struct ms_profile p;
		char err[1024];

		CU_ASSERT_EQUAL(load_profile("crypto: { profile = \"bad\"; pci = \"3d:01.0\"; };",
					     pdir, &p, err), 0);
		CU_ASSERT_STRING_EQUAL(p.dev.device, "0000:3d:01.0_qat_0000:3d:01.0");
		CU_ASSERT_STRING_EQUAL(p.dev.pci, "0000:3d:01.0");
	}
	fp = fopen(f, "w");
	fprintf(fp, "profile: {\n  name = \"bad\";\n  driver = \"crypto_qat\";\n  device = \"");
	for (int i = 0; i < MS_DEV_MAX / 8; i++)
		fprintf(fp, "{pci}");
	fprintf(fp, "\";\n};\n");
	fclose(fp);
	expect_profile("crypto: { profile = \"bad\"; pci = \"3d:01.0\"; };", pdir,
		       "/prof/bad.conf:1: setting 'profile.device': too long once {pci} is replaced "
		       "by crypto.pci");
	fp = fopen(f, "w");
	fprintf(fp, "profile: {\n  name = \"bad\";\n  driver = \"\";\n"
		"  device = \"crypto_openssl0\";\n};\n");
	fclose(fp);
	expect_profile("crypto: { profile = \"bad\"; };", pdir,
		       "/prof/bad.conf:3: setting 'profile.driver': must not be empty");
	fp = fopen(f, "w");
	fprintf(fp, "profile: {\n  name = \"bad\";\n  drivr = \"x\";\n};\n");
	fclose(fp);
	expect_profile("crypto: { profile = \"bad\"; };", pdir,
		       "/prof/bad.conf:3: setting 'profile.drivr': unknown setting");
	unlink(f);
	rmdir(pdir);
}

/* docs/operations.md documents every drop reason and telemetry endpoint there is. */
static void
test_readme(void)
{
	static const char *const endpoints[] = { "/migsec/info", "/migsec/stats", "/migsec/drops",
		"/migsec/ports", "/migsec/workers", "/migsec/sa/list", "/migsec/sa/info" };
	static char text[1 << 17];
	FILE *f = fopen(UT_SRCDIR "/docs/operations.md", "r");
	size_t n;

	CU_ASSERT_FATAL(f != NULL);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (int r = 0; r < MS_DROP_MAX; r++) {
		char want[64];

		snprintf(want, sizeof(want), "| `%s` |", ms_drop_name((enum ms_drop)r));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
		if (strstr(text, want) == NULL)
			fprintf(stderr, "\n  docs/operations.md lacks drop reason %s\n", want);
	}
	for (unsigned int e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++)
		CU_ASSERT_PTR_NOT_NULL(strstr(text, endpoints[e]));
}

static const CU_TestInfo tests[] = {
	{ "a valid file and its defaults", test_good },
	{ "each error names file:line:setting", test_errors },
	{ "missing file", test_missing_file },
	{ "the shipped example and profile load", test_example_and_profiles },
	{ "every shipped crypto profile loads", test_profiles },
	{ "crypto profile errors name file:line:setting", test_profile_errors },
	{ "docs/operations.md documents every drop reason and endpoint", test_readme },
	CU_TEST_INFO_NULL,
};

void
ut_suite_conf(void)
{
	tl_add_tests(CU_add_suite("conf", suite_init, suite_fini), tests);
}
