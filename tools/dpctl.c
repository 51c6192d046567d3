/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-dpctl: command-line client of the data plane's control socket, for
 * operators and tests. migsec-control is the production client.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms_ctl_client.h"
#include "ms_ctl_proto.h"

#define DEFAULT_SOCKET "/run/migsec/dataplane.sock"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: migsec-dpctl [-s SOCKET] COMMAND\n"
		"\n"
		"Commands:\n"
		"  ping                 appliance summary (JSON)\n"
		"  stats [--json]       appliance, port and drop counters\n"
		"  sa list [--json]     installed SAs with their counters\n"
		"  sa add OPTIONS       install an SA; reads its key from stdin (see below)\n"
		"  sa del --id N        remove an SA and wipe its key\n"
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

static int
simple(const char *path, uint16_t op, const void *body, uint32_t len, char **out)
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

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 72 hex digits on stdin -> key || salt. Every buffer is wiped. */
static int
read_key(struct ms_sa_spec *s)
{
	char buf[256];
	uint8_t raw[MS_KEY_LEN + MS_SALT_LEN];
	size_t n = fread(buf, 1, sizeof(buf) - 1, stdin), k = 0;
	int rc = 0;

	buf[n] = '\0';
	for (size_t i = 0; i < n && rc == 0; i++) {
		int hi, lo;

		if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			continue;
		if (i + 1 >= n || k >= sizeof(raw) || (hi = hexval(buf[i])) < 0 ||
		    (lo = hexval(buf[i + 1])) < 0) {
			rc = -1;
			break;
		}
		raw[k++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (rc == 0 && k != sizeof(raw))
		rc = -1;
	if (rc == 0) {
		memcpy(s->key, raw, MS_KEY_LEN);
		memcpy(s->salt, raw + MS_KEY_LEN, MS_SALT_LEN);
	} else {
		fprintf(stderr, "migsec-dpctl: stdin must hold 72 hex digits (32-byte key, "
			"4-byte salt)\n");
	}
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(raw, sizeof(raw));
	return rc;
}

static int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || *end || s[0] == '-' || s[0] == '\0' || *out > max) ? -1 : 0;
}

static int
sa_add(const char *path, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "id", 1, NULL, 'i' }, { "dir", 1, NULL, 'd' }, { "spi", 1, NULL, 'p' },
		{ "local", 1, NULL, 'l' }, { "peer", 1, NULL, 'r' }, { "sel", 1, NULL, 'S' },
		{ "sport", 1, NULL, 'a' }, { "dport", 1, NULL, 'b' }, { "window", 1, NULL, 'w' },
		{ "seq", 1, NULL, 'q' }, { "tag", 1, NULL, 't' }, { "expires", 1, NULL, 'e' },
		{ "group", 1, NULL, 'g' }, { "lane", 1, NULL, 'L' }, { "lanes", 1, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct ms_ctl_sa_add req;
	struct ms_sa_spec *s = &req.spec;
	unsigned long long v;
	char err[256];
	int c, rc;

	memset(&req, 0, sizeof(req));
	s->sport = s->dport = 4500;
	s->seq_start = 1;
	s->dir = 0xff;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case 'i': if (parse_u64(optarg, UINT32_MAX, &v)) bad = "--id"; s->id = (uint32_t)v; break;
		case 'p': if (parse_u64(optarg, UINT32_MAX, &v)) bad = "--spi"; s->spi = (uint32_t)v; break;
		case 'a': if (parse_u64(optarg, 65535, &v)) bad = "--sport"; s->sport = (uint16_t)v; break;
		case 'b': if (parse_u64(optarg, 65535, &v)) bad = "--dport"; s->dport = (uint16_t)v; break;
		case 'w': if (parse_u64(optarg, 4096, &v)) bad = "--window"; s->replay_window = (uint32_t)v; break;
		case 'q': if (parse_u64(optarg, UINT64_MAX, &v)) bad = "--seq"; s->seq_start = v; break;
		case 'e': if (parse_u64(optarg, UINT64_MAX, &v)) bad = "--expires"; s->expires = v; break;
		case 'g': if (parse_u64(optarg, UINT32_MAX, &v)) bad = "--group"; s->group = (uint32_t)v; break;
		case 'L': if (parse_u64(optarg, 65535, &v)) bad = "--lane"; s->lane = (uint16_t)v; break;
		case 'N': if (parse_u64(optarg, 65535, &v)) bad = "--lanes"; s->nb_lanes = (uint16_t)v; break;
		case 'd':
			if (strcmp(optarg, "in") == 0)
				s->dir = MS_DIR_IN;
			else if (strcmp(optarg, "out") == 0)
				s->dir = MS_DIR_OUT;
			else if (strcmp(optarg, "bypass") == 0)
				s->dir = MS_DIR_BYPASS;
			else
				bad = "--dir";
			break;
		case 'l': if (ms_ip_parse(optarg, &s->local)) bad = "--local"; break;
		case 'r': if (ms_ip_parse(optarg, &s->peer)) bad = "--peer"; break;
		case 't':
			if (strlen(optarg) >= sizeof(s->tag))
				bad = "--tag";
			else
				strcpy(s->tag, optarg);
			break;
		case 'S':
			if (s->nb_sel == MS_SA_MAX_SEL) {
				fprintf(stderr, "migsec-dpctl: at most %d --sel\n", MS_SA_MAX_SEL);
				return EXIT_USAGE;
			}
			if (ms_sel_parse(optarg, &s->sel[s->nb_sel], err, sizeof(err)) != 0) {
				fprintf(stderr, "migsec-dpctl: --sel %s: %s\n", optarg, err);
				return EXIT_USAGE;
			}
			s->inner_af = s->sel[s->nb_sel++].src.ip.af;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
		if (bad) {
			fprintf(stderr, "migsec-dpctl: invalid value for %s: '%s'\n", bad, optarg);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "migsec-dpctl: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (s->dir == 0xff) {
		fprintf(stderr, "migsec-dpctl: --dir in|out is required\n");
		return EXIT_USAGE;
	}
	if (s->dir == MS_DIR_BYPASS)
		s->spi = 0;	/* a policy rule: no SA, no key */
	else if (read_key(s) != 0)
		return EXIT_USAGE;
	rc = simple(path, MS_CTL_SA_ADD, &req, sizeof(req), NULL);
	explicit_bzero(&req, sizeof(req));
	return rc;
}

static void
print_stats(const char *js)
{
	json_t *j = json_loads(js, 0, NULL), *drops, *ports, *v;
	const char *k;
	size_t i;

	if (j == NULL) {
		printf("%s\n", js);
		return;
	}
	printf("sealed  %12lld pkts %16lld bytes\n", json_integer_value(json_object_get(j, "sealed_pkts")),
	       json_integer_value(json_object_get(j, "sealed_bytes")));
	printf("opened  %12lld pkts %16lld bytes\n", json_integer_value(json_object_get(j, "opened_pkts")),
	       json_integer_value(json_object_get(j, "opened_bytes")));
	printf("bypass  %12lld pkts %16lld bytes\n", json_integer_value(json_object_get(j, "bypass_pkts")),
	       json_integer_value(json_object_get(j, "bypass_bytes")));
	ports = json_object_get(j, "ports");
	json_object_foreach(ports, k, v)
		printf("port %-6s rx %10lld pkts  tx %10lld pkts  (port lost: rx %lld, tx %lld)\n",
		       k, json_integer_value(json_object_get(v, "rx_pkts")),
		       json_integer_value(json_object_get(v, "tx_pkts")),
		       json_integer_value(json_object_get(v, "rx_missed")) +
		       json_integer_value(json_object_get(v, "rx_errors")),
		       json_integer_value(json_object_get(v, "tx_errors")));
	json_array_foreach(json_object_get(j, "workers"), i, v) {
		double busy = (double)json_integer_value(json_object_get(v, "busy_cycles"));
		double idle = (double)json_integer_value(json_object_get(v, "idle_cycles"));
		double all = busy + idle > 0 ? busy + idle : 1;

		printf("worker %zu (lcore %lld, %s polling, lib/power %s): busy %.1f%%, idle %.1f%% "
		       "(asleep %.1f%%, %lld sleeps) since start\n", i,
		       json_integer_value(json_object_get(v, "lcore")),
		       json_string_value(json_object_get(j, "poll_mode")) ?: "-",
		       json_string_value(json_object_get(j, "power")) ?: "-",
		       100 * busy / all, 100 * idle / all,
		       100 * (double)json_integer_value(json_object_get(v, "sleep_cycles")) / all,
		       json_integer_value(json_object_get(v, "sleeps")));
	}
	v = json_object_get(j, "pools");
	printf("in use  mbufs %lld/%lld, crypto ops %lld/%lld, sessions %lld/%lld\n",
	       json_integer_value(json_object_get(json_object_get(v, "mbufs"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "mbufs"), "size")),
	       json_integer_value(json_object_get(json_object_get(v, "crypto_ops"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "crypto_ops"), "size")),
	       json_integer_value(json_object_get(json_object_get(v, "sessions"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "sessions"), "size")));
	printf("dropped %12lld pkts\n", json_integer_value(json_object_get(j, "dropped")));
	drops = json_object_get(j, "drops");
	json_object_foreach(drops, k, v)
		if (json_integer_value(v) != 0)
			printf("  %-20s %12lld\n", k, json_integer_value(v));
	json_decref(j);
}

static void
print_sas(const char *js)
{
	json_t *j = json_loads(js, 0, NULL), *sa, *v;
	size_t i;
	const char *k;

	if (!json_is_array(j)) {
		printf("%s\n", js);
		json_decref(j);
		return;
	}
	printf("%-6s %-4s %-10s %-22s %12s %16s  %s\n", "ID", "DIR", "SPI", "PEER", "PKTS", "BYTES",
	       "TAG");
	json_array_foreach(j, i, sa) {
		printf("%-6lld %-4s 0x%-8llx %-22s %12lld %16lld  %s\n",
		       json_integer_value(json_object_get(sa, "id")),
		       json_string_value(json_object_get(sa, "dir")),
		       (unsigned long long)json_integer_value(json_object_get(sa, "spi")),
		       json_string_value(json_object_get(sa, "peer")),
		       json_integer_value(json_object_get(sa, "pkts")),
		       json_integer_value(json_object_get(sa, "bytes")),
		       json_string_value(json_object_get(sa, "tag")));
		json_object_foreach(json_object_get(sa, "drops"), k, v)
			printf("       drop %-20s %lld\n", k, json_integer_value(v));
	}
	json_decref(j);
}

static void
print_crypto(const char *js)
{
	json_t *j = json_loads(js, 0, NULL), *d;
	size_t i;

	if (j == NULL) {
		printf("%s\n", js);
		return;
	}
	printf("profile %s: %s\n", json_string_value(json_object_get(j, "profile")),
	       json_string_value(json_object_get(j, "description")));
	printf("%-10s %-28s %-18s %-8s %14s %14s %10s\n", "ROLE", "DEVICE", "DRIVER", "STATE",
	       "ENQUEUED", "DEQUEUED", "ERRORS");
	json_array_foreach(json_object_get(j, "devices"), i, d)
		printf("%-10s %-28s %-18s %-8s %14lld %14lld %10lld\n",
		       json_string_value(json_object_get(d, "role")),
		       json_string_value(json_object_get(d, "device")),
		       json_string_value(json_object_get(d, "driver")),
		       json_string_value(json_object_get(d, "state")),
		       json_integer_value(json_object_get(d, "enqueued")),
		       json_integer_value(json_object_get(d, "dequeued")),
		       json_integer_value(json_object_get(d, "enqueue_errors")) +
		       json_integer_value(json_object_get(d, "dequeue_errors")));
	json_decref(j);
}

static int
show(const char *path, uint16_t op, bool json, void (*pretty)(const char *))
{
	char *out = NULL;
	int rc = simple(path, op, NULL, 0, &out);

	if (rc != EXIT_OK)
		return rc;
	if (json)
		printf("%s\n", out);
	else
		pretty(out);
	free(out);
	return EXIT_OK;
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_SOCKET;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if ((strcmp(argv[i], "-s") == 0 || strcmp(argv[i], "--socket") == 0) && i + 1 < argc) {
			path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= i;
	argv += i;
	if (strcmp(argv[0], "ping") == 0 && argc == 1)
		return simple(path, MS_CTL_PING, NULL, 0, NULL);
	if (strcmp(argv[0], "pause") == 0 && argc == 1)
		return simple(path, MS_CTL_PAUSE, NULL, 0, NULL);
	if (strcmp(argv[0], "resume") == 0 && argc == 1)
		return simple(path, MS_CTL_RESUME, NULL, 0, NULL);
	if (strcmp(argv[0], "stats") == 0 && (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json"))))
		return show(path, MS_CTL_STATS, argc == 2, print_stats);
	if (strcmp(argv[0], "crypto") == 0 && (argc == 1 || (argc == 2 && !strcmp(argv[1], "--json"))))
		return show(path, MS_CTL_CRYPTO, argc == 2, print_crypto);
	if (strcmp(argv[0], "crypto") == 0 && argc == 2 && strcmp(argv[1], "failover") == 0)
		return show(path, MS_CTL_FAILOVER, false, print_crypto);
	if (strcmp(argv[0], "sa") == 0 && argc >= 2) {
		if (strcmp(argv[1], "list") == 0 &&
		    (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json"))))
			return show(path, MS_CTL_SA_LIST, argc == 3, print_sas);
		if (strcmp(argv[1], "add") == 0)
			return sa_add(path, argc - 1, argv + 1);
		if (strcmp(argv[1], "del") == 0 && argc == 4 && strcmp(argv[2], "--id") == 0) {
			struct ms_ctl_sa_id req;
			unsigned long long v;

			if (parse_u64(argv[3], UINT32_MAX, &v) != 0 || v == 0) {
				fprintf(stderr, "migsec-dpctl: invalid --id '%s'\n", argv[3]);
				return EXIT_USAGE;
			}
			req.id = (uint32_t)v;
			return simple(path, MS_CTL_SA_DEL, &req, sizeof(req), NULL);
		}
	}
	usage(stderr);
	return EXIT_USAGE;
}
