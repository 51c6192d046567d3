/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local read-only query socket (mc_query.c): answers about one VM from
 * the migration table, and nothing for a malformed or stalled client but
 * an error, within its timeout; the socket's mode.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ct.h"
#include "mc_audit.h"
#include "mc_mig.h"
#include "mc_query.h"
#include "mc_secmem.h"
#include "tl.h"

static struct fake_dp dp;
static struct mc_conf conf;
static struct mc_state *st;
static const struct mc_client ct = { .identity = "CN=ct", .role = MC_CLIENT_OPERATOR };

static int
suite_init(void)
{
	char err[256];

	memset(&dp, 0, sizeof(dp));
	if (fake_dp_start(&dp) != 0)
		return -1;
	snprintf(conf.name, sizeof(conf.name), "apB");
	snprintf(conf.dp_socket, sizeof(conf.dp_socket), "%.107s", dp.path);
	snprintf(conf.query_socket, sizeof(conf.query_socket), "/tmp/ct-query-%d.sock",
		 (int)getpid());
	ms_ip_parse("203.0.113.2", &conf.outer4);
	conf.drain_s = 1;
	conf.drop_report_s = 10;
	conf.clients[conf.nb_clients++] = ct;
	ms_prefix_parse("203.0.113.0/24", &conf.peers[conf.nb_peers++]);
	st = mc_state_new(&conf);
	if (st == NULL || mc_audit_open("ct", NULL) != 0 ||
	    mc_query_open(&conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "query suite: %s\n", err);
		return -1;
	}
	return 0;
}

static int
suite_fini(void)
{
	mc_query_close();
	mc_state_free(st);
	fake_dp_stop(&dp);
	return 0;
}

/* Connect, send what (may be ""), let the server answer once, read the reply. */
static json_t *
ask(const char *what, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[1024] = "";
	size_t got = 0;
	ssize_t r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", conf.query_socket);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	if (len > 0)
		CU_ASSERT(send(fd, what, len, 0) == (ssize_t)len);
	mc_query_serve(st);	/* the connection is in the backlog, its bytes buffered */
	while (got < sizeof(buf) - 1 && (r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)r;
	close(fd);
	CU_ASSERT(got > 0 && buf[got - 1] == '\n');
	return json_loads(buf, 0, NULL);
}

/* Each migration its own hosts: overlapping selectors are refused. */
static void
start(const char *id, const char *vm, enum mc_policy pol, const char *sel)
{
	struct mc_req r = { .op = MC_OP_START, .policy = pol, .role = MC_ROLE_DESTINATION,
			    .nb_sel = 1, .lifetime_s = 60 };
	char err[128], *reply;
	json_t *j;

	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.vm, sizeof(r.vm), "%s", vm);
	ms_ip_parse("203.0.113.1", &r.peer);
	ms_sel_parse(sel, &r.sel[0], err, sizeof(err));
	if (pol != MC_POL_DISABLED) {
		r.secret = mc_secure_zalloc(MC_SECRET_LEN);
		RAND_bytes(r.secret, MC_SECRET_LEN);
	}
	reply = mc_handle(st, &r, &ct);
	j = json_loads(reply, 0, NULL);
	CU_ASSERT(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	free(reply);
	mc_req_clear(&r);
}

static void
test_answers(void)
{
	struct stat sb;
	json_t *j;

	CU_ASSERT(stat(conf.query_socket, &sb) == 0 && (sb.st_mode & 0777) == 0660);
	j = ask("vm web1\n", 8);
	CU_ASSERT(json_is_false(json_object_get(j, "active")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "vm")), "web1");
	json_decref(j);
	start("q1", "web1", MC_POL_REQUIRED, "src=192.0.2.1/32,dst=192.0.2.2/32");
	start("q2", "web2", MC_POL_DISABLED, "src=192.0.2.3/32,dst=192.0.2.4/32");
	j = ask("vm web1\n", 8);
	CU_ASSERT(json_is_true(json_object_get(j, "active")));
	CU_ASSERT(json_is_true(json_object_get(j, "sealed")));
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "id")), "q1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "role")), "destination");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(j, "policy")), "required");
	CU_ASSERT_PTR_NULL(json_object_get(j, "key"));
	json_decref(j);
	j = ask("vm web2\n", 8);
	CU_ASSERT(json_is_true(json_object_get(j, "active")));
	CU_ASSERT(json_is_false(json_object_get(j, "sealed")));
	json_decref(j);
	j = ask("vm web\n", 7);		/* a prefix is another VM */
	CU_ASSERT(json_is_false(json_object_get(j, "active")));
	json_decref(j);
}

static void
test_bad_requests(void)
{
	char longname[80];
	static const char *const bad[] = { "hello\n", "vm \n", "vm web1", "vm we\x01" "b1\n",
					   "VM web1\n", NULL };
	struct timespec t0, t1;
	json_t *j;

	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "vm ", 3);
	longname[3 + 65] = '\n';
	for (int i = 0; bad[i] != NULL; i++) {
		j = ask(bad[i], strlen(bad[i]));
		CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "error"));
		CU_ASSERT_PTR_NULL(json_object_get(j, "active"));
		json_decref(j);
	}
	j = ask(longname, 3 + 65 + 1);	/* 65 characters: one too many */
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "error"));
	json_decref(j);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j = ask("", 0);			/* a client that sends nothing: bounded */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "error"));
	CU_ASSERT(t1.tv_sec - t0.tv_sec < 2);
	json_decref(j);
}

/* A client that trickles its line, a byte every 60 ms: cut off after 200 ms
 * in all, not 200 ms per byte (the poll loop it would stall serves TLS). */
static void
test_trickle(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct timespec t0, t1;
	char buf[512] = "";
	pid_t child;
	json_t *j;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", conf.query_socket);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	child = fork();
	if (child == 0) {
		for (const char *p = "vm web1\n"; *p; p++) {
			send(fd, p, 1, MSG_NOSIGNAL);
			usleep(60 * 1000);
		}
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mc_query_serve(st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 350);
	CU_ASSERT(recv(fd, buf, sizeof(buf) - 1, 0) > 0);
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(j, "error"));
	json_decref(j);
	close(fd);
	waitpid(child, NULL, 0);
}

static void
test_closed(void)
{
	mc_query_close();
	CU_ASSERT(access(conf.query_socket, F_OK) != 0);
	CU_ASSERT(mc_query_fd() < 0);
}

static CU_TestInfo tests[] = {
	{ "answers: none, sealed destination, unsealed, a prefix is not a match", test_answers },
	{ "malformed, over-long, non-printable and silent clients get an error", test_bad_requests },
	{ "a client trickling its line is cut off after 200 ms in all", test_trickle },
	{ "closed: the socket file is gone", test_closed },
	CU_TEST_INFO_NULL,
};

void
ct_suite_query(void)
{
	tl_add_tests(CU_add_suite("query", suite_init, suite_fini), tests);
}
