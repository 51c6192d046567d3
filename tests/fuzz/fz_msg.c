/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz harness: the management protocol parser (control/mc_msg.c), which
 * reads what a TLS peer sends. Input: the bytes of one message (after the
 * 4-byte length). Besides ASan/UBSan/LSan, it checks what the parser
 * promises: a refusal carries a known code and leaves nothing allocated; an
 * accepted request is complete and every field is inside its range; an
 * error reply built from the refusal is valid JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "mc_msg.h"
#include "mc_secmem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fz_msg: %s:%d: %s\n", __FILE__, \
	__LINE__, #c); abort(); } } while (0)

static const char *const codes[] = { "bad_message", "unsupported_version", "unknown_op",
	"missing_field", "unknown_field", "invalid_field", "limit", NULL };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* As migsec-control: keys in OpenSSL's secure heap, jansson wiping. */
	if (mc_secmem_init(64 * 1024) != 0) {
		fprintf(stderr, "fz_msg: cannot set up the secure heap\n");
		exit(1);
	}
	/* It also made this process non-dumpable; LeakSanitizer needs it dumpable. */
	prctl(PR_SET_DUMPABLE, 1);
	return 0;
}

static bool
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > MC_ID_MAX)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void
check_start(const struct mc_req *r)
{
	CHECK(id_ok(r->id));
	CHECK(strlen(r->vm) >= 1 && strlen(r->vm) <= MC_VM_MAX);
	for (const char *c = r->vm; *c; c++)
		CHECK(*c >= 0x20 && *c <= 0x7e);
	CHECK(r->policy <= MC_POL_DISABLED && r->role <= MC_ROLE_DESTINATION);
	CHECK(r->peer.af == MS_AF_INET || r->peer.af == MS_AF_INET6);
	CHECK(r->nb_sel >= 1 && r->nb_sel <= MC_SEL_MAX);
	for (unsigned int i = 0; i < r->nb_sel; i++) {
		char err[128];

		CHECK(r->sel[i].src.ip.af == r->sel[0].src.ip.af);
		CHECK(ms_sel_check(&r->sel[i], err, sizeof(err)) == 0);
	}
	CHECK(r->lifetime_s >= 1 && r->lifetime_s <= MC_LIFETIME_MAX);
	CHECK(r->rekey_s == 0 || (r->rekey_s >= 10 && r->rekey_s <= 86400));
	CHECK(r->rekey_bytes == 0 || r->rekey_bytes >= (1 << 20));
	CHECK(r->replay_window == 0 || (r->replay_window >= 64 && r->replay_window <= 4096));
	CHECK(r->lanes >= 1 && r->lanes <= MC_LANES_MAX);
	CHECK((r->secret != NULL) == (r->policy != MC_POL_DISABLED));
	CHECK(strlen(r->note) <= MC_NOTE_MAX);
}

static void
check_error_reply(const struct mc_err *e)
{
	json_error_t je;
	char *s = mc_msg_error(e->code, e->msg);
	json_t *o;

	CHECK(s != NULL);
	o = json_loads(s, JSON_REJECT_DUPLICATES, &je);
	CHECK(o != NULL && json_is_object(o));
	CHECK(json_is_false(json_object_get(o, "ok")));
	/* The peer is told why: code and message both present. */
	CHECK(json_is_string(json_object_get(json_object_get(o, "error"), "code")));
	CHECK(json_is_string(json_object_get(json_object_get(o, "error"), "message")));
	json_decref(o);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_req r;
	struct mc_err e = { 0 };
	bool known = false;

	if (mc_msg_parse((const char *)data, size, &r, &e) == 0) {
		switch (r.op) {
		case MC_OP_START:
			check_start(&r);
			break;
		case MC_OP_REKEY:
		case MC_OP_END:
			CHECK(id_ok(r.id));
			break;
		case MC_OP_STATUS:
			CHECK(r.id[0] == '\0' || id_ok(r.id));
			break;
		case MC_OP_HEALTH:
			break;
		default:
			CHECK(!"unknown op accepted");
		}
		CHECK(r.op == MC_OP_START || r.secret == NULL);
		mc_req_clear(&r);
		CHECK(r.secret == NULL);
		return 0;
	}
	CHECK(e.code != NULL && r.secret == NULL);
	for (int i = 0; codes[i]; i++)
		known |= strcmp(e.code, codes[i]) == 0;
	CHECK(known);
	CHECK(memchr(e.msg, '\0', sizeof(e.msg)) != NULL && e.msg[0] != '\0');
	check_error_reply(&e);
	return 0;
}
