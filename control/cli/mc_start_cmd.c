/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl start, the command: its options, one migration from --id, --vm
 * and --sel (mc_start.c starts it) and its output, or --batch FILE
 * (mc_batch.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_start.h"

static void
print_started(const struct mc_cli *c, const struct mc_start_opts *a, json_t **r)
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
		       i ? a->dst.name : a->src.name, a->one.id, a->one.vm,
		       json_is_true(json_object_get(r[i], "sealed")) ? "sealed" : "NOT sealed (plaintext)",
		       json_string_value(json_object_get(r[i], "role")),
		       json_integer_value(json_object_get(r[i], "generation")),
		       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_out")),
		       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_in")));
}

static int
do_start(const struct mc_cli *c, struct mc_start_opts *a)
{
	struct mc_start_run run;
	json_t *r[2] = { NULL, NULL };
	int rc;

	mc_start_run_init(&run, c, a, false);
	rc = mc_start_prepare(&run);
	if (rc == MC_EXIT_OK)
		rc = mc_start_one(&run, &a->one, r);
	mc_start_run_close(&run);
	if (rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED)
		print_started(c, a, r);
	json_decref(r[0]);
	json_decref(r[1]);
	return rc;
}

/* For a clear message here: the appliances check every field again. */
static int
start_args_check(const struct mc_start_opts *a, bool complete)
{
	const struct mc_mig_spec *m = &a->one;

	if (complete && a->batch && (m->id || m->vm || m->nb_sel || a->key_stdin)) {
		fprintf(stderr, "migsecctl: with --batch, each line of the file gives ID, VM and "
			"selectors, and every migration gets its own key: no --id, --vm, --sel or "
			"--key-stdin\n");
		return -1;
	}
	if (!complete || (!a->batch && (!m->id || !m->vm || m->nb_sel == 0)) || !a->have_src ||
	    !a->have_dst || !a->src_outer || !a->dst_outer) {
		fprintf(stderr, "migsecctl: start needs --id, --vm and --sel (or --batch FILE), "
			"--source, --destination, --source-outer and --destination-outer "
			"(APPLIANCE as [NAME=]HOST:PORT)\n");
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
parse_start(int argc, char **argv, struct mc_start_opts *a)
{
	static const struct option opts[] = {
		{ "id", 1, NULL, 'i' }, { "vm", 1, NULL, 'v' }, { "policy", 1, NULL, 'p' },
		{ "source", 1, NULL, 's' }, { "destination", 1, NULL, 'd' },
		{ "source-outer", 1, NULL, 'S' }, { "destination-outer", 1, NULL, 'D' },
		{ "sel", 1, NULL, 'e' }, { "lifetime", 1, NULL, 'l' }, { "max-bytes", 1, NULL, 'm' },
		{ "rekey-seconds", 1, NULL, 'r' }, { "rekey-bytes", 1, NULL, 'R' },
		{ "replay-window", 1, NULL, 'w' }, { "key-stdin", 0, NULL, 'k' },
		{ "lanes", 1, NULL, 'n' }, { "batch", 1, NULL, 'b' }, { NULL, 0, NULL, 0 },
	};
	struct mc_mig_spec *m = &a->one;
	int o;

	memset(a, 0, sizeof(*a));
	a->policy = "required";
	a->lifetime = 3600;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i': m->id = optarg; break;
		case 'v': m->vm = optarg; break;
		case 'p': a->policy = optarg; break;
		case 's': a->have_src = mc_peer_parse(optarg, &a->src) == 0; break;
		case 'd': a->have_dst = mc_peer_parse(optarg, &a->dst) == 0; break;
		case 'S': a->src_outer = optarg; break;
		case 'D': a->dst_outer = optarg; break;
		case 'e':
			if (m->nb_sel == MC_SEL_MAX) {
				fprintf(stderr, "migsecctl: at most %d --sel\n", MC_SEL_MAX);
				return -1;
			}
			m->sel[m->nb_sel++] = optarg;
			break;
		case 'l': a->lifetime = strtoll(optarg, NULL, 10); break;
		case 'm': a->max_bytes = strtoll(optarg, NULL, 10); break;
		case 'r': a->rekey_s = strtoll(optarg, NULL, 10); break;
		case 'R': a->rekey_bytes = strtoll(optarg, NULL, 10); break;
		case 'w': a->window = strtoll(optarg, NULL, 10); break;
		case 'n': a->lanes = strtoll(optarg, NULL, 10); break;
		case 'k': a->key_stdin = true; break;
		case 'b': a->batch = optarg; break;
		default: return -1;
		}
	}
	return start_args_check(a, optind == argc);
}

int
mc_cli_start(const struct mc_cli *c, int argc, char **argv)
{
	struct mc_start_opts a;

	if (parse_start(argc, argv, &a))
		return MC_EXIT_USAGE;
	return a.batch ? mc_batch_main(c, &a) : do_start(c, &a);
}
