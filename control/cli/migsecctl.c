/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl: the management plane on the command line, and the model for
 * orchestrators. It makes each migration's one-shot key, starts the
 * migration on both appliances over mutual TLS, and rekeys, ends and shows
 * migrations. This file: the global options, one request to one appliance,
 * and rekey / end / status / health; start is in mc_start.c, top in
 * mc_top.c, policy in mc_libvirt.c, migrate in mc_migrate.c, watch in
 * mc_watch.c. One process, one thread, one command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mc_cli.h"
#include "mc_libvirt.h"
#include "mc_migrate.h"
#include "mc_msg.h"
#include "mc_secmem.h"
#include "mc_show.h"
#include "mc_tls.h"
#include "mc_top.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: migsecctl [--ca FILE --cert FILE --key FILE] [--timeout S] [--json] COMMAND\n"
		"\n"
		"  start  --id ID --vm NAME --source [N=]HOST:PORT --destination [N=]HOST:PORT\n"
		"         --source-outer IP --destination-outer IP --sel SELECTOR [--sel ...]\n"
		"         [--policy required|opportunistic|disabled] [--lifetime S] [--max-bytes N]\n"
		"         [--rekey-seconds S] [--rekey-bytes N] [--replay-window N] [--lanes N]\n"
		"         [--key-stdin]\n"
		"      Makes the one-shot 256-bit key and 64-bit nonce (OS CSPRNG, or 80 hex digits\n"
		"      on stdin with --key-stdin) and starts the migration on both appliances.\n"
		"      required: if either refuses, both are rolled back. opportunistic: if an\n"
		"      appliance answers that it cannot seal, the traffic then crosses in\n"
		"      plaintext (exit 4) and both audit the downgrade; a timeout, reset or TLS\n"
		"      failure never downgrades (exit 3).\n"
		"      --lanes: SAs per direction, one per worker (default: the larger worker\n"
		"      count of the two appliances, asked with health).\n"
		"      SELECTOR (source to destination traffic):\n"
		"        src=PFX,dst=PFX[,proto=tcp|udp|N][,sport=A[-B]][,dport=A[-B]]\n"
		"  start  --batch FILE|- --source ... --destination ... --source-outer IP\n"
		"         --destination-outer IP [the other options above, for every migration]\n"
		"      Many migrations (a host evacuation), one after another over one\n"
		"      connection per appliance: a line of FILE (- for stdin) each,\n"
		"      'ID VM SELECTOR [SELECTOR...]' (at most 1024; '#' begins a comment,\n"
		"      blank lines are skipped). The whole file is checked first: a bad line\n"
		"      (FILE:LINE in the message) starts nothing. Each migration gets its own\n"
		"      key (no --id, --vm, --sel, --key-stdin) and is started, rolled back or\n"
		"      downgraded as a single start would be. A line per migration (a JSON\n"
		"      line with --json), then a summary: how many started, which did not,\n"
		"      the time taken. Exit: the worst per-migration status, worst first\n"
		"      5, 3, 2, 1, 4, 0 (0: all started sealed, or unsealed as asked).\n"
		"  rekey  --id ID [--id ID...] APPLIANCE...   new keys now (make-before-break)\n"
		"  end    --id ID [--id ID...] APPLIANCE...   end them; keys wiped on the\n"
		"                                  appliances (one connection per appliance)\n"
		"  status [--id ID] APPLIANCE...   migrations and every data plane counter per\n"
		"                                  appliance (text, or --json)\n"
		"  health APPLIANCE...             appliance and data plane state\n"
		"  top [--interval S] [--count N] APPLIANCE...\n"
		"      Live view: rates per migration and appliance, refreshed every S seconds\n"
		"      (default 1, 0.1..3600), N times (default: until Ctrl-C); --json: one\n"
		"      JSON line per refresh. Exit 3 if an appliance did not answer the last one.\n"
		"  policy DOMAIN [required|opportunistic|disabled|default] [--connect URI] [--json]\n"
		"      The libvirt domain's migsec policy (its metadata, live and persistent):\n"
		"      shown, or set first ('default': removed, the cluster's default applies).\n"
		"      Speaks to libvirtd (URI as virsh's -c), needs no TLS material.\n"
		"  migrate DOMAIN DEST-URI [--connect URI] [--live] [--p2p] [--migrateuri tcp://ADDR[:PORT]]\n"
		"         [--copy-storage-all|--copy-storage-inc [--disks-port N]] [--persistent]\n"
		"         [--undefinesource] [--parallel [--parallel-connections N]] [--tunnelled]\n"
		"         [--postcopy] [--bandwidth MiB/s]\n"
		"         [--id ID] [--lifetime S] [--rekey-seconds S] [--rekey-bytes N] [--key-stdin]\n"
		"         [--interval S]\n"
		"      virsh migrate --live [--p2p] with a migsec migration around it: the source\n"
		"      (libvirt's hostname of --connect) and DEST-URI's host mapped to their\n"
		"      appliances by the hosts of /etc/migsec/libvirt.conf; the domain's policy\n"
		"      (metadata, else the default there); migsec started on both appliances\n"
		"      (one-shot key; selectors: the source's to the destination's migration\n"
		"      address, TCP to the --migrateuri port or the migration port range, the\n"
		"      disks' NBD port, libvirtd's port); the libvirt migration (always live,\n"
		"      over tcp://DESTINATION-MIGRATION-ADDRESS unless --migrateuri): --p2p\n"
		"      the source's libvirtd opens DEST-URI; without it (direct) migsecctl\n"
		"      does, after the start (before it if DEST-URI has no host: the destination\n"
		"      is then its libvirt's hostname); --tunnelled (with --p2p): inside\n"
		"      libvirtd's connection, DEST-URI naming that address; --postcopy: may be\n"
		"      switched to post-copy (virsh migrate-postcopy), QEMU needing userfaultfd;\n"
		"      progress every S seconds (default 1; 0 none); migsec ended on both as soon\n"
		"      as the job is over, however it ends. SIGINT/SIGTERM abort the job. Policy\n"
		"      disabled: no migsec migration. --id default lv-RANDOM; --lifetime (default\n"
		"      3600): the appliances end it then, migsecctl aborts the job. --rekey-*:\n"
		"      the appliances rekey at these limits (as start's).\n"
		"  watch [--connect URI]... [--interval S] [--count N]\n"
		"      The clean-up agent: for each source host (libvirt URI, default this one;\n"
		"      its appliance from the hosts map) every S seconds (default 2, 0.2..3600)\n"
		"      and at once on libvirt's job-completed and lifecycle events, ends on both\n"
		"      appliances a migration (role source) whose VM had a libvirt job and now\n"
		"      has none, or left the host. N sweeps (default: until SIGINT/SIGTERM).\n"
		"\n"
		"APPLIANCE is [NAME=]HOST:PORT of its migsec-control; its certificate must name HOST.\n"
		"TLS material also from $MIGSECCTL_CA, $MIGSECCTL_CERT, $MIGSECCTL_KEY.\n"
		"Exit status: 0 done; 1 refused by an appliance (nothing left running); 2 usage;\n"
		"3 an appliance unreachable or TLS failed; 4 done but downgraded to plaintext\n"
		"(opportunistic); 5 a rollback failed: an appliance may still hold the migration;\n"
		"start --batch, rekey and end of several ids: the worst of them (5, 3, 2, 1, 4);\n"
		"policy: 1 libvirt refused, or the metadata is invalid; 3 libvirt unreachable;\n"
		"6 no such domain. migrate: 0 migrated (sealed, or policy disabled); 1 the\n"
		"libvirt migration failed or was cancelled (the migsec migration ended on both),\n"
		"an appliance refused, or the domain's policy metadata is invalid; 2 usage, an\n"
		"unknown host, a host without appliance, the domain not running; 3 libvirt or an\n"
		"appliance unreachable (nothing left running); 4 migrated in plaintext\n"
		"(opportunistic, downgraded); 5 a migsec migration not ended on an appliance\n"
		"(it ends at its lifetime); 6 no such domain. watch: 0 stopped; 2 usage, a host\n"
		"not in the hosts map or without appliance; 3 libvirt unreachable.\n");
}

int
mc_cli_call(struct mc_conn *k, const char *tag, json_t *req, json_t **reply)
{
	char err[512], *text = json_dumps(req, JSON_COMPACT);
	const char *sep = tag != NULL ? ": " : "";
	int rc;

	if (tag == NULL)
		tag = "";
	if (text == NULL)
		return MC_EXIT_USAGE;
	rc = mc_conn_call(k, text, reply, err, sizeof(err));
	OPENSSL_cleanse(text, strlen(text));	/* may hold the key in hex */
	free(text);
	if (rc != 0) {
		fprintf(stderr, "migsecctl: %s%s%s\n", tag, sep, err);
		return MC_EXIT_UNREACHABLE;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		json_t *e = json_object_get(*reply, "error");

		fprintf(stderr, "migsecctl: %s%s%s refused: %s (%s)\n", tag, sep, k->peer->name,
			json_string_value(json_object_get(e, "message")),
			json_string_value(json_object_get(e, "code")));
		return MC_EXIT_REFUSED;
	}
	return MC_EXIT_OK;
}

int
mc_cli_call1(const struct mc_cli *c, const struct mc_peer *p, json_t *req, json_t **reply)
{
	struct mc_conn k;
	int rc;

	mc_conn_init(&k, c->ctx, p, c->timeout_ms);
	rc = mc_cli_call(&k, NULL, req, reply);
	mc_conn_close(&k);
	return rc;
}

json_t *
mc_cli_req(const char *op, const char *id)
{
	json_t *o = json_pack("{s:i,s:s}", "v", MC_PROTO_VERSION, "op", op);

	if (id != NULL)
		json_object_set_new(o, "id", json_string(id));
	return o;
}

int
mc_cli_peer_add(const char *arg, struct mc_peer *app, int *n)
{
	if (*n == MC_APPL_MAX || mc_peer_parse(arg, &app[*n]) != 0) {
		fprintf(stderr, "migsecctl: '%s' is not [NAME=]HOST:PORT\n", arg);
		return -1;
	}
	(*n)++;
	return 0;
}

/* One reply (or why there is none) for the JSON output. */
static json_t *
outcome(int rc, json_t *reply, bool several)
{
	if (rc == MC_EXIT_OK || (several && reply != NULL))
		return json_incref(reply);
	return json_pack("{s:s}", "error", "unreachable");
}

static void
show(const struct mc_cli *c, const char *op, const char *id, const char *app, json_t *reply)
{
	if (c->json)
		return;
	if (strcmp(op, "status") == 0)
		mc_show_status(stdout, reply, app);
	else if (strcmp(op, "health") == 0)
		mc_show_health(stdout, reply, app);
	else
		printf("%s: %s %s: generation %lld\n", app, op, id,
		       json_integer_value(json_object_get(reply, "generation")));
}

/*
 * rekey / end / status / health on each appliance given, for each id
 * (rekey and end take several): one connection per appliance carries them
 * all. With several ids, each appliance's JSON is an object by id.
 */
static int
each(const struct mc_cli *c, const char *op, const char **ids, int nid, struct mc_peer *app,
     int n)
{
	json_t *all = json_object();
	int worst = MC_EXIT_OK;

	for (int i = 0; i < n; i++) {
		json_t *per = nid > 1 ? json_object() : NULL;
		struct mc_conn k;

		mc_conn_init(&k, c->ctx, &app[i], c->timeout_ms);
		for (int j = 0; j < (nid > 0 ? nid : 1); j++) {
			const char *id = nid > 0 ? ids[j] : NULL;
			json_t *req = mc_cli_req(op, id), *reply = NULL;
			int rc = mc_cli_call(&k, nid > 1 ? id : NULL, req, &reply);

			json_decref(req);
			if (rc > worst)
				worst = rc;
			if (per != NULL)
				json_object_set_new(per, id, outcome(rc, reply, true));
			else
				json_object_set_new(all, app[i].name, outcome(rc, reply, false));
			if (rc == MC_EXIT_OK)
				show(c, op, id, app[i].name, reply);
			json_decref(reply);
		}
		mc_conn_close(&k);
		if (per != NULL)
			json_object_set_new(all, app[i].name, per);
	}
	if (c->json) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(all);
	return worst;
}

/* --id (rekey, end: one or more; status: at most one; health: none) and the appliances. */
static int
parse_each(int argc, char **argv, const char **ids, int *nid, struct mc_peer *app, int *n)
{
	bool need_id = argv[0][0] == 'r' || argv[0][0] == 'e';
	int most = need_id ? MC_IDS_MAX : argv[0][0] == 's';

	*n = *nid = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
			if (*nid == most) {
				fprintf(stderr, "migsecctl: %s takes %s --id\n", argv[0], most == 0 ?
					"no" : most == 1 ? "at most one" : "at most " MC_IDS_MAX_S);
				return -1;
			}
			ids[(*nid)++] = argv[++i];
			continue;
		}
		if (mc_cli_peer_add(argv[i], app, n) != 0)
			return -1;
	}
	if (*n == 0 || (need_id && *nid == 0)) {
		fprintf(stderr, "migsecctl: %s needs %sat least one APPLIANCE\n", argv[0],
			need_id ? "--id and " : "");
		return -1;
	}
	return 0;
}

/* rekey / end / status / health: parse the appliances, then ask each. */
static int
cmd_each(const struct mc_cli *c, int argc, char **argv)
{
	struct mc_peer app[MC_APPL_MAX];
	const char *ids[MC_IDS_MAX];
	int n, nid;

	return parse_each(argc, argv, ids, &nid, app, &n) ? MC_EXIT_USAGE
		: each(c, argv[0], ids, nid, app, n);
}

static int
command(const struct mc_cli *c, int argc, char **argv)
{
	if (strcmp(argv[0], "start") == 0)
		return mc_cli_start(c, argc, argv);
	if (!strcmp(argv[0], "rekey") || !strcmp(argv[0], "end") || !strcmp(argv[0], "status") ||
	    !strcmp(argv[0], "health"))
		return cmd_each(c, argc, argv);
	if (strcmp(argv[0], "migrate") == 0)
		return mc_cli_migrate(c, argc, argv);
	if (strcmp(argv[0], "watch") == 0)
		return mc_cli_watch(c, argc, argv);
	if (strcmp(argv[0], "top") == 0)
		return mc_top_main(c->ctx, c->timeout_ms, c->json, argc, argv);
	usage(stderr);
	return MC_EXIT_USAGE;
}

/* The options before COMMAND; the TLS files default to $MIGSECCTL_*. -1: exit with *rc. */
static int
parse_global(int argc, char **argv, struct mc_cli *c, const char **tls, int *rc)
{
	static const struct option opts[] = {
		{ "ca", 1, NULL, 'a' }, { "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
		{ "timeout", 1, NULL, 't' }, { "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': tls[0] = optarg; break;
		case 'c': tls[1] = optarg; break;
		case 'k': tls[2] = optarg; break;
		case 't': c->timeout_ms = atoi(optarg) * 1000; break;
		case 'j': c->json = true; break;
		case 'h': usage(stdout); *rc = MC_EXIT_OK; return -1;
		default: usage(stderr); *rc = MC_EXIT_USAGE; return -1;
		}
	}
	*rc = MC_EXIT_USAGE;
	if (optind >= argc || c->timeout_ms <= 0) {
		usage(stderr);
		return -1;
	}
	if (strcmp(argv[optind], "policy") != 0 && (!tls[0] || !tls[1] || !tls[2])) {
		fprintf(stderr, "migsecctl: --ca, --cert and --key (or $MIGSECCTL_*) are required\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *tls[3] = { getenv("MIGSECCTL_CA"), getenv("MIGSECCTL_CERT"),
			       getenv("MIGSECCTL_KEY") };
	struct mc_cli c = { .timeout_ms = 10000 };
	char err[512];
	int rc;

	if (parse_global(argc, argv, &c, tls, &rc) != 0)
		return rc;
	if (strcmp(argv[optind], "policy") == 0)	/* libvirt, not an appliance: mc_libvirt.c */
		return mc_lv_policy_main(c.json, argc - optind, argv + optind);
	if (mc_secmem_init(64 * 1024) != 0) {
		fprintf(stderr, "migsecctl: cannot set up locked memory for the key\n");
		return MC_EXIT_USAGE;
	}
	c.ctx = mc_tls_client_ctx(tls[0], tls[1], tls[2], err, sizeof(err));
	if (c.ctx == NULL) {
		fprintf(stderr, "migsecctl: %s\n", err);
		return MC_EXIT_USAGE;
	}
	rc = command(&c, argc - optind, argv + optind);
	SSL_CTX_free(c.ctx);
	return rc;
}
