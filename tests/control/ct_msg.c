/* SPDX-License-Identifier: BSD-3-Clause */
/* The management protocol parser: every field, every error, nothing half-applied. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct.h"
#include "mc_conf.h"
#include "mc_msg.h"
#include "tl.h"

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NONCE "a0a1a2a3a4a5a6a7"
#define SEL "\"src=192.0.2.1/32,dst=192.0.2.2/32,proto=tcp,dport=4444\""

/* A valid start, with one field replaced ("FIELD":VALUE), removed (VALUE NULL)
 * or added (FIELD not present before). */
static char *
start_with(const char *field, const char *value)
{
	static const char *const f[][2] = {
		{ "v", "1" }, { "op", "\"start\"" }, { "id", "\"m-1\"" }, { "vm", "\"web 1\"" },
		{ "policy", "\"required\"" }, { "role", "\"source\"" }, { "peer", "\"203.0.113.2\"" },
		{ "selectors", "[" SEL "]" }, { "lifetime_s", "600" }, { "key", "\"" KEY "\"" },
		{ "nonce", "\"" NONCE "\"" },
	};
	static char buf[8192];
	size_t n = 0;
	bool found = false;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
	for (unsigned int i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *v = f[i][1];

		if (field && strcmp(field, f[i][0]) == 0) {
			found = true;
			if (value == NULL)
				continue;
			v = value;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"%s\":%s", n > 1 ? "," : "",
				      f[i][0], v);
	}
	if (field && !found && value)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"%s\":%s", field, value);
	snprintf(buf + n, sizeof(buf) - n, "}");
	return buf;
}

static void
expect(const char *text, const char *code)
{
	struct mc_req r;
	struct mc_err e = { 0 };
	int rc = mc_msg_parse(text, strlen(text), &r, &e);

	if (code == NULL) {
		CU_ASSERT_EQUAL(rc, 0);
		if (rc != 0)
			fprintf(stderr, "\n  refused: %s: %s\n  %s\n", e.code, e.msg, text);
		mc_req_clear(&r);
		return;
	}
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_PTR_NULL(r.secret);	/* nothing of a refused request stays */
	CU_ASSERT(e.code != NULL && strcmp(e.code, code) == 0);
	if (rc == 0 || e.code == NULL || strcmp(e.code, code) != 0)
		fprintf(stderr, "\n  want %s, got %s (%s)\n  %.200s\n", code, e.code ? e.code : "ok",
			e.msg, text);
	mc_req_clear(&r);
}

static void
test_valid(void)
{
	struct mc_req r;
	struct mc_err e;
	const char *t = start_with(NULL, NULL);

	CU_ASSERT_EQUAL_FATAL(mc_msg_parse(t, strlen(t), &r, &e), 0);
	CU_ASSERT_EQUAL(r.op, MC_OP_START);
	CU_ASSERT_STRING_EQUAL(r.id, "m-1");
	CU_ASSERT_STRING_EQUAL(r.vm, "web 1");
	CU_ASSERT_EQUAL(r.policy, MC_POL_REQUIRED);
	CU_ASSERT_EQUAL(r.role, MC_ROLE_SOURCE);
	CU_ASSERT_EQUAL(r.nb_sel, 1);
	CU_ASSERT_EQUAL(r.sel[0].dport_lo, 4444);
	CU_ASSERT_EQUAL(r.lifetime_s, 600);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.secret);
	CU_ASSERT_EQUAL(r.secret[31], 0x1f);
	CU_ASSERT_EQUAL(r.secret[39], 0xa7);
	mc_req_clear(&r);
	CU_ASSERT_PTR_NULL(r.secret);
	expect("{\"v\":1,\"op\":\"rekey\",\"id\":\"m-1\"}", NULL);
	expect("{\"v\":1,\"op\":\"end\",\"id\":\"m-1\"}", NULL);
	expect("{\"v\":1,\"op\":\"status\"}", NULL);
	expect("{\"v\":1,\"op\":\"status\",\"id\":\"m-1\"}", NULL);
	expect("{\"v\":1,\"op\":\"health\"}", NULL);
	expect(start_with("max_bytes", "1000000"), NULL);
	expect(start_with("rekey_s", "60"), NULL);
	expect(start_with("rekey_bytes", "1048576"), NULL);
	expect(start_with("replay_window", "4096"), NULL);
	expect(start_with("note", "\"why\""), NULL);
	expect(start_with("policy", "\"opportunistic\""), NULL);
	expect(start_with("role", "\"destination\""), NULL);
	expect(start_with("peer", "\"2001:db8:ff::2\""), NULL);
	expect(start_with("selectors", "[" SEL "," SEL "," SEL "," SEL "]"), NULL);
}

static void
test_errors(void)
{
	char big[MC_MSG_MAX + 64];

	/* the envelope */
	expect("", "bad_message");
	expect("{\"v\":1,\"op\":\"start\"", "bad_message");		/* truncated */
	expect("[1,2]", "bad_message");
	expect("{\"v\":1,\"op\":\"health\"} {}", "bad_message");	/* trailing data */
	expect("{\"v\":1,\"v\":1,\"op\":\"health\"}", "bad_message");	/* duplicate key */
	expect("{\"op\":\"health\"}", "unsupported_version");
	expect("{\"v\":2,\"op\":\"health\"}", "unsupported_version");
	expect("{\"v\":\"1\",\"op\":\"health\"}", "unsupported_version");
	expect("{\"v\":1}", "unknown_op");
	expect("{\"v\":1,\"op\":\"reboot\"}", "unknown_op");
	expect("{\"v\":1,\"op\":\"health\",\"id\":\"x\"}", "unknown_field");
	expect("{\"v\":1,\"op\":\"end\"}", "missing_field");
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"v\":1,\"op\":\"health\"}", 21);	/* then spaces */
	big[sizeof(big) - 1] = '\0';
	expect(big, "bad_message");					/* oversized */
	/* every field of start */
	expect(start_with("color", "\"red\""), "unknown_field");
	expect(start_with("id", NULL), "missing_field");
	expect(start_with("id", "7"), "invalid_field");
	expect(start_with("id", "\"\""), "invalid_field");
	expect(start_with("id", "\"a b\""), "invalid_field");
	expect(start_with("id", "\"0123456789abcdef0123456789abcdef0\""), "invalid_field");
	expect(start_with("vm", NULL), "missing_field");
	expect(start_with("vm", "\"tab\\there\""), "invalid_field");
	expect(start_with("vm", "\"nul\\u0000inside\""), "bad_message");	/* jansson refuses */
	expect(start_with("policy", "\"maybe\""), "invalid_field");
	expect(start_with("policy", NULL), "missing_field");
	expect(start_with("role", "\"both\""), "invalid_field");
	expect(start_with("peer", "\"203.0.113.300\""), "invalid_field");
	expect(start_with("peer", "[]"), "invalid_field");
	expect(start_with("selectors", "[]"), "invalid_field");
	expect(start_with("selectors", "\"" "src=192.0.2.1,dst=192.0.2.2" "\""), "invalid_field");
	expect(start_with("selectors", "[" SEL "," SEL "," SEL "," SEL "," SEL "]"), "invalid_field");
	expect(start_with("selectors", "[\"src=192.0.2.1,dst=192.0.2.2,dport=70000\"]"), "invalid_field");
	expect(start_with("selectors", "[" SEL ",\"src=2001:db8::1,dst=2001:db8::2\"]"), "invalid_field");
	expect(start_with("selectors", "[3]"), "invalid_field");
	expect(start_with("lifetime_s", "0"), "invalid_field");
	expect(start_with("lifetime_s", "604801"), "invalid_field");
	expect(start_with("lifetime_s", "-5"), "invalid_field");
	expect(start_with("lifetime_s", "1.5"), "invalid_field");
	expect(start_with("lifetime_s", NULL), "missing_field");
	expect(start_with("max_bytes", "\"lots\""), "invalid_field");
	expect(start_with("rekey_s", "5"), "invalid_field");
	expect(start_with("rekey_bytes", "10"), "invalid_field");
	expect(start_with("replay_window", "32"), "invalid_field");
	expect(start_with("replay_window", "8192"), "invalid_field");
	expect(start_with("note", "\"caf\\u00e9\""), "invalid_field");
	expect(start_with("key", NULL), "missing_field");
	expect(start_with("nonce", NULL), "missing_field");
	expect(start_with("key", "\"" KEY "00\""), "invalid_field");
	expect(start_with("key", "\"zz" KEY "\""), "invalid_field");
	expect(start_with("key", "42"), "invalid_field");
	expect(start_with("nonce", "\"a0a1\""), "invalid_field");
	/* policy disabled takes no key */
	{
		char t[8192];

		snprintf(t, sizeof(t), "%s", start_with("policy", "\"disabled\""));
		expect(t, "invalid_field");
	}
}

static void
test_replies(void)
{
	char *ok = mc_msg_ok(json_pack("{s:s}", "migration", "m"));
	char *err = mc_msg_error("not_found", "no such migration");

	CU_ASSERT_PTR_NOT_NULL(strstr(ok, "\"ok\":true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ok, "\"v\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"ok\":false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "\"code\":\"not_found\""));
	free(ok);
	free(err);
}

/*
 * The peer's bytes quoted in an error (invalid UTF-8, control characters)
 * must not cost the reply its message nor the audit line its reason
 * (found by the fuzzer: tests/fuzz/regress/mgmt_msg/).
 */
static void
test_error_text(void)
{
	static const char *const bad[] = {
		"{\"v\":1,\"op\":\"start\",\"id\":\"m\",\"vm\":\"\xc3\xa9\\ud83d\\ude\xc3\xa9\\ud00\"}",
		"\xff\xfe{", "{\"v\":1,\x01\n\"op\"", "{\"v\":1,\"op\":\"end\",\"id\":\"\xc3\"}",
	};

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mc_req r;
		struct mc_err e = { 0 };
		json_t *o;
		char *reply;

		CU_ASSERT_NOT_EQUAL_FATAL(mc_msg_parse(bad[i], strlen(bad[i]), &r, &e), 0);
		for (const char *c = e.msg; *c; c++)
			CU_ASSERT(*c >= 0x20 && *c <= 0x7e);
		reply = mc_msg_error(e.code, e.msg);
		o = json_loads(reply, 0, NULL);
		CU_ASSERT(json_is_string(json_object_get(json_object_get(o, "error"), "message")));
		json_decref(o);
		free(reply);
		o = json_pack("{s:s,s:s}", "code", e.code, "reason", e.msg);
		CU_ASSERT_PTR_NOT_NULL(o);	/* the audit line keeps its reason */
		json_decref(o);
	}
}

/*
 * A request that carries a key and is refused: neither the reply nor the
 * audit line (both made of e.code and e.msg, mc_server.c) may hold a byte
 * of it. jansson's own error text quotes up to 20 bytes "near" the fault,
 * which in these requests are the key's hex digits.
 */
static void
test_no_key_in_errors(void)
{
#define HOT "c9f1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9"
	/* The fault within the first 18 digits: jansson quotes the token so far. */
#define PART "c9f1e8d7a6b5c4d3e2"
	static const char *const bad[] = {
		"{\"v\":1,\"op\":\"start\",\"key\":\"" PART,			/* truncated */
		"{\"v\":1,\"op\":\"start\",\"key\":" PART "}",			/* not a string */
		"{\"v\":1,\"op\":\"start\",\"key\":\"" PART "\xff" HOT "\"}",	/* bad UTF-8 */
		"{\"v\":1,\"op\":\"start\",\"key\":\"" PART "\x01" HOT "\"}",	/* control char */
		"{\"v\":1,\"op\":\"start\",\"key\":\"" PART "\\q" HOT "\"}",	/* bad escape */
		"{\"v\":1,\"op\":\"start\",\"key\":\"" HOT "\" \"nonce\":1}",	/* no comma */
		"{\"key\":\"" HOT "\",\"key\":\"" HOT "\"}",				/* duplicate */
		"{\"v\":1,\"op\":\"start\",\"key\":\"" HOT "\"",			/* unclosed */
	};
	const char *hot = HOT;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mc_req r;
		struct mc_err e = { 0 };
		char *reply, *line;
		json_t *o;
		int leaks = 0;

		CU_ASSERT_NOT_EQUAL_FATAL(mc_msg_parse(bad[i], strlen(bad[i]), &r, &e), 0);
		reply = mc_msg_error(e.code, e.msg);
		o = json_pack("{s:s,s:s}", "code", e.code, "reason", e.msg);
		line = json_dumps(o, JSON_COMPACT);
		/* No run of 4 hex digits of the key (16 bits) in either. */
		for (size_t k = 0; k + 4 <= strlen(hot); k++) {
			char w[5];

			memcpy(w, hot + k, 4);
			w[4] = '\0';
			leaks += strstr(reply, w) != NULL || strstr(line, w) != NULL;
		}
		CU_ASSERT_EQUAL(leaks, 0);
		if (leaks)
			fprintf(stderr, "\n  request %u: the key shows in: %s\n", i, reply);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "byte"));	/* still says where */
		free(line);
		json_decref(o);
		free(reply);
	}
#undef PART
#undef HOT
}

/* migsec-control's settings: the shipped example, and errors naming file:line:setting. */
static void
test_conf(void)
{
	struct mc_conf c;
	char err[512], path[] = "/tmp/migsec-ct-conf-XXXXXX";
	int fd;

	CU_ASSERT_EQUAL(mc_conf_load(UT_SRCDIR "/conf/migsec.conf.example", &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.listen, "198.51.100.2:7443");
	CU_ASSERT_EQUAL(c.nb_clients, 2);
	CU_ASSERT_STRING_EQUAL(c.clients[0].identity, "CN=migsecctl");
	CU_ASSERT_EQUAL(c.clients[0].role, MC_CLIENT_OPERATOR);
	CU_ASSERT_EQUAL(c.nb_peers, 2);
	CU_ASSERT_EQUAL(c.outer4.af, MS_AF_INET);
	CU_ASSERT_EQUAL(c.drain_s, 5);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	dprintf(fd, "name = \"x\";\nmgmt: {\n  listen = \"198.51.100.2:7443\";\n  ca = \"a\"; cert = \"b\";"
		" key = \"c\";\n  timeout_s = 0;\n};\n");
	close(fd);
	CU_ASSERT_NOT_EQUAL(mc_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":5: setting 'mgmt.timeout_s': must be between 1 and 600"));
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "name = \"x\";\nmgmt: {\n  listen = \"198.51.100.2:7443\";\n  ca = \"a\";\n  cert = \"b\";\n"
		"  key = \"c\";\n  lisen = \"typo\";\n};\n");
	close(fd);
	CU_ASSERT_NOT_EQUAL(mc_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":7: setting 'mgmt.lisen': unknown setting"));
	/* found by fuzz-conf: a required string that is empty, or starts with NUL */
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "name = \"x\";\nmgmt: {\n  listen = \"\";\n  ca = \"a\";\n  cert = \"b\";\n"
		"  key = \"c\";\n};\n");
	close(fd);
	CU_ASSERT_NOT_EQUAL(mc_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3: setting 'mgmt.listen': must not be empty"));
	fd = open(path, O_WRONLY | O_TRUNC);
	dprintf(fd, "name = \"x\";\n");
	close(fd);
	CU_ASSERT_NOT_EQUAL(mc_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "setting 'mgmt': required group is missing"));
	unlink(path);
}

/* mgmt.clients and mgmt.peers are required; every bad value names file:line:setting. */
static void
test_conf_clients(void)
{
	static const struct { const char *mgmt, *err; } cases[] = {
		{ "peers = [ \"203.0.113.2\" ];", ":2: setting 'mgmt.clients': required: " },
		{ "clients = ( { identity = \"CN=a\"; role = \"operator\"; } );",
		  ":2: setting 'mgmt.peers': required" },
		{ "allowed_clients = [ \"migsecctl\" ];", ":4: setting 'mgmt.allowed_clients': replaced "
		  "by mgmt.clients" },
		{ "clients = ( { identity = \"migsecctl\"; role = \"operator\"; } );",
		  ":4: setting 'mgmt.clients[0]': 'migsecctl' is no identity" },
		{ "clients = ( { identity = \"CN=a\"; role = \"root\"; } );",
		  ":4: setting 'mgmt.clients[0].role': must be one of \"observer\", \"operator\", "
		  "\"admin\"" },
		{ "clients = ( { identity = \"CN=a\"; } );", ":4: setting 'mgmt.clients[0]': role is "
		  "required" },
		{ "clients = ( { identity = \"CN=a\"; role = \"admin\"; },\n { identity = \"CN=a\"; "
		  "role = \"observer\"; } );", ":5: setting 'mgmt.clients[1]': identity 'CN=a' is "
		  "listed twice" },
		{ "clients = ( { identity = \"DNS:\"; role = \"admin\"; } );", "is no identity" },
		{ "clients = ( { identity = \"CN=a\"; role = \"admin\"; rol = 1; } );",
		  "setting 'mgmt.clients[0].rol': unknown setting" },
		{ "clients = ( { identity = \"CN=a\"; role = \"admin\"; } );\npeers = [ \"nope\" ];",
		  ":5: setting 'mgmt.peers': element 0 must be an address" },
	};
	char err[512], path[] = "/tmp/migsec-ct-conf-XXXXXX";
	struct mc_conf c;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");
		bool peers = strstr(cases[i].mgmt, "peers") != NULL || i == 1;

		fprintf(f, "name = \"x\";\nmgmt: { listen = \"198.51.100.2:7443\";\n  ca = \"a\"; cert = "
			"\"b\"; key = \"c\";\n  %s\n  %s };\n", cases[i].mgmt,
			peers ? "" : "peers = [ \"203.0.113.2\" ];");
		fclose(f);
		CU_ASSERT_NOT_EQUAL(mc_conf_load(path, &c, err, sizeof(err)), 0);
		if (strstr(err, cases[i].err) == NULL)
			fprintf(stderr, "case %u: got '%s'\n", i, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].err));
	}
	unlink(path);
}

static const CU_TestInfo tests[] = {
	{ "valid requests and what they carry", test_valid },
	{ "every field, every error", test_errors },
	{ "reply format", test_replies },
	{ "quoted input in errors stays printable ASCII", test_error_text },
	{ "a refused request's key is never quoted in the reply or audit", test_no_key_in_errors },
	{ "configuration: example, errors with file:line:setting", test_conf },
	{ "configuration: clients and peers required, their errors", test_conf_clients },
	CU_TEST_INFO_NULL,
};

void
ct_suite_msg(void)
{
	tl_add_tests(CU_add_suite("msg", NULL, NULL), tests);
}
