/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl: the management plane on the command line, and the model for
 * orchestrators. It makes each migration's one-shot key, starts the
 * migration on both appliances over mutual TLS, and rekeys, ends and shows
 * migrations.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "mc_client.h"
#include "mc_kdf.h"
#include "mc_msg.h"
#include "mc_secmem.h"
#include "ms_hex.h"
#include "mc_show.h"
#include "mc_tls.h"
#include "mc_top.h"

enum { X_OK = 0, X_REFUSED = 1, X_USAGE = 2, X_UNREACHABLE = 3, X_DOWNGRADED = 4, X_PARTIAL = 5 };

#define APPL_MAX 16

struct ctl {
	SSL_CTX *ctx;
	int timeout_ms;
	bool json;
};

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
		"      required: if either refuses, both are rolled back. opportunistic: the\n"
		"      traffic then crosses in plaintext (exit 4) and both audit the downgrade.\n"
		"      --lanes: SAs per direction, one per worker (default: the larger worker\n"
		"      count of the two appliances, asked with health).\n"
		"      SELECTOR (source to destination traffic):\n"
		"        src=PFX,dst=PFX[,proto=tcp|udp|N][,sport=A[-B]][,dport=A[-B]]\n"
		"  rekey  --id ID APPLIANCE...     new keys now (make-before-break)\n"
		"  end    --id ID APPLIANCE...     end it; keys wiped on the appliances\n"
		"  status [--id ID] APPLIANCE...   migrations and every data plane counter per\n"
		"                                  appliance (text, or --json)\n"
		"  health APPLIANCE...             appliance and data plane state\n"
		"  top [--interval S] [--count N] APPLIANCE...\n"
		"      Live view: rates per migration and appliance, refreshed every S seconds\n"
		"      (default 1, 0.1..3600), N times (default: until Ctrl-C); --json: one\n"
		"      JSON line per refresh. Exit 3 if an appliance did not answer the last one.\n"
		"\n"
		"APPLIANCE is [NAME=]HOST:PORT of its migsec-control; its certificate must name HOST.\n"
		"TLS material also from $MIGSECCTL_CA, $MIGSECCTL_CERT, $MIGSECCTL_KEY.\n"
		"Exit status: 0 done; 1 refused by an appliance (nothing left running); 2 usage;\n"
		"3 an appliance unreachable or TLS failed; 4 done but downgraded to plaintext\n"
		"(opportunistic); 5 a rollback failed: an appliance may still hold the migration.\n");
}

/* One appliance, one request; prints what went wrong. */
static int
call(struct ctl *c, const struct mc_peer *p, json_t *req, json_t **reply)
{
	char err[512], *text = json_dumps(req, JSON_COMPACT);
	int rc;

	if (text == NULL)
		return X_USAGE;
	rc = mc_call(c->ctx, p, text, c->timeout_ms, reply, err, sizeof(err));
	OPENSSL_cleanse(text, strlen(text));	/* may hold the key in hex */
	free(text);
	if (rc != 0) {
		fprintf(stderr, "migsecctl: %s\n", err);
		return X_UNREACHABLE;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		json_t *e = json_object_get(*reply, "error");

		fprintf(stderr, "migsecctl: %s refused: %s (%s)\n", p->name,
			json_string_value(json_object_get(e, "message")),
			json_string_value(json_object_get(e, "code")));
		return X_REFUSED;
	}
	return X_OK;
}

static json_t *
req_new(const char *op, const char *id)
{
	json_t *o = json_pack("{s:i,s:s}", "v", MC_PROTO_VERSION, "op", op);

	if (id != NULL)
		json_object_set_new(o, "id", json_string(id));
	return o;
}

struct start_args {
	const char *id, *vm, *policy, *src_outer, *dst_outer;
	struct mc_peer src, dst;
	const char *sel[MC_SEL_MAX];
	unsigned int nb_sel;
	json_int_t lifetime, max_bytes, rekey_s, rekey_bytes, window, lanes;
	bool key_stdin, have_src, have_dst;
};

static int
read_secret(bool from_stdin, uint8_t *secret)
{
	char buf[128] = "";
	int rc = 0;

	if (!from_stdin)
		return getrandom(secret, MC_SECRET_LEN, 0) == MC_SECRET_LEN ? 0 : -1;
	if (fgets(buf, sizeof(buf), stdin) == NULL)
		rc = -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (rc == 0 && ms_hex_decode(buf, secret, MC_SECRET_LEN) != 0)
		rc = -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc)
		fprintf(stderr, "migsecctl: --key-stdin wants 80 hex digits: key (64) then nonce (16)\n");
	return rc;
}

static json_t *
start_req(const struct start_args *a, const char *policy, const char *role, const char *peer,
	  const uint8_t *secret, const char *note)
{
	json_t *o = req_new("start", a->id), *sels = json_array();
	char hex[2 * MC_KEY_LEN + 1];

	for (unsigned int i = 0; i < a->nb_sel; i++)
		json_array_append_new(sels, json_string(a->sel[i]));
	json_object_set_new(o, "vm", json_string(a->vm));
	json_object_set_new(o, "policy", json_string(policy));
	json_object_set_new(o, "role", json_string(role));
	json_object_set_new(o, "peer", json_string(peer));
	json_object_set_new(o, "selectors", sels);
	json_object_set_new(o, "lifetime_s", json_integer(a->lifetime));
	if (a->max_bytes)
		json_object_set_new(o, "max_bytes", json_integer(a->max_bytes));
	if (a->rekey_s)
		json_object_set_new(o, "rekey_s", json_integer(a->rekey_s));
	if (a->rekey_bytes)
		json_object_set_new(o, "rekey_bytes", json_integer(a->rekey_bytes));
	if (a->window)
		json_object_set_new(o, "replay_window", json_integer(a->window));
	if (a->lanes)
		json_object_set_new(o, "lanes", json_integer(a->lanes));
	if (note != NULL)
		json_object_set_new(o, "note", json_string(note));
	if (secret != NULL) {
		ms_hex_encode(secret, MC_KEY_LEN, hex);
		json_object_set_new(o, "key", json_string(hex));
		ms_hex_encode(secret + MC_KEY_LEN, MC_NONCE_LEN, hex);
		json_object_set_new(o, "nonce", json_string(hex));
		OPENSSL_cleanse(hex, sizeof(hex));
	}
	return o;
}

static int
end_on(struct ctl *c, const struct mc_peer *p, const char *id)
{
	json_t *req = req_new("end", id), *reply = NULL;
	int rc = call(c, p, req, &reply);

	json_decref(req);
	json_decref(reply);
	return rc;
}

/* Both appliances, source first; on failure the other is ended. */
static int
start_both(struct ctl *c, const struct start_args *a, const char *policy, const uint8_t *secret,
	   const char *note, json_t **replies)
{
	const struct mc_peer *peers[2] = { &a->src, &a->dst };
	const char *roles[2] = { "source", "destination" };
	const char *outer[2] = { a->dst_outer, a->src_outer };
	int rc[2] = { X_USAGE, X_USAGE };

	for (int i = 0; i < 2; i++) {
		json_t *req = start_req(a, policy, roles[i], outer[i], secret, note);

		rc[i] = call(c, peers[i], req, &replies[i]);
		json_decref(req);	/* wiped on free: it held the key */
		if (rc[i] != X_OK)
			break;
	}
	if (rc[0] == X_OK && rc[1] == X_OK)
		return X_OK;
	if (rc[0] == X_OK && end_on(c, peers[0], a->id) != X_OK) {
		fprintf(stderr, "migsecctl: rollback on %s FAILED: it may still hold migration %s\n",
			peers[0]->name, a->id);
		return X_PARTIAL;
	}
	if (rc[0] == X_OK)
		fprintf(stderr, "migsecctl: rolled back: migration %s ended on %s\n", a->id,
			peers[0]->name);
	return rc[0] != X_OK ? rc[0] : rc[1];
}

static void
print_started(const struct start_args *a, json_t **r)
{
	for (int i = 0; i < 2; i++)
		printf("%s: migration %s (%s) %s, role %s, generation %lld, SPI out 0x%08llx, in 0x%08llx\n",
		       i ? a->dst.name : a->src.name, a->id, a->vm,
		       json_is_true(json_object_get(r[i], "sealed")) ? "sealed" : "NOT sealed (plaintext)",
		       json_string_value(json_object_get(r[i], "role")),
		       json_integer_value(json_object_get(r[i], "generation")),
		       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_out")),
		       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_in")));
}

/* Lanes for a migration: one per worker of the busier appliance. */
static int
default_lanes(struct ctl *c, struct start_args *a)
{
	const struct mc_peer *peers[2] = { &a->src, &a->dst };
	json_int_t lanes = 1;

	for (int i = 0; i < 2; i++) {
		json_t *req = req_new("health", NULL), *reply = NULL;
		int rc = call(c, peers[i], req, &reply);

		json_decref(req);
		if (rc != X_OK) {
			json_decref(reply);
			return rc;
		}
		if (json_integer_value(json_object_get(reply, "workers")) > lanes)
			lanes = json_integer_value(json_object_get(reply, "workers"));
		json_decref(reply);
	}
	a->lanes = lanes;
	return X_OK;
}

static int
do_start(struct ctl *c, struct start_args *a)
{
	uint8_t *secret = NULL;
	json_t *r[2] = { NULL, NULL };
	bool sealed = strcmp(a->policy, "disabled") != 0;
	char note[MC_NOTE_MAX];
	int rc;

	if (sealed && a->lanes == 0 && (rc = default_lanes(c, a)) != X_OK &&
	    strcmp(a->policy, "opportunistic") != 0)
		return rc;

	if (sealed) {
		secret = mc_secure_zalloc(MC_SECRET_LEN);
		if (secret == NULL || read_secret(a->key_stdin, secret) != 0) {
			mc_secure_free(secret, MC_SECRET_LEN);
			return X_USAGE;
		}
	}
	rc = start_both(c, a, a->policy, secret, NULL, r);
	mc_secure_free(secret, MC_SECRET_LEN);	/* the appliances hold derived keys only */
	if (rc != X_OK && rc != X_PARTIAL && strcmp(a->policy, "opportunistic") == 0) {
		json_decref(r[0]);
		json_decref(r[1]);
		r[0] = r[1] = NULL;
		snprintf(note, sizeof(note), "downgraded from opportunistic: an appliance refused or "
			 "could not be reached");
		fprintf(stderr, "migsecctl: opportunistic: starting %s UNSEALED (plaintext)\n", a->id);
		rc = start_both(c, a, "disabled", NULL, note, r);
		if (rc == X_OK)
			rc = X_DOWNGRADED;
	}
	if (rc == X_OK || rc == X_DOWNGRADED) {
		if (c->json) {
			json_t *o = json_pack("{s:O,s:O}", "source", r[0], "destination", r[1]);

			json_dumpf(o, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(o);
		} else {
			print_started(a, r);
		}
	}
	json_decref(r[0]);
	json_decref(r[1]);
	return rc;
}

static void
print_status(json_t *reply, const char *name)
{
	json_t *migs = json_object_get(reply, "migrations"), *m;
	size_t i;

	printf("appliance %s: data plane %s, %zu migration(s)\n", name,
	       json_string_value(json_object_get(reply, "dataplane")), json_array_size(migs));
	if (json_object_get(reply, "counters") != NULL)
		mc_show_counters(stdout, json_object_get(reply, "counters"));
	if (json_object_get(reply, "crypto") != NULL)
		mc_show_crypto(stdout, json_object_get(reply, "crypto"));
	json_array_foreach(migs, i, m) {
		char ob[32], ib[32], drops[256] = "none";
		const char *k;
		json_t *v;
		size_t n = 0;

		json_object_foreach(json_object_get(m, "drops"), k, v)
			if (json_integer_value(v) && n < sizeof(drops) - 40)
				n += (size_t)snprintf(drops + n, sizeof(drops) - n, "%s%s=%lld",
						      n ? "," : "", k, json_integer_value(v));
		printf("  %-16s vm %-16s %-11s %-13s gen %-3lld spi out 0x%08llx in 0x%08llx\n",
		       json_string_value(json_object_get(m, "migration")),
		       json_string_value(json_object_get(m, "vm")),
		       json_string_value(json_object_get(m, "role")),
		       json_string_value(json_object_get(m, "policy")),
		       json_integer_value(json_object_get(m, "generation")),
		       (unsigned long long)json_integer_value(json_object_get(m, "spi_out")),
		       (unsigned long long)json_integer_value(json_object_get(m, "spi_in")));
		printf("  %-16s out %s / %lld pkts, in %s / %lld pkts, drops %s, age %llds, "
		       "expires in %llds, keys %s\n", "",
		       mc_human_bytes(json_integer_value(json_object_get(m, "out_bytes")), ob, sizeof(ob)),
		       json_integer_value(json_object_get(m, "out_pkts")),
		       mc_human_bytes(json_integer_value(json_object_get(m, "in_bytes")), ib, sizeof(ib)),
		       json_integer_value(json_object_get(m, "in_pkts")), drops,
		       json_integer_value(json_object_get(m, "age_s")),
		       json_integer_value(json_object_get(m, "expires_in_s")),
		       json_string_value(json_object_get(m, "keys")));
	}
}

static double
pct(json_int_t part, json_int_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static void
print_health(json_t *reply, const char *name)
{
	json_t *w;
	size_t i;

	printf("appliance %s: data plane %s, %lld migration(s), %lld worker(s), crypto %s, "
	       "polling %s (lib/power %s)\n", name, json_string_value(json_object_get(reply, "dataplane")),
	       json_integer_value(json_object_get(reply, "migrations")),
	       json_integer_value(json_object_get(reply, "workers")),
	       json_string_value(json_object_get(reply, "crypto_driver")) ?: "-",
	       json_string_value(json_object_get(reply, "poll_mode")) ?: "-",
	       json_string_value(json_object_get(reply, "power")) ?: "-");
	/* Shares of each worker's time since the data plane started. */
	json_array_foreach(json_object_get(reply, "worker_load"), i, w) {
		json_int_t busy = json_integer_value(json_object_get(w, "busy_cycles"));
		json_int_t idle = json_integer_value(json_object_get(w, "idle_cycles"));
		json_int_t asleep = json_integer_value(json_object_get(w, "sleep_cycles"));

		printf("  worker %zu (lcore %lld): busy %.1f%%, idle %.1f%% (asleep %.1f%%, "
		       "%lld sleeps) since start\n", i, json_integer_value(json_object_get(w, "lcore")),
		       pct(busy, busy + idle), pct(idle, busy + idle), pct(asleep, busy + idle),
		       json_integer_value(json_object_get(w, "sleeps")));
	}
}

/* rekey / end / status / health on each appliance given. */
static int
each(struct ctl *c, const char *op, const char *id, struct mc_peer *app, int n)
{
	json_t *all = json_object();
	int worst = X_OK;

	for (int i = 0; i < n; i++) {
		json_t *req = req_new(op, id), *reply = NULL;
		int rc = call(c, &app[i], req, &reply);

		json_decref(req);
		if (rc > worst)
			worst = rc;
		if (rc != X_OK) {
			json_object_set_new(all, app[i].name, json_pack("{s:s}", "error", "unreachable"));
			json_decref(reply);
			continue;
		}
		if (c->json)
			json_object_set(all, app[i].name, reply);
		else if (strcmp(op, "status") == 0)
			print_status(reply, app[i].name);
		else if (strcmp(op, "health") == 0)
			print_health(reply, app[i].name);
		else
			printf("%s: %s %s: generation %lld\n", app[i].name, op, id,
			       json_integer_value(json_object_get(reply, "generation")));
		json_decref(reply);
	}
	if (c->json) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(all);
	return worst;
}

static int
parse_start(int argc, char **argv, struct start_args *a)
{
	static const struct option opts[] = {
		{ "id", 1, NULL, 'i' }, { "vm", 1, NULL, 'v' }, { "policy", 1, NULL, 'p' },
		{ "source", 1, NULL, 's' }, { "destination", 1, NULL, 'd' },
		{ "source-outer", 1, NULL, 'S' }, { "destination-outer", 1, NULL, 'D' },
		{ "sel", 1, NULL, 'e' }, { "lifetime", 1, NULL, 'l' }, { "max-bytes", 1, NULL, 'm' },
		{ "rekey-seconds", 1, NULL, 'r' }, { "rekey-bytes", 1, NULL, 'R' },
		{ "replay-window", 1, NULL, 'w' }, { "key-stdin", 0, NULL, 'k' },
		{ "lanes", 1, NULL, 'n' }, { NULL, 0, NULL, 0 },
	};
	int o;

	memset(a, 0, sizeof(*a));
	a->policy = "required";
	a->lifetime = 3600;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i': a->id = optarg; break;
		case 'v': a->vm = optarg; break;
		case 'p': a->policy = optarg; break;
		case 's': a->have_src = mc_peer_parse(optarg, &a->src) == 0; break;
		case 'd': a->have_dst = mc_peer_parse(optarg, &a->dst) == 0; break;
		case 'S': a->src_outer = optarg; break;
		case 'D': a->dst_outer = optarg; break;
		case 'e':
			if (a->nb_sel == MC_SEL_MAX) {
				fprintf(stderr, "migsecctl: at most %d --sel\n", MC_SEL_MAX);
				return -1;
			}
			a->sel[a->nb_sel++] = optarg;
			break;
		case 'l': a->lifetime = strtoll(optarg, NULL, 10); break;
		case 'm': a->max_bytes = strtoll(optarg, NULL, 10); break;
		case 'r': a->rekey_s = strtoll(optarg, NULL, 10); break;
		case 'R': a->rekey_bytes = strtoll(optarg, NULL, 10); break;
		case 'w': a->window = strtoll(optarg, NULL, 10); break;
		case 'n': a->lanes = strtoll(optarg, NULL, 10); break;
		case 'k': a->key_stdin = true; break;
		default: return -1;
		}
	}
	if (optind != argc || !a->id || !a->vm || !a->have_src || !a->have_dst || !a->src_outer ||
	    !a->dst_outer || a->nb_sel == 0) {
		fprintf(stderr, "migsecctl: start needs --id, --vm, --source, --destination, "
			"--source-outer, --destination-outer and --sel (HOST:PORT as [NAME=]HOST:PORT)\n");
		return -1;
	}
	/* The appliances check every field again; these are for a clear message here. */
	if (strcmp(a->policy, "required") && strcmp(a->policy, "opportunistic") &&
	    strcmp(a->policy, "disabled")) {
		fprintf(stderr, "migsecctl: --policy must be required, opportunistic or disabled\n");
		return -1;
	}
	return 0;
}

static int
parse_each(int argc, char **argv, bool need_id, const char **id, struct mc_peer *app, int *n)
{
	*n = 0;
	*id = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--id") == 0 && i + 1 < argc) {
			*id = argv[++i];
			continue;
		}
		if (*n == APPL_MAX || mc_peer_parse(argv[i], &app[*n]) != 0) {
			fprintf(stderr, "migsecctl: '%s' is not [NAME=]HOST:PORT\n", argv[i]);
			return -1;
		}
		(*n)++;
	}
	if (*n == 0 || (need_id && *id == NULL)) {
		fprintf(stderr, "migsecctl: %s needs %sat least one APPLIANCE\n", argv[0],
			need_id ? "--id and " : "");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", 1, NULL, 'a' }, { "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' },
		{ "timeout", 1, NULL, 't' }, { "json", 0, NULL, 'j' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = getenv("MIGSECCTL_CA"), *cert = getenv("MIGSECCTL_CERT");
	const char *key = getenv("MIGSECCTL_KEY"), *id;
	struct ctl c = { .timeout_ms = 10000 };
	struct mc_peer app[APPL_MAX];
	char err[512];
	int o, n, rc;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 't': c.timeout_ms = atoi(optarg) * 1000; break;
		case 'j': c.json = true; break;
		case 'h': usage(stdout); return X_OK;
		default: usage(stderr); return X_USAGE;
		}
	}
	if (optind >= argc || c.timeout_ms <= 0) {
		usage(stderr);
		return X_USAGE;
	}
	if (!ca || !cert || !key) {
		fprintf(stderr, "migsecctl: --ca, --cert and --key (or $MIGSECCTL_*) are required\n");
		return X_USAGE;
	}
	if (mc_secmem_init(64 * 1024) != 0) {
		fprintf(stderr, "migsecctl: cannot set up locked memory for the key\n");
		return X_USAGE;
	}
	c.ctx = mc_tls_client_ctx(ca, cert, key, err, sizeof(err));
	if (c.ctx == NULL) {
		fprintf(stderr, "migsecctl: %s\n", err);
		return X_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "start") == 0) {
		struct start_args a;

		rc = parse_start(argc, argv, &a) ? X_USAGE : do_start(&c, &a);
	} else if (!strcmp(argv[0], "rekey") || !strcmp(argv[0], "end") ||
		   !strcmp(argv[0], "status") || !strcmp(argv[0], "health")) {
		bool need_id = argv[0][0] == 'r' || argv[0][0] == 'e';

		rc = parse_each(argc, argv, need_id, &id, app, &n) ? X_USAGE
			: each(&c, argv[0], argv[0][0] == 'h' ? NULL : id, app, n);
	} else if (strcmp(argv[0], "top") == 0) {
		rc = mc_top_main(c.ctx, c.timeout_ms, c.json, argc, argv);
	} else {
		usage(stderr);
		rc = X_USAGE;
	}
	SSL_CTX_free(c.ctx);
	return rc;
}
