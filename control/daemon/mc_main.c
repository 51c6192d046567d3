/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control: takes one-shot migration keys from the management plane
 * over mutual TLS 1.3 and turns them into the data plane's SAs. Not DPDK.
 * Runs as one process, one thread: main() here, then the poll loop of
 * mc_server.c. Set-up returns -errno; only main() exits.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mc_audit.h"
#include "mc_query.h"
#include "mc_authz.h"
#include "mc_secmem.h"
#include "mc_server.h"

#define SECURE_HEAP (256 * 1024)
/* Locked memory for the whole process: about 10 MiB mapped at start, plus
 * TLS and buffers of up to 256 connections (mgmt.max_connections). */
#define MEMLOCK_LIMIT (64UL << 20)

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: migsec-control -c FILE [--check]\n"
		"\n"
		"Takes one-shot migration keys from the management plane over mutual TLS 1.3\n"
		"and installs the data plane's SAs (the 'mgmt' group of the appliance's file).\n"
		"\n"
		"  -c, --config FILE  the appliance's configuration (conf/migsec.conf.example)\n"
		"      --check        validate the configuration and TLS material, then exit\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n"
		"\n"
		"SIGINT/SIGTERM: stop and wipe the keys held here; migrations keep running in\n"
		"the data plane and are recovered (without rekey) when migsec-control returns.\n"
		"SIGHUP: read mgmt.ca and mgmt.crl again (revoked client certificates).\n"
		"Exit status: 0 clean stop, 1 configuration error, 2 usage, 3 start-up failure.\n");
}

/*
 * It parses network input and holds keys: never as root. Started as root,
 * it must be told whom to become (mgmt.user), and that must not be root.
 */
static int
user_check(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user[0] == '\0') {
		if (geteuid() != 0 && getuid() != 0)
			return 0;
		snprintf(err, errlen, "started as root without mgmt.user: set mgmt.user (e.g. "
			 "\"migsec\") or start it as that user (the systemd unit does)");
		return -EPERM;
	}
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "mgmt.user: no such user '%s'", user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "mgmt.user: '%s' is root; name an unprivileged user", user);
		return -EPERM;
	}
	return 0;
}

/* After binding and loading keys: the configured user, no way back. */
static int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	bool already;

	if (user[0] == '\0')
		return 0;	/* not root: user_check() */
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "mgmt.user: no such user '%s'", user);
		return -ENOENT;
	}
	/* Started as that user already (the systemd unit's User=): nothing to drop. */
	already = getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == pw->pw_gid &&
		  getegid() == pw->pw_gid;
	/* CAP_IPC_LOCK survives the setuid (alone): the memory locked by
	 * mc_secmem_lock() may grow even if RLIMIT_MEMLOCK could not be raised. */
	if (!already && (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, NULL) != 0 ||
			 setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 ||
			 mc_secmem_keep_lock_cap() != 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 ||
			 setuid(0) == 0)) {
		snprintf(err, errlen, "cannot drop privileges to %s: %s", user, strerror(errno));
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0) {
		snprintf(err, errlen, "prctl failed: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int
parse_args(int argc, char **argv, const char **conf, bool *check)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *conf = optarg; break;
		case 'k': *check = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("migsec-control %s\n", MS_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind != argc || *conf == NULL) {
		fprintf(stderr, "migsec-control: %s\n", *conf ? "unexpected argument" : "-c FILE is required");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* Locked memory, the audit trail, the listener, then fewer privileges: 0, or
 * exit status 3 with the reason printed. */
static int
start_up(const struct mc_conf *conf, int *lfd)
{
	char err[512] = "";
	int rc = mc_secmem_init(SECURE_HEAP);

	if (rc != 0) {
		fprintf(stderr, "migsec-control: cannot set up locked memory for keys: %s\n",
			strerror(-rc));
		return 3;
	}
	rc = mc_secmem_lock(MEMLOCK_LIMIT);
	if (rc != 0) {
		fprintf(stderr, "migsec-control: cannot lock its memory (mlockall: %s): keys could "
			"reach swap. Raise the locked-memory limit to %lu MiB (LimitMEMLOCK= in the "
			"unit, ulimit -l) or start it as root with mgmt.user set\n", strerror(-rc),
			MEMLOCK_LIMIT >> 20);
		return 3;
	}
	if (mc_audit_open(conf->name, conf->audit_file) != 0) {
		fprintf(stderr, "migsec-control: cannot open the audit file %s: %s\n",
			conf->audit_file, strerror(errno));
		return 3;
	}
	mc_audit_bound((uint64_t)conf->audit_max_kib << 10);
	*lfd = mc_listen(conf->listen, err, sizeof(err));
	if (*lfd < 0 || mc_query_open(conf, err, sizeof(err)) != 0 ||
	    drop_privileges(conf->user, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-control: %s\n", err);
		return 3;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mc_authz_watch_hup();
	return 0;
}

/* Recover the data plane's migrations, serve until a signal, then wipe every key.
 * Returns the exit status. */
static int
serve(const struct mc_conf *conf, SSL_CTX *ctx, int lfd)
{
	struct mc_state *st = mc_state_new(conf);
	struct mc_server *srv = st ? mc_server_new(conf, st, ctx, lfd) : NULL;
	int rc;

	if (srv == NULL) {
		fprintf(stderr, "migsec-control: out of memory\n");
		return 3;
	}
	rc = mc_recover(st);
	mc_audit("control_started", json_pack("{s:s,s:s,s:I}", "listen", conf->listen, "user",
					      conf->user[0] ? conf->user : "(unchanged)",
					      "recovered_sas", (json_int_t)(rc < 0 ? 0 : rc)));
	fprintf(stderr, "migsec-control: appliance %s listening on %s (TLS 1.3, client certificates "
		"required)%s\n", conf->name, conf->listen,
		rc < 0 ? "; the data plane is not answering yet" : "");
	rc = mc_server_run(srv, &quit);
	mc_audit("control_stopped", json_pack("{s:s}", "note",
		 "keys held here wiped; migrations keep running in the data plane"));
	mc_server_free(srv);
	mc_query_close();
	mc_state_free(st);	/* wipes the keys */
	SSL_CTX_free(ctx);
	mc_audit_close();
	return rc == 0 ? 0 : 3;
}

int
main(int argc, char **argv)
{
	static struct mc_conf conf;
	const char *path = NULL;
	bool check = false;
	char err[512] = "";
	SSL_CTX *ctx;
	int lfd;

	if (parse_args(argc, argv, &path, &check) != 0)
		return 2;
	if (mc_conf_load(path, &conf, err, sizeof(err)) != 0 ||
	    user_check(conf.user, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-control: %s\n", err);
		return 1;
	}
	ctx = mc_tls_server_ctx(conf.ca, conf.cert, conf.key, conf.crl, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "migsec-control: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK (appliance %s, listening on %s)\n", path, conf.name,
		       conf.listen);
		SSL_CTX_free(ctx);
		return 0;
	}
	if (start_up(&conf, &lfd) != 0)
		return 3;
	return serve(&conf, ctx, lfd);
}
