/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness: the configuration parsers. The input is one file's text,
 * read by all three parsers that read such files: the data plane's
 * (dataplane/setup/ms_conf.c), migsec-control's "mgmt" group (control/daemon/mc_conf.c)
 * and a crypto profile (dataplane/setup/ms_profile.c; the real profiles of
 * pmd-profiles/ lie next to it, so that a fail-over profile finds its
 * members); an accepted data plane file or profile then goes through the
 * EAL command line builder (ms_eal.c).
 * Checked besides ASan/UBSan/LSan: a refusal says where (the file name,
 * and a line or setting), an acceptance is inside every documented range.
 *
 * libconfig's "@include" reads other files; inputs with it are skipped
 * (a file that includes /dev/zero is the operator's doing, not input).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mc_conf.h"
#include "ms_conf.h"
#include "ms_eal.h"
#include "ms_profile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int ms_logtype;	/* ms_port.c logs through it; nothing here logs */

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fz_conf: %s:%d: %s\n", __FILE__, \
	__LINE__, #c); abort(); } } while (0)
#define MAX_INPUT (64 * 1024)

static char dir[64];		/* holds the profile "fz.conf" and the real ones */
static char path[128];
static const char *const real_profiles[] = { "aesni_gcm", "openssl", "qat", NULL };

static void
copy_profile(const char *name)
{
	char from[256], to[128], buf[4096];
	FILE *in, *out;
	size_t n;

	snprintf(from, sizeof(from), "%s/%s.conf", FZ_PROFILES, name);
	snprintf(to, sizeof(to), "%s/%s.conf", dir, name);
	in = fopen(from, "r");
	out = fopen(to, "w");
	if (in == NULL || out == NULL) {
		perror("fz_conf: copying the crypto profiles");
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			exit(1);
	fclose(in);
	if (fclose(out) != 0)
		exit(1);
}

/* The directory and what is in it go when the run ends (not after a crash). */
static void
remove_dir(void)
{
	char p[160];

	unlink(path);
	for (int i = 0; real_profiles[i] != NULL; i++) {
		snprintf(p, sizeof(p), "%s/%s.conf", dir, real_profiles[i]);
		unlink(p);
	}
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/migsec-fz-conf.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("fz_conf: mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/fz.conf", dir);
	atexit(remove_dir);
	for (int i = 0; real_profiles[i] != NULL; i++)
		copy_profile(real_profiles[i]);
	return 0;
}

static void
write_input(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	CHECK(fwrite(data, 1, size, f) == size);
	CHECK(fclose(f) == 0);
}

/* "FILE:LINE: ..." or "FILE: ..." for the file the parser read. */
static void
check_err(const char *err, const char *file)
{
	size_t n = strlen(file);

	CHECK(strncmp(err, file, n) == 0 && err[n] == ':');
	CHECK(strlen(err) > n + 2);
}

/* A profile's error names the profile, a member profile in dir, or the
 * appliance's configuration (crypto.pci, crypto.primary, ...). */
static void
check_profile_err(const char *err, const char *conf_file)
{
	size_t n = strlen(dir);

	if (strncmp(err, dir, n) == 0 && err[n] == '/')
		CHECK(strstr(err + n, ".conf:") != NULL);
	else
		check_err(err, conf_file);
}

/* An accepted profile: its devices are complete, and the EAL takes them. */
static void
check_profile(const struct ms_profile *p, const struct ms_conf *c)
{
	const struct ms_cdev_desc *devs[3];
	unsigned int n = ms_profile_devices(p, devs);
	struct ms_eal_args *eal = malloc(sizeof(*eal));
	char err[512] = "";

	CHECK(strcmp(p->name, "fz") == 0 && p->dev.driver[0] && p->dev.device[0]);
	CHECK(n >= 1 && n <= 3);
	for (unsigned int i = 0; i < n; i++)
		CHECK(devs[i]->driver[0] && devs[i]->device[0] &&	/* {pci} replaced */
		      strstr(devs[i]->device, "{pci}") == NULL && strstr(devs[i]->pci, "{pci}") == NULL);
	if (p->failover)
		CHECK(p->member[MS_PRIMARY].device[0] && p->member[MS_SECONDARY].device[0]);
	CHECK(eal != NULL);
	if (ms_eal_build(c, p, "migsec-dataplane", eal, err, sizeof(err)) == 0)
		CHECK(eal->argc > 0 && eal->argc < MS_EAL_ARGV_MAX && eal->argv[eal->argc] == NULL);
	else
		CHECK(err[0] != '\0');
	free(eal);
}

static void
check_conf(const struct ms_conf *c)
{
	const struct ms_port_conf *p[] = { &c->inner, &c->outer };
	struct ms_profile prof = { 0 };
	struct ms_eal_args *eal = malloc(sizeof(*eal));
	char err[512] = "";

	CHECK(c->lcores[0] != '\0' && c->name[0] != '\0');
	for (int i = 0; i < 2; i++) {
		CHECK(p[i]->device[0] != '\0');
		CHECK(p[i]->mtu >= 1280 && p[i]->mtu <= 9600);
		CHECK(p[i]->addr4.ip.af == MS_AF_INET || p[i]->addr6.ip.af == MS_AF_INET6);
	}
	CHECK(c->mbuf_size >= 14 + (c->inner.mtu > c->outer.mtu ? c->inner.mtu : c->outer.mtu) + 128);
	CHECK(c->replay_window >= 64 && c->replay_window <= 4096);
	CHECK(c->burst >= 1 && c->burst <= 128 && c->nb_remote <= MS_REMOTE_MAX);
	CHECK(c->nb_eal_args <= MS_EAL_ARGS_MAX && c->ctl_socket[0] == '/');
	/* The EAL command line from it, with a profile of the usual shape. */
	snprintf(prof.name, sizeof(prof.name), "%s", c->profile);
	snprintf(prof.dev.driver, sizeof(prof.dev.driver), "crypto_aesni_gcm");
	snprintf(prof.dev.device, sizeof(prof.dev.device), "crypto_aesni_gcm0");
	snprintf(prof.dev.vdev, sizeof(prof.dev.vdev), "crypto_aesni_gcm0");
	CHECK(eal != NULL);
	if (ms_eal_build(c, &prof, "migsec-dataplane", eal, err, sizeof(err)) == 0) {
		CHECK(eal->argc > 0 && eal->argc < MS_EAL_ARGV_MAX && eal->argv[eal->argc] == NULL);
		for (int i = 0; i < eal->argc; i++)
			CHECK(eal->argv[i] != NULL);
	} else {
		check_err(err, c->file);
	}
	free(eal);
}

static void
check_mc_conf(const struct mc_conf *c)
{
	CHECK(c->listen[0] && c->ca[0] && c->cert[0] && c->key[0] && c->dp_socket[0] == '/');
	CHECK(c->max_conns >= 1 && c->max_conns <= 256 && c->timeout_s >= 1);
	CHECK(c->rekey_s == 0 || c->rekey_s >= 10);
	CHECK(c->nb_clients >= 1 && c->nb_clients <= MC_CLIENTS_MAX);
	CHECK(c->nb_peers >= 1 && c->nb_peers <= MC_PEERS_MAX);
	CHECK(c->max_per_source >= 1 && c->max_per_source <= 256 && c->handshake_ms >= 100 &&
	      c->handshake_ms <= 60000 && c->request_s >= 1 && c->request_s <= 600);
	CHECK(c->audit_max_kib == 0 || (c->audit_max_kib >= 4 && c->audit_max_kib <= 1U << 22));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ms_conf conf;
	static struct mc_conf mconf;
	static struct ms_profile prof;
	char err[512];

	if (size > MAX_INPUT || memmem(data, size, "@include", 8) != NULL)
		return -1;
	write_input(data, size);

	err[0] = '\0';
	if (ms_conf_load(path, &conf, err, sizeof(err)) == 0)
		check_conf(&conf);
	else
		check_err(err, path);

	err[0] = '\0';
	if (mc_conf_load(path, &mconf, err, sizeof(err)) == 0)
		check_mc_conf(&mconf);
	else
		check_err(err, path);

	/* The same text as the profile "fz" in dir, for an appliance without
	 * crypto.pci and one with (a PCI device's address for {pci}). */
	for (int pci = 0; pci < 2; pci++) {
		memset(&conf, 0, sizeof(conf));
		snprintf(conf.file, sizeof(conf.file), "appliance.conf");
		snprintf(conf.name, sizeof(conf.name), "fz");
		snprintf(conf.lcores, sizeof(conf.lcores), "0,1");
		snprintf(conf.file_prefix, sizeof(conf.file_prefix), "fz");
		snprintf(conf.log_level, sizeof(conf.log_level), "info");
		snprintf(conf.inner.device, sizeof(conf.inner.device), "net_ring0");
		snprintf(conf.outer.device, sizeof(conf.outer.device), "net_ring1");
		conf.memory_mb = 512;
		snprintf(conf.profile, sizeof(conf.profile), "fz");
		snprintf(conf.profile_dir, sizeof(conf.profile_dir), "%s", dir);
		if (pci)
			snprintf(conf.crypto_pci, sizeof(conf.crypto_pci), "0000:3d:01.0");
		err[0] = '\0';
		if (ms_profile_load(&conf, &prof, err, sizeof(err)) == 0)
			check_profile(&prof, &conf);
		else
			check_profile_err(err, conf.file);
	}
	return 0;
}
