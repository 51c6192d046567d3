/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's refusal budget (mc_refuse.c) and the audit file's bound
 * (mc_audit.c), read back from a real audit file.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "mc_audit.h"
#include "mc_refuse.h"
#include "tl.h"

static char dir[] = "/tmp/ct-refuse-XXXXXX";
static char path[64];

static int
setup(void)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	return mc_audit_open("ct", path);
}

static int
teardown(void)
{
	char old[80];

	mc_audit_close();
	snprintf(old, sizeof(old), "%s.1", path);
	unlink(old);
	unlink(path);
	return rmdir(dir);
}

/* The lines of file f with this event (and this peer, if given). */
static unsigned int
lines(const char *f, const char *event, const char *peer, json_t **last)
{
	FILE *fp = fopen(f, "r");
	char buf[4096];
	unsigned int n = 0;

	while (fp != NULL && fgets(buf, sizeof(buf), fp) != NULL) {
		json_t *o = json_loads(buf, 0, NULL);

		if (o != NULL && strcmp(json_string_value(json_object_get(o, "event")), event) == 0 &&
		    (peer == NULL || strcmp(json_string_value(json_object_get(o, "peer")), peer) == 0)) {
			n++;
			if (last != NULL) {
				json_decref(*last);
				*last = json_incref(o);
			}
		}
		json_decref(o);
	}
	if (fp != NULL)
		fclose(fp);
	return n;
}

static void
src4(struct mc_src *s, const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	a->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &a->sin_addr);
	mc_src_of(&ss, s);
}

static void
src6(struct mc_src *s, const char *ip)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

	a->sin6_family = AF_INET6;
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	mc_src_of(&ss, s);
}

static void
test_sources(void)
{
	struct mc_src a, b;

	src4(&a, "192.0.2.7");
	src6(&b, "::ffff:192.0.2.7");
	CU_ASSERT(mc_src_same(&a, &b));		/* v4-mapped is the IPv4 source */
	CU_ASSERT_STRING_EQUAL(a.str, "192.0.2.7");
	src4(&b, "192.0.2.8");
	CU_ASSERT(!mc_src_same(&a, &b));
	src6(&a, "2001:db8:1:2::1");
	src6(&b, "2001:db8:1:2:ffff::9");
	CU_ASSERT(mc_src_same(&a, &b));		/* one /64 */
	CU_ASSERT_STRING_EQUAL(a.str, "2001:db8:1:2::/64");
	src6(&b, "2001:db8:1:3::1");
	CU_ASSERT(!mc_src_same(&a, &b));
}

static void
refuse(struct mc_refuse *r, const struct mc_src *s, const char *why, uint64_t now)
{
	mc_refuse_audit(r, s, "connection_refused", why,
			json_pack("{s:s,s:s}", "peer", s->str, "reason", why), now);
}

/* 100 refusals from one source: 10 lines, then one summary once the window ends. */
static void
test_budget(void)
{
	static struct mc_refuse r;
	struct mc_src a, b;
	json_t *sum = NULL;

	src4(&a, "198.51.100.9");
	src4(&b, "198.51.100.10");
	for (int i = 0; i < 100; i++)
		refuse(&r, &a, i % 2 ? "per-source limit" : "connection limit", 1000 + (uint64_t)i);
	refuse(&r, &b, "connection limit", 1500);	/* another source has its own budget */
	CU_ASSERT_EQUAL(lines(path, "connection_refused", a.str, NULL), MC_REFUSE_BURST);
	CU_ASSERT_EQUAL(lines(path, "connection_refused", b.str, NULL), 1);
	mc_refuse_tick(&r, 1000 + MC_REFUSE_WINDOW_S * 1000 - 1);
	CU_ASSERT_EQUAL(lines(path, "refusals_summary", NULL, NULL), 0);
	mc_refuse_tick(&r, 1000 + MC_REFUSE_WINDOW_S * 1000);
	CU_ASSERT_EQUAL_FATAL(lines(path, "refusals_summary", NULL, &sum), 1);	/* b: none due */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(sum, "peer")), a.str);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(sum, "refused")), 100);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(sum, "audited")), MC_REFUSE_BURST);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(sum, "reasons"),
							   "per-source limit")), 45);
	json_decref(sum);
	refuse(&r, &a, "connection limit", 20000);	/* a new window: a line again */
	CU_ASSERT_EQUAL(lines(path, "connection_refused", a.str, NULL), MC_REFUSE_BURST + 1);
	mc_refuse_tick(&r, 40000);
}

/* More sources than the table: the rest share one entry, still one summary. */
static void
test_many_sources(void)
{
	static struct mc_refuse r;
	char ip[32];
	unsigned int before = lines(path, "connection_refused", NULL, NULL);
	json_t *sum = NULL;
	struct mc_src s;

	for (int i = 0; i < MC_REFUSE_SOURCES + 50; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		src4(&s, ip);
		refuse(&r, &s, "connection limit", 100);
	}
	/* 64 sources, a line each; the shared entry: MC_REFUSE_BURST lines, then counted. */
	CU_ASSERT_EQUAL(lines(path, "connection_refused", NULL, NULL) - before,
			MC_REFUSE_SOURCES + MC_REFUSE_BURST);
	mc_refuse_tick(&r, 100 + MC_REFUSE_WINDOW_S * 1000);
	CU_ASSERT_EQUAL(lines(path, "refusals_summary", "other sources", &sum), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(sum, "refused")), 50);
	json_decref(sum);
}

/* A bound of 4 KiB: FILE.1 and FILE each under it, the new one says so first. */
static void
test_rotation(void)
{
	char old[80];
	struct stat st, st1;
	json_t *first = NULL;
	FILE *fp;
	char buf[4096];

	snprintf(old, sizeof(old), "%s.1", path);
	mc_audit_bound(4096);
	for (int i = 0; i < 100; i++)
		mc_audit("request_rejected", json_pack("{s:s,s:i}", "reason", "a line of some length",
						       "n", i));
	mc_audit_bound(0);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL_FATAL(stat(old, &st1), 0);
	CU_ASSERT(st.st_size <= 4096 && st1.st_size <= 4096);
	fp = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	if (fgets(buf, sizeof(buf), fp) != NULL)
		first = json_loads(buf, 0, NULL);
	fclose(fp);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "event")), "audit_rotated");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "previous")), old);
	json_decref(first);
	first = NULL;
	/* The last of the 100 lines is the new file's last: nothing lost at the bound. */
	CU_ASSERT(lines(path, "request_rejected", NULL, &first) > 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "n")), 99);
	json_decref(first);
}

static const CU_TestInfo tests[] = {
	{ "sources: IPv4 address, v4-mapped, IPv6 /64", test_sources },
	{ "refusals: a budget per source and window, then a summary", test_budget },
	{ "refusals: sources beyond the table share one entry", test_many_sources },
	{ "audit file rotated at its bound", test_rotation },
	CU_TEST_INFO_NULL,
};

void
ct_suite_refuse(void)
{
	tl_add_tests(CU_add_suite("refuse", setup, teardown), tests);
}
