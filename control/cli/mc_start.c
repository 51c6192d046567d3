/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl start: makes each migration's one-shot key (or reads it from
 * stdin), starts the migration on the source and then the destination
 * appliance, rolls the first back if the second refuses, and for the
 * opportunistic policy falls back to an unsealed start, but only when an
 * appliance itself answered that it cannot seal (never on a timeout, a reset
 * or a TLS failure: those an attacker on the path can cause). The key lives
 * in locked memory and is wiped once both requests are sent. One connection
 * per appliance carries every request of the command (mc_client.c); a batch
 * of migrations (--batch) goes through mc_batch.c, one migration at a time.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "mc_kdf.h"
#include "mc_secmem.h"
#include "mc_start.h"
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

/* "migsecctl: [ID: ]..." on stderr: in a batch, every message names its migration. */
__attribute__((format(printf, 3, 4))) static void
say(const struct mc_start_run *run, const struct mc_mig_spec *m, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "migsecctl: ");
	if (run->batch)
		fprintf(stderr, "%s: ", m->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
call(struct mc_start_run *run, const struct mc_mig_spec *m, int i, json_t *req, json_t **reply)
{
	return mc_cli_call(&run->conn[i], run->batch && m ? m->id : NULL, req, reply);
}

static json_t *
start_req(const struct mc_start_opts *a, const struct mc_mig_spec *m, const char *policy,
	  const char *role, const char *peer, const uint8_t *secret, const char *note)
{
	json_t *o = mc_cli_req("start", m->id), *sels = json_array();
	char hex[2 * MC_KEY_LEN + 1];

	for (unsigned int i = 0; i < m->nb_sel; i++)
		json_array_append_new(sels, json_string(m->sel[i]));
	json_object_set_new(o, "vm", json_string(m->vm));
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
end_on(struct mc_start_run *run, const struct mc_mig_spec *m, int i)
{
	json_t *req = mc_cli_req("end", m->id), *reply = NULL;
	int rc = call(run, m, i, req, &reply);

	json_decref(req);
	json_decref(reply);
	return rc;
}

/* Both appliances, source first; on failure the other is ended. */
static int
start_both(struct mc_start_run *run, const struct mc_mig_spec *m, const char *policy,
	   const uint8_t *secret, const char *note, json_t **replies)
{
	const struct mc_start_opts *a = run->o;
	const char *roles[2] = { "source", "destination" };
	const char *outer[2] = { a->dst_outer, a->src_outer };
	int rc[2] = { MC_EXIT_USAGE, MC_EXIT_USAGE };

	for (int i = 0; i < 2; i++) {
		json_t *req = start_req(a, m, policy, roles[i], outer[i], secret, note);

		rc[i] = call(run, m, i, req, &replies[i]);
		json_decref(req);	/* wiped on free: it held the key */
		if (rc[i] != MC_EXIT_OK)
			break;
	}
	if (rc[0] == MC_EXIT_OK && rc[1] == MC_EXIT_OK)
		return MC_EXIT_OK;
	if (rc[0] == MC_EXIT_OK && end_on(run, m, 0) != MC_EXIT_OK) {
		say(run, m, "rollback on %s FAILED: it may still hold migration %s", a->src.name,
		    m->id);
		return MC_EXIT_PARTIAL;
	}
	if (rc[0] == MC_EXIT_OK)
		say(run, m, "rolled back: migration %s ended on %s", m->id, a->src.name);
	return rc[0] != MC_EXIT_OK ? rc[0] : rc[1];
}

/*
 * The refusal that lets opportunistic fall back: an appliance's reply, over
 * the mutual TLS that authenticated it, with the code "cannot_seal". The
 * note for both appliances' audit trails names it and its reason.
 */
static bool
cannot_seal_answer(const struct mc_start_opts *a, json_t **r, char *note, size_t len)
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

/* Lanes for the migrations: one per worker of the busier appliance. */
static int
default_lanes(struct mc_start_run *run)
{
	json_int_t lanes = 1;

	for (int i = 0; i < 2; i++) {
		json_t *req = mc_cli_req("health", NULL), *reply = NULL;
		int rc = call(run, NULL, i, req, &reply);

		json_decref(req);
		if (rc != MC_EXIT_OK) {
			json_decref(reply);
			return rc;
		}
		if (json_integer_value(json_object_get(reply, "workers")) > lanes)
			lanes = json_integer_value(json_object_get(reply, "workers"));
		json_decref(reply);
	}
	run->o->lanes = lanes;
	return MC_EXIT_OK;
}

/* opportunistic, after the sealed start failed: unsealed only on a "cannot seal" answer. */
static int
fall_back(struct mc_start_run *run, const struct mc_mig_spec *m, int rc, json_t **r)
{
	char note[MC_NOTE_MAX];

	if (rc != MC_EXIT_REFUSED || !cannot_seal_answer(run->o, r, note, sizeof(note))) {
		say(run, m, "opportunistic: %s NOT started unsealed: no appliance answered that it "
		    "cannot seal", m->id);
		return rc;
	}
	json_decref(r[0]);
	json_decref(r[1]);
	r[0] = r[1] = NULL;
	say(run, m, "opportunistic: starting %s UNSEALED (plaintext): %s", m->id, note);
	rc = start_both(run, m, "disabled", NULL, note, r);
	return rc == MC_EXIT_OK ? MC_EXIT_DOWNGRADED : rc;
}

void
mc_start_run_init(struct mc_start_run *run, const struct mc_cli *c, struct mc_start_opts *o,
		  bool batch)
{
	run->c = c;
	run->o = o;
	run->batch = batch;
	mc_conn_init(&run->conn[0], c->ctx, &o->src, c->timeout_ms);
	mc_conn_init(&run->conn[1], c->ctx, &o->dst, c->timeout_ms);
}

void
mc_start_run_close(struct mc_start_run *run)
{
	mc_conn_close(&run->conn[0]);
	mc_conn_close(&run->conn[1]);
}

int
mc_start_prepare(struct mc_start_run *run)
{
	int rc;

	if (strcmp(run->o->policy, "disabled") == 0)
		return MC_EXIT_OK;
	/* An appliance that does not answer is no reason to go unsealed. */
	if (run->o->lanes == 0 && (rc = default_lanes(run)) != MC_EXIT_OK)
		return rc;
	rc = mc_secmem_lock(MC_CLI_MEMLOCK);
	if (rc != 0) {
		fprintf(stderr, "migsecctl: cannot lock its memory (mlockall: %s): the key "
			"could reach swap. Raise the locked-memory limit to %lu MiB (ulimit -l "
			"%lu) or run it with CAP_IPC_LOCK\n", strerror(-rc),
			MC_CLI_MEMLOCK >> 20, MC_CLI_MEMLOCK >> 10);
		return MC_EXIT_USAGE;
	}
	return MC_EXIT_OK;
}

int
mc_start_one(struct mc_start_run *run, const struct mc_mig_spec *m, json_t **r)
{
	uint8_t *secret = NULL;
	int rc;

	r[0] = r[1] = NULL;
	if (strcmp(run->o->policy, "disabled") != 0) {
		secret = mc_secure_zalloc(MC_SECRET_LEN);
		if (secret == NULL || read_secret(run->o->key_stdin, secret) != 0) {
			mc_secure_free(secret, MC_SECRET_LEN);
			return MC_EXIT_USAGE;
		}
	}
	rc = start_both(run, m, run->o->policy, secret, NULL, r);
	mc_secure_free(secret, MC_SECRET_LEN);	/* the appliances hold derived keys only */
	if (rc != MC_EXIT_OK && strcmp(run->o->policy, "opportunistic") == 0)
		rc = fall_back(run, m, rc, r);
	if (rc != MC_EXIT_OK && rc != MC_EXIT_DOWNGRADED) {
		json_decref(r[0]);
		json_decref(r[1]);
		r[0] = r[1] = NULL;
	}
	return rc;
}

/* migsecctl migrate's way in (mc_cli.h): one migration, its own two connections. */
int
mc_start_run(const struct mc_cli *c, struct mc_start *a, json_t **r)
{
	struct mc_start_opts o;
	struct mc_start_run run;
	int rc;

	memset(&o, 0, sizeof(o));
	o.policy = a->policy;
	o.src_outer = a->src_outer;
	o.dst_outer = a->dst_outer;
	o.src = a->src;
	o.dst = a->dst;
	o.lifetime = a->lifetime;
	o.max_bytes = a->max_bytes;
	o.rekey_s = a->rekey_s;
	o.rekey_bytes = a->rekey_bytes;
	o.window = a->window;
	o.lanes = a->lanes;
	o.key_stdin = a->key_stdin;
	o.have_src = a->have_src;
	o.have_dst = a->have_dst;
	o.one.id = a->id;
	o.one.vm = a->vm;
	o.one.nb_sel = a->nb_sel;
	for (unsigned int i = 0; i < a->nb_sel; i++)
		o.one.sel[i] = a->sel[i];
	r[0] = r[1] = NULL;
	mc_start_run_init(&run, c, &o, false);
	rc = mc_start_prepare(&run);
	a->lanes = o.lanes;
	if (rc == MC_EXIT_OK)
		rc = mc_start_one(&run, &o.one, r);
	mc_start_run_close(&run);
	return rc;
}

int
mc_start_end(const struct mc_cli *c, const struct mc_peer *p, const char *id)
{
	struct mc_conn k;
	json_t *req = mc_cli_req("end", id), *reply = NULL;
	int rc;

	mc_conn_init(&k, c->ctx, p, c->timeout_ms);
	rc = mc_cli_call(&k, NULL, req, &reply);
	mc_conn_close(&k);
	json_decref(req);
	json_decref(reply);
	return rc;
}
