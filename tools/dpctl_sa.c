/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-dpctl sa list|add|del: the data plane's SAs by hand, for
 * operators and tests. sa add reads the key from stdin only, and wipes
 * every copy it made.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpctl.h"
#include "ms_ctl_proto.h"
#include "ms_hex.h"

#define DIR_UNSET 0xff

/* All of stdin (up to size bytes) with read(2): stdio would keep a copy of
 * the hex key in its own buffer, which nothing here can wipe. */
static size_t
read_all(char *buf, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(STDIN_FILENO, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

/* 72 hex digits on stdin -> key || salt. Every buffer is wiped. */
static int
read_key(struct ms_sa_spec *s)
{
	char buf[256];
	uint8_t raw[MS_KEY_LEN + MS_SALT_LEN];
	size_t n = read_all(buf, sizeof(buf) - 1);
	int rc = ms_hex_decode_spaced(buf, n, raw, sizeof(raw));

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

/* A numeric option of sa add: NULL, or its name if arg is no valid value. */
static const char *
set_num(int c, const char *arg, struct ms_sa_spec *s)
{
	unsigned long long v;

	switch (c) {
	case 'i': if (parse_u64(arg, UINT32_MAX, &v)) return "--id"; s->id = (uint32_t)v; break;
	case 'p': if (parse_u64(arg, UINT32_MAX, &v)) return "--spi"; s->spi = (uint32_t)v; break;
	case 'a': if (parse_u64(arg, 65535, &v)) return "--sport"; s->sport = (uint16_t)v; break;
	case 'b': if (parse_u64(arg, 65535, &v)) return "--dport"; s->dport = (uint16_t)v; break;
	case 'w': if (parse_u64(arg, 4096, &v)) return "--window"; s->replay_window = (uint32_t)v; break;
	case 'q': if (parse_u64(arg, UINT64_MAX, &v)) return "--seq"; s->seq_start = v; break;
	case 'e': if (parse_u64(arg, UINT64_MAX, &v)) return "--expires"; s->expires = v; break;
	case 'g': if (parse_u64(arg, UINT32_MAX, &v)) return "--group"; s->group = (uint32_t)v; break;
	case 'L': if (parse_u64(arg, 65535, &v)) return "--lane"; s->lane = (uint16_t)v; break;
	case 'N': if (parse_u64(arg, 65535, &v)) return "--lanes"; s->nb_lanes = (uint16_t)v; break;
	}
	return NULL;
}

/* Any other option of sa add but --sel: NULL, or its name if arg is no valid value. */
static const char *
set_opt(int c, const char *arg, struct ms_sa_spec *s)
{
	switch (c) {
	case 'd':
		if (strcmp(arg, "in") == 0)
			s->dir = MS_DIR_IN;
		else if (strcmp(arg, "out") == 0)
			s->dir = MS_DIR_OUT;
		else if (strcmp(arg, "bypass") == 0)
			s->dir = MS_DIR_BYPASS;
		else
			return "--dir";
		return NULL;
	case 'l': return ms_ip_parse(arg, &s->local) ? "--local" : NULL;
	case 'r': return ms_ip_parse(arg, &s->peer) ? "--peer" : NULL;
	case 't':
		if (strlen(arg) >= sizeof(s->tag))
			return "--tag";
		strcpy(s->tag, arg);
		return NULL;
	}
	return set_num(c, arg, s);
}

static int
add_sel(const char *arg, struct ms_sa_spec *s)
{
	char err[256];

	if (s->nb_sel == MS_SA_MAX_SEL) {
		fprintf(stderr, "migsec-dpctl: at most %d --sel\n", MS_SA_MAX_SEL);
		return -1;
	}
	if (ms_sel_parse(arg, &s->sel[s->nb_sel], err, sizeof(err)) != 0) {
		fprintf(stderr, "migsec-dpctl: --sel %s: %s\n", arg, err);
		return -1;
	}
	s->inner_af = s->sel[s->nb_sel++].src.ip.af;
	return 0;
}

/* sa add's options into s (with its defaults). 0, or -1 with the reason printed. */
static int
parse_add(int argc, char **argv, struct ms_sa_spec *s)
{
	static const struct option opts[] = {
		{ "id", 1, NULL, 'i' }, { "dir", 1, NULL, 'd' }, { "spi", 1, NULL, 'p' },
		{ "local", 1, NULL, 'l' }, { "peer", 1, NULL, 'r' }, { "sel", 1, NULL, 'S' },
		{ "sport", 1, NULL, 'a' }, { "dport", 1, NULL, 'b' }, { "window", 1, NULL, 'w' },
		{ "seq", 1, NULL, 'q' }, { "tag", 1, NULL, 't' }, { "expires", 1, NULL, 'e' },
		{ "group", 1, NULL, 'g' }, { "lane", 1, NULL, 'L' }, { "lanes", 1, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bad;
	int c;

	s->sport = s->dport = 4500;
	s->seq_start = 1;
	s->dir = DIR_UNSET;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == '?') {
			dpctl_usage(stderr);
			return -1;
		}
		if (c == 'S') {
			if (add_sel(optarg, s) != 0)
				return -1;
			continue;
		}
		bad = set_opt(c, optarg, s);
		if (bad) {
			fprintf(stderr, "migsec-dpctl: invalid value for %s: '%s'\n", bad, optarg);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "migsec-dpctl: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int
sa_add(const char *path, int argc, char **argv)
{
	struct ms_ctl_sa_add req;
	struct ms_sa_spec *s = &req.spec;
	int rc = EXIT_USAGE;

	memset(&req, 0, sizeof(req));
	if (parse_add(argc, argv, s) != 0)
		goto out;
	if (s->dir == DIR_UNSET) {
		fprintf(stderr, "migsec-dpctl: --dir in|out is required\n");
		goto out;
	}
	if (s->dir == MS_DIR_BYPASS)
		s->spi = 0;	/* a policy rule: no SA, no key */
	else if (dpctl_lock_memory() != 0 || read_key(s) != 0)
		goto out;
	rc = dpctl_simple(path, MS_CTL_SA_ADD, &req, sizeof(req), NULL);
out:
	explicit_bzero(&req, sizeof(req));
	return rc;
}

/*
 * sa del --id N [--id N...]: one id, one SA_DEL (refused if absent); several,
 * one SA_DEL_BATCH (one table update; the reply lists the absent ones).
 */
static int
sa_del(const char *path, int argc, char **argv)
{
	const size_t head = offsetof(struct ms_ctl_sa_ids, id);
	struct ms_ctl_sa_ids req;
	unsigned long long v;

	req.n = 0;
	req.rsvd = 0;
	for (int i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--id") != 0 || i + 1 == argc) {
			fprintf(stderr, "migsec-dpctl: sa del takes --id N, one or more\n");
			return EXIT_USAGE;
		}
		if (parse_u64(argv[i + 1], UINT32_MAX, &v) != 0 || v == 0) {
			fprintf(stderr, "migsec-dpctl: invalid --id '%s'\n", argv[i + 1]);
			return EXIT_USAGE;
		}
		if (req.n == MS_CTL_DEL_BATCH_MAX) {
			fprintf(stderr, "migsec-dpctl: sa del takes at most %u ids\n",
				MS_CTL_DEL_BATCH_MAX);
			return EXIT_USAGE;
		}
		req.id[req.n++] = (uint32_t)v;
	}
	if (req.n == 0) {
		fprintf(stderr, "migsec-dpctl: sa del takes --id N, one or more\n");
		return EXIT_USAGE;
	}
	if (req.n == 1)
		return dpctl_simple(path, MS_CTL_SA_DEL, &req.id[0], sizeof(req.id[0]), NULL);
	return dpctl_simple(path, MS_CTL_SA_DEL_BATCH, &req,
			    (uint32_t)(head + req.n * sizeof(req.id[0])), NULL);
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

int
dpctl_sa(const char *path, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "list") == 0 &&
	    (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json"))))
		return dpctl_show(path, MS_CTL_SA_LIST, argc == 3, print_sas);
	if (argc >= 2 && strcmp(argv[1], "add") == 0)
		return sa_add(path, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "del") == 0)
		return sa_del(path, argc - 1, argv + 1);
	dpctl_usage(stderr);
	return EXIT_USAGE;
}
