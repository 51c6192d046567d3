/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-dpctl: command-line client of the data plane's control socket, for
 * operators and tests. migsec-control is the production client. This file:
 * main, usage, one request and its reply; the sa commands are in dpctl_sa.c,
 * the text of stats and crypto in dpctl_print.c. One process, one thread,
 * one request (sa add: the key from stdin).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "dpctl.h"
#include "ms_ctl_client.h"
#include "ms_ctl_proto.h"

#define DEFAULT_SOCKET "/run/migsec/dataplane.sock"

void
dpctl_usage(FILE *f)
{
	fprintf(f,
		"Usage: migsec-dpctl [-s SOCKET] COMMAND\n"
		"\n"
		"Commands:\n"
		"  ping                 appliance summary (JSON)\n"
		"  stats [--json]       appliance, port and drop counters\n"
		"  sa list [--json]     installed SAs with their counters\n"
		"  sa add OPTIONS       install an SA; reads its key from stdin (see below)\n"
		"  sa del --id N [--id N...]\n"
		"                       remove SAs and wipe their keys (several: in one table\n"
		"                       update; the reply lists the ids that were absent)\n"
		"  crypto [--json]      crypto profile and devices, with their counters\n"
		"  crypto failover      fail-over profile: take the primary device out of service\n"
		"                       (until restart); the secondary takes every operation\n"
		"  pause                stop taking packets from the ports (they wait in the RX\n"
		"                       queues); returns once no worker polls them\n"
		"  resume               take packets again\n"
		"\n"
		"sa add options:\n"
		"  --id N               SA id (1..4294967295), unique on this appliance\n"
		"  --dir in|out|bypass  in: opens ESP from the peer; out: seals towards it;\n"
		"                       bypass: no SA, the selectors cross in plaintext (no key)\n"
		"  --spi N              SPI (decimal or 0x hex, >= 256)\n"
		"  --local IP --peer IP outer addresses (this appliance's, the peer's)\n"
		"  --sel SELECTOR       inner traffic in the SA's direction, repeatable (max %d):\n"
		"                       src=PFX,dst=PFX[,proto=tcp|udp|icmp|icmp6|N][,sport=A[-B]][,dport=A[-B]]\n"
		"  --sport N --dport N  outer UDP ports (default 4500 and 4500)\n"
		"  --window N           replay window, 64..4096 (default: the appliance's)\n"
		"  --seq N              first sequence number (default 1)\n"
		"  --tag TEXT           free text shown in listings (max %d characters)\n"
		"  --expires UNIXTIME   the data plane deletes the SA then (default: never)\n"
		"  --group G --lane L --lanes N\n"
		"                       out: lane L of N of lane group G; worker w seals with\n"
		"                       lane w, so N must be at least the worker count; the\n"
		"                       group's selectors count once all N lanes are installed\n"
		"  The key and salt are read from stdin as 72 hex digits: the 32-byte\n"
		"  AES-256 key then the 4-byte salt (RFC 4106). Never on the command line.\n"
		"\n"
		"  -s, --socket PATH    control socket (default %s)\n"
		"Exit status: 0 done, 1 refused by the data plane, 2 usage, 3 cannot connect.\n",
		MS_SA_MAX_SEL, MS_SA_TAG_MAX - 1, DEFAULT_SOCKET);
}

/* One request, one reply. *reply is malloc'ed and NUL-terminated. */
static int
request(const char *path, uint16_t op, const void *body, uint32_t len, int32_t *status,
	char **reply)
{
	char err[256];
	size_t rlen;

	if (ms_ctl_call(path, op, body, len, 30000, status, reply, &rlen, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-dpctl: %s\n", err);
		return EXIT_CONNECT;
	}
	return EXIT_OK;
}

int
dpctl_simple(const char *path, uint16_t op, const void *body, uint32_t len, char **out)
{
	int32_t st;
	char *reply;
	int rc = request(path, op, body, len, &st, &reply);

	if (rc != EXIT_OK)
		return rc;
	if (st != 0) {
		fprintf(stderr, "migsec-dpctl: refused: %s (%s)\n", reply, strerror(-st));
		free(reply);
		return EXIT_REFUSED;
	}
	if (out)
		*out = reply;
	else {
		printf("%s\n", reply);
		free(reply);
	}
	return EXIT_OK;
}

int
dpctl_show(const char *path, uint16_t op, bool json, void (*pretty)(const char *))
{
	char *out = NULL;
	int rc = dpctl_simple(path, op, NULL, 0, &out);

	if (rc != EXIT_OK)
		return rc;
	if (json)
		printf("%s\n", out);
	else
		pretty(out);
	free(out);
	return EXIT_OK;
}

/* sa add holds a key: it must not reach a core dump (set for every command). */
static int
no_core_dumps(void)
{
	struct rlimit no_core = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0) {
		fprintf(stderr, "migsec-dpctl: cannot disable core dumps: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int
dpctl_lock_memory(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0 ||
	    (errno == EINVAL && mlockall(MCL_CURRENT | MCL_FUTURE) == 0))
		return 0;
	fprintf(stderr, "migsec-dpctl: cannot lock its memory (mlockall: %s): the key could "
		"reach swap; run it as root or with CAP_IPC_LOCK\n", strerror(errno));
	return -1;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	int i = 1;

	if (no_core_dumps() != 0)
		return EXIT_USAGE;

	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc) {
			path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			dpctl_usage(stdout);
			return EXIT_OK;
		} else {
			dpctl_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		dpctl_usage(stderr);
		return EXIT_USAGE;
	}
	argc -= i;
	argv += i;
	if (strcmp(argv[0], "ping") == 0 && argc == 1)
		return dpctl_simple(path, MS_CTL_PING, NULL, 0, NULL);
	if (strcmp(argv[0], "pause") == 0 && argc == 1)
		return dpctl_simple(path, MS_CTL_PAUSE, NULL, 0, NULL);
	if (strcmp(argv[0], "resume") == 0 && argc == 1)
		return dpctl_simple(path, MS_CTL_RESUME, NULL, 0, NULL);
	if (strcmp(argv[0], "stats") == 0 && (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json"))))
		return dpctl_show(path, MS_CTL_STATS, argc == 2, dpctl_print_stats);
	if (strcmp(argv[0], "crypto") == 0 && (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json"))))
		return dpctl_show(path, MS_CTL_CRYPTO, argc == 2, dpctl_print_crypto);
	if (strcmp(argv[0], "crypto") == 0 && argc == 2 && strcmp(argv[1], "failover") == 0)
		return dpctl_show(path, MS_CTL_FAILOVER, false, dpctl_print_crypto);
	if (strcmp(argv[0], "sa") == 0 && argc >= 2)
		return dpctl_sa(path, argc, argv);
	dpctl_usage(stderr);
	return EXIT_USAGE;
}
