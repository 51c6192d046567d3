/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl start: makes the migration's one-shot key (or reads it from
 * stdin), starts the migration on the source and then the destination
 * appliance, rolls the first back if the second refuses, and for the
 * opportunistic policy falls back to an unsealed start, but only when an
 * appliance itself answered that it cannot seal (never on a timeout, a reset
 * or a TLS failure: those an attacker on the path can cause). The key lives
 * in locked memory and is wiped once both requests are sent.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mc_cli.h"
#include "mc_kdf.h"
#include "mc_msg.h"
#include "mc_secmem.h"
#include "ms_hex.h"

/* Locked memory for start: about 10 MiB mapped, two TLS connections. */
#define MC_CLI_MEMLOCK (32UL << 20)

/*
 * One line of stdin, with read(2) a byte at a time: stdio would keep the
 * hex key in its own buffer, which nothing here can wipe. Not to the end of
 * input as migsec-dpctl reads its key, since whoever types or pipes it may
 * keep stdin open.
 */
static int
read_line(char *buf, size_t size)
{
	size_t n = 0;
	char c;

	while (n + 1 < size) {
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	OPENSSL_cleanse(&c, sizeof(c));
	return n > 0 ? 0 : -1;
}

/* The OS CSPRNG, or one line of stdin. */
static int
read_secret(bool from_stdin, uint8_t *secret)
{
	char buf[128] = "";
	int rc = 0;

	if (!from_stdin)
		return getrandom(secret, MC_SECRET_LEN, 0) == MC_SECRET_LEN ? 0 : -1;
	if (read_line(buf, sizeof(buf)) != 0)
		rc = -1;
	buf[strcspn(buf, "\r")] = '\0';
	if (rc == 0 && ms_hex_decode(buf, secret, MC_SECRET_LEN) != 0)
		rc = -1;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rc)
		fprintf(stderr, "migsecctl: --key-stdin wants 80 hex digits: key (64) then nonce (16)\n");
	return rc;
}

static json_t *
start_req(const struct mc_start *a, const char *policy, const char *role, const char *peer,
	  const uint8_t *secret, const char *note)
{
	json_t *o = mc_cli_req("start", a->id), *sels = json_array();
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

int
mc_start_end(const struct mc_cli *c, const struct mc_peer *p, const char *id)
{
	json_t *req = mc_cli_req("end", id), *reply = NULL;
	int rc = mc_cli_call(c, p, req, &reply);

	json_decref(req);
	json_decref(reply);
	return rc;
}

/* Both appliances, source first; on failure the other is ended. */
static int
start_both(const struct mc_cli *c, const struct mc_start *a, const char *policy,
	   const uint8_t *secret, const char *note, json_t **replies)
{
	const struct mc_peer *peers[2] = { &a->src, &a->dst };
	const char *roles[2] = { "source", "destination" };
	const char *outer[2] = { a->dst_outer, a->src_outer };
	int rc[2] = { MC_EXIT_USAGE, MC_EXIT_USAGE };

	for (int i = 0; i < 2; i++) {
		json_t *req = start_req(a, policy, roles[i], outer[i], secret, note);

		rc[i] = mc_cli_call(c, peers[i], req, &replies[i]);
		json_decref(req);	/* wiped on free: it held the key */
		if (rc[i] != MC_EXIT_OK)
			break;
	}
	if (rc[0] == MC_EXIT_OK && rc[1] == MC_EXIT_OK)
		return MC_EXIT_OK;
	if (rc[0] == MC_EXIT_OK && mc_start_end(c, peers[0], a->id) != MC_EXIT_OK) {
		fprintf(stderr, "migsecctl: rollback on %s FAILED: it may still hold migration %s\n",
			peers[0]->name, a->id);
		return MC_EXIT_PARTIAL;
	}
	if (rc[0] == MC_EXIT_OK)
		fprintf(stderr, "migsecctl: rolled back: migration %s ended on %s\n", a->id,
			peers[0]->name);
	return rc[0] != MC_EXIT_OK ? rc[0] : rc[1];
}

/*
 * The refusal that lets opportunistic fall back: an appliance's reply, over
 * the mutual TLS that authenticated it, with the code "cannot_seal". The
 * note for both appliances' audit trails names it and its reason.
 */
static bool
cannot_seal_answer(const struct mc_start *a, json_t **r, char *note, size_t len)
{
	const struct mc_peer *peers[2] = { &a->src, &a->dst };

	for (int i = 0; i < 2; i++) {
		json_t *e = json_object_get(r[i], "error");
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (json_is_true(json_object_get(r[i], "ok")) ||
		    !json_is_string(json_object_get(e, "code")) ||
		    strcmp(json_string_value(json_object_get(e, "code")), "cannot_seal") != 0)
			continue;
		snprintf(note, len, "downgraded from opportunistic: %s cannot seal: %s",
			 peers[i]->name, msg ? msg : "");
		for (char *c = note; *c; c++)	/* the note must be printable ASCII */
			if (!isprint((unsigned char)*c))
				*c = '?';
		return true;
	}
	return false;
}

static void
print_started(const struct mc_cli *c, const struct mc_start *a, json_t **r)
{
	if (c->json) {
		json_t *o = json_pack("{s:O,s:O}", "source", r[0], "destination", r[1]);

		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
		return;
	}
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
default_lanes(const struct mc_cli *c, struct mc_start *a)
{
	const struct mc_peer *peers[2] = { &a->src, &a->dst };
	json_int_t lanes = 1;

	for (int i = 0; i < 2; i++) {
		json_t *req = mc_cli_req("health", NULL), *reply = NULL;
		int rc = mc_cli_call(c, peers[i], req, &reply);

		json_decref(req);
		if (rc != MC_EXIT_OK) {
			json_decref(reply);
			return rc;
		}
		if (json_integer_value(json_object_get(reply, "workers")) > lanes)
			lanes = json_integer_value(json_object_get(reply, "workers"));
		json_decref(reply);
	}
	a->lanes = lanes;
	return MC_EXIT_OK;
}

/* opportunistic, after the sealed start failed: unsealed only on a "cannot seal" answer. */
static int
fall_back(const struct mc_cli *c, const struct mc_start *a, int rc, json_t **r)
{
	char note[MC_NOTE_MAX];

	if (rc != MC_EXIT_REFUSED || !cannot_seal_answer(a, r, note, sizeof(note))) {
		fprintf(stderr, "migsecctl: opportunistic: %s NOT started unsealed: no appliance "
			"answered that it cannot seal\n", a->id);
		return rc;
	}
	json_decref(r[0]);
	json_decref(r[1]);
	r[0] = r[1] = NULL;
	fprintf(stderr, "migsecctl: opportunistic: starting %s UNSEALED (plaintext): %s\n", a->id,
		note);
	rc = start_both(c, a, "disabled", NULL, note, r);
	return rc == MC_EXIT_OK ? MC_EXIT_DOWNGRADED : rc;
}

int
mc_start_run(const struct mc_cli *c, struct mc_start *a, json_t **r)
{
	uint8_t *secret = NULL;
	bool sealed = strcmp(a->policy, "disabled") != 0;
	int rc;

	/* An appliance that does not answer is no reason to go unsealed. */
	if (sealed && a->lanes == 0 && (rc = default_lanes(c, a)) != MC_EXIT_OK)
		return rc;
	if (sealed) {
		rc = mc_secmem_lock(MC_CLI_MEMLOCK);
		if (rc != 0) {
			fprintf(stderr, "migsecctl: cannot lock its memory (mlockall: %s): the key "
				"could reach swap. Raise the locked-memory limit to %lu MiB (ulimit -l "
				"%lu) or run it with CAP_IPC_LOCK\n", strerror(-rc),
				MC_CLI_MEMLOCK >> 20, MC_CLI_MEMLOCK >> 10);
			return MC_EXIT_USAGE;
		}
		secret = mc_secure_zalloc(MC_SECRET_LEN);
		if (secret == NULL || read_secret(a->key_stdin, secret) != 0) {
			mc_secure_free(secret, MC_SECRET_LEN);
			return MC_EXIT_USAGE;
		}
	}
	rc = start_both(c, a, a->policy, secret, NULL, r);
	mc_secure_free(secret, MC_SECRET_LEN);	/* the appliances hold derived keys only */
	if (rc != MC_EXIT_OK && strcmp(a->policy, "opportunistic") == 0)
		rc = fall_back(c, a, rc, r);
	return rc;
}

/* For a clear message here: the appliances check every field again. */
static int
start_args_check(const struct mc_start *a, bool complete)
{
	if (!complete || !a->id || !a->vm || !a->have_src || !a->have_dst || !a->src_outer ||
	    !a->dst_outer || a->nb_sel == 0) {
		fprintf(stderr, "migsecctl: start needs --id, --vm, --source, --destination, "
			"--source-outer, --destination-outer and --sel (HOST:PORT as [NAME=]HOST:PORT)\n");
		return -1;
	}
	if (strcmp(a->policy, "required") && strcmp(a->policy, "opportunistic") &&
	    strcmp(a->policy, "disabled")) {
		fprintf(stderr, "migsecctl: --policy must be required, opportunistic or disabled\n");
		return -1;
	}
	return 0;
}

static int
parse_start(int argc, char **argv, struct mc_start *a)
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
	return start_args_check(a, optind == argc);
}

int
mc_cli_start(const struct mc_cli *c, int argc, char **argv)
{
	json_t *r[2] = { NULL, NULL };
	struct mc_start a;
	int rc;

	if (parse_start(argc, argv, &a) != 0)
		return MC_EXIT_USAGE;
	rc = mc_start_run(c, &a, r);
	if (rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED)
		print_started(c, &a, r);
	json_decref(r[0]);
	json_decref(r[1]);
	return rc;
}
