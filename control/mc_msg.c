/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The management protocol's messages (mc_msg.h): strict parsing of
 * requests, and the replies. Used by migsec-control's one thread and by
 * migsecctl; JSON that carried a key is freed through mc_secmem.c's
 * wipe-on-free allocators.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mc_msg.h"
#include "mc_secmem.h"
#include "ms_hex.h"

static const char *const ops[] = { "start", "rekey", "end", "status", "health", NULL };
static const char *const policies[] = { "required", "opportunistic", "disabled", NULL };
static const char *const roles[] = { "source", "destination", NULL };

const char *mc_op_name(enum mc_op op) { return ops[op]; }
const char *mc_policy_name(enum mc_policy p) { return policies[p]; }
const char *mc_role_name(enum mc_role r) { return roles[r]; }

static int __attribute__((format(printf, 3, 4)))
fail(struct mc_err *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/*
	 * The message quotes the peer's bytes (jansson's "near '...'", field
	 * names). It goes into the reply and the audit trail as a JSON string,
	 * which must be UTF-8: one invalid byte and jansson refuses the string,
	 * the reply loses its message and the audit line its peer and reason.
	 * Printable ASCII only.
	 */
	for (char *c = e->msg; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	return -1;
}

/*
 * What jansson found wrong, without its own text: that quotes up to 20
 * bytes "near" the fault, which in a start request can be the key's hex
 * digits, and the message goes into the reply and the audit trail. Only
 * the kind of fault and where it is (line, column, byte) are passed on.
 */
static const char *
json_fault(const json_error_t *je)
{
	switch (json_error_code(je)) {
	case json_error_invalid_utf8: return "invalid UTF-8";
	case json_error_premature_end_of_input: return "premature end of input";
	case json_error_end_of_input_expected: return "data after the object";
	case json_error_invalid_syntax: return "invalid syntax";
	case json_error_null_character: return "NUL character";
	case json_error_null_byte_in_key: return "NUL byte in a field name";
	case json_error_duplicate_key: return "duplicate field";
	case json_error_numeric_overflow: return "number out of range";
	case json_error_stack_overflow: return "nested too deeply";
	case json_error_out_of_memory: return "out of memory";
	default: return "malformed";
	}
}

static int
one_of(const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			return i;
	return -1;
}

/* Fields each op accepts, and which of them it requires. */
struct field {
	const char *name;
	bool required;
};

static const struct field f_start[] = {
	{ "v", true }, { "op", true }, { "id", true }, { "vm", true }, { "policy", true },
	{ "role", true }, { "peer", true }, { "selectors", true }, { "lifetime_s", true },
	{ "key", false }, { "nonce", false }, { "max_bytes", false }, { "rekey_s", false },
	{ "rekey_bytes", false }, { "replay_window", false }, { "note", false }, { "lanes", false },
	{ NULL, false },
};
static const struct field f_id[] = { { "v", true }, { "op", true }, { "id", true }, { NULL, false } };
static const struct field f_status[] = { { "v", true }, { "op", true }, { "id", false }, { NULL, false } };
static const struct field f_health[] = { { "v", true }, { "op", true }, { NULL, false } };

static int
check_fields(json_t *o, const struct field *f, const char *op, struct mc_err *e)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		bool known = false;

		for (int i = 0; f[i].name; i++)
			known |= strcmp(k, f[i].name) == 0;
		if (!known)
			return fail(e, "unknown_field", "field '%.64s' is not part of '%s'", k, op);
	}
	for (int i = 0; f[i].name; i++)
		if (f[i].required && json_object_get(o, f[i].name) == NULL)
			return fail(e, "missing_field", "'%s' needs field '%s'", op, f[i].name);
	return 0;
}

static int
get_str(json_t *o, const char *name, char *out, size_t max, struct mc_err *e)
{
	json_t *v = json_object_get(o, name);
	const char *s;

	if (!json_is_string(v))
		return fail(e, "invalid_field", "field '%s' must be a string", name);
	s = json_string_value(v);
	if (json_string_length(v) != strlen(s))
		return fail(e, "invalid_field", "field '%s' contains a NUL byte", name);
	if (strlen(s) == 0 || strlen(s) > max)
		return fail(e, "invalid_field", "field '%s' must be 1 to %zu characters", name, max);
	snprintf(out, max + 1, "%s", s);
	return 0;
}

static int
get_uint(json_t *o, const char *name, uint64_t min, uint64_t max, uint64_t *out, struct mc_err *e)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL)
		return 0;	/* optional: the caller set the default */
	if (!json_is_integer(v))
		return fail(e, "invalid_field", "field '%s' must be an integer", name);
	if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return fail(e, "invalid_field", "field '%s' must be %llu..%llu (got %lld)", name,
			    (unsigned long long)min, (unsigned long long)max,
			    (long long)json_integer_value(v));
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
get_id(json_t *o, struct mc_req *r, struct mc_err *e)
{
	if (get_str(o, "id", r->id, MC_ID_MAX, e))
		return -1;
	for (const char *c = r->id; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			return fail(e, "invalid_field", "field 'id': only letters, digits, '.', '_', '-'");
	return 0;
}

static int
get_secret(json_t *o, struct mc_req *r, struct mc_err *e)
{
	json_t *k = json_object_get(o, "key"), *n = json_object_get(o, "nonce");

	if (r->policy == MC_POL_DISABLED) {
		if (k || n)
			return fail(e, "invalid_field", "policy 'disabled' takes no key or nonce");
		return 0;
	}
	if (!k || !n)
		return fail(e, "missing_field", "policy '%s' needs 'key' and 'nonce'",
			    mc_policy_name(r->policy));
	if (!json_is_string(k) || !json_is_string(n))
		return fail(e, "invalid_field", "'key' and 'nonce' must be hex strings");
	r->secret = mc_secure_zalloc(MC_SECRET_LEN);
	if (r->secret == NULL)
		return fail(e, "limit", "secure memory exhausted");
	if (ms_hex_decode(json_string_value(k), r->secret, 32) != 0)
		return fail(e, "invalid_field", "field 'key' must be 64 hex digits (256 bits)");
	if (ms_hex_decode(json_string_value(n), r->secret + 32, 8) != 0)
		return fail(e, "invalid_field", "field 'nonce' must be 16 hex digits (64 bits)");
	return 0;
}

static int
get_selectors(json_t *o, struct mc_req *r, struct mc_err *e)
{
	json_t *a = json_object_get(o, "selectors"), *v;
	char err[128];
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MC_SEL_MAX)
		return fail(e, "invalid_field", "field 'selectors' must be an array of 1 to %d strings",
			    MC_SEL_MAX);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) > 200)
			return fail(e, "invalid_field", "selectors[%zu] must be a string of at most 200 "
				    "characters", i);
		if (ms_sel_parse(json_string_value(v), &r->sel[i], err, sizeof(err)) != 0)
			return fail(e, "invalid_field", "selectors[%zu]: %s", i, err);
		if (r->sel[i].src.ip.af != r->sel[0].src.ip.af)
			return fail(e, "invalid_field", "selectors must all be IPv4 or all IPv6");
	}
	r->nb_sel = (unsigned int)json_array_size(a);
	return 0;
}

static int
parse_start(json_t *o, struct mc_req *r, struct mc_err *e)
{
	char buf[64];
	int i;

	if (get_id(o, r, e) || get_str(o, "vm", r->vm, MC_VM_MAX, e))
		return -1;
	for (const char *c = r->vm; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return fail(e, "invalid_field", "field 'vm': printable ASCII only");
	if (get_str(o, "policy", buf, sizeof(buf) - 1, e))
		return -1;
	if ((i = one_of(buf, policies)) < 0)
		return fail(e, "invalid_field", "field 'policy' must be required, opportunistic or "
			    "disabled");
	r->policy = (enum mc_policy)i;
	if (get_str(o, "role", buf, sizeof(buf) - 1, e))
		return -1;
	if ((i = one_of(buf, roles)) < 0)
		return fail(e, "invalid_field", "field 'role' must be source or destination");
	r->role = (enum mc_role)i;
	if (get_str(o, "peer", buf, sizeof(buf) - 1, e))
		return -1;
	if (ms_ip_parse(buf, &r->peer) != 0)
		return fail(e, "invalid_field", "field 'peer' must be an IP address");
	if (json_object_get(o, "note") && get_str(o, "note", r->note, MC_NOTE_MAX, e))
		return -1;
	for (const char *c = r->note; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return fail(e, "invalid_field", "field 'note': printable ASCII only");
	if (get_selectors(o, r, e) ||
	    get_uint(o, "lifetime_s", 1, MC_LIFETIME_MAX, &r->lifetime_s, e) ||
	    get_uint(o, "max_bytes", 0, 1ULL << 62, &r->max_bytes, e) ||
	    get_uint(o, "rekey_s", 10, 86400, &r->rekey_s, e) ||
	    get_uint(o, "rekey_bytes", 1 << 20, 1ULL << 62, &r->rekey_bytes, e))
		return -1;
	{
		uint64_t w = 0, lanes = 1;

		if (get_uint(o, "replay_window", 64, 4096, &w, e) ||
		    get_uint(o, "lanes", 1, MC_LANES_MAX, &lanes, e))
			return -1;
		r->replay_window = (uint32_t)w;
		r->lanes = (uint32_t)lanes;
	}
	return get_secret(o, r, e);
}

int
mc_msg_parse(const char *text, size_t len, struct mc_req *r, struct mc_err *e)
{
	json_error_t je;
	json_t *o, *v;
	int op, rc = -1;

	memset(r, 0, sizeof(*r));
	if (len > MC_MSG_MAX)
		return fail(e, "bad_message", "message of %zu bytes exceeds %d", len, MC_MSG_MAX);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL)
		return fail(e, "bad_message", "not valid JSON: %s (line %d, column %d, at byte %d)",
			    json_fault(&je), je.line, je.column, je.position);
	if (!json_is_object(o)) {
		fail(e, "bad_message", "a message is one JSON object");
		goto out;
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != MC_PROTO_VERSION) {
		fail(e, "unsupported_version", "field 'v' must be %d", MC_PROTO_VERSION);
		goto out;
	}
	v = json_object_get(o, "op");
	if (!json_is_string(v) || (op = one_of(json_string_value(v), ops)) < 0) {
		fail(e, "unknown_op", "field 'op' must be start, rekey, end, status or health");
		goto out;
	}
	r->op = (enum mc_op)op;
	switch (r->op) {
	case MC_OP_START:
		rc = check_fields(o, f_start, "start", e) ? -1 : parse_start(o, r, e);
		break;
	case MC_OP_REKEY:
	case MC_OP_END:
		rc = check_fields(o, f_id, mc_op_name(r->op), e) ? -1 : get_id(o, r, e);
		break;
	case MC_OP_STATUS:
		rc = check_fields(o, f_status, "status", e);
		if (rc == 0 && json_object_get(o, "id"))
			rc = get_id(o, r, e);
		break;
	case MC_OP_HEALTH:
		rc = check_fields(o, f_health, "health", e);
		break;
	}
out:
	json_decref(o);		/* wiped on free: it held the key in hex */
	if (rc != 0)
		mc_req_clear(r);
	return rc;
}

void
mc_req_clear(struct mc_req *r)
{
	mc_secure_free(r->secret, MC_SECRET_LEN);
	r->secret = NULL;
}

char *
mc_msg_ok(json_t *body)
{
	char *s;

	json_object_set_new(body, "v", json_integer(MC_PROTO_VERSION));
	json_object_set_new(body, "ok", json_true());
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	return s;
}

char *
mc_msg_error(const char *code, const char *msg)
{
	json_t *o = json_object(), *e = json_object();
	char *s;

	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", json_string(msg));
	json_object_set_new(o, "v", json_integer(MC_PROTO_VERSION));
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", e);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
