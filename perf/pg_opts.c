/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "pg_opts.h"

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: migsec-pktgen [options]\n"
"\n"
"Generator, sink and impairer of migration-like traffic (one DPDK process,\n"
"one polling core). Ports are numbered in the order of --port.\n"
"\n"
"Process:\n"
"  --port VDEV          a port, e.g. net_memif0,role=client,socket=/tmp/x.sock,socket-abstract=no\n"
"  --queues N           queues per port (default 1; flow f uses queue f %% N)\n"
"  --cpu N              CPU to poll on (default 0)\n"
"  --file-prefix P      EAL file prefix (default pf-pktgen-PID)\n"
"  --mem MB             memory (default 384); hugepages if enough are free, else --no-huge\n"
"  --huge auto|yes|no   hugepage use (default auto)\n"
"  --mbufs N            packet buffers (default 8192, 10 KiB each)\n"
"  --addr N=IP[,IP]     port N answers ARP for these IPv4 addresses\n"
"  --run S              stop after S seconds (default: when the generator is done)\n"
"  --idle-exit S        stop once the sink got traffic and then nothing for S seconds\n"
"  --drain-ms N         after the generator is done, keep receiving N ms (default 300)\n"
"  --linger             print \"ready\" once every port is up; after the final report,\n"
"                       keep the ports open (connected, not polled) until stdin\n"
"                       ends, so that the peer can stop polling first\n"
"  --interval S         live report period (default 1)\n"
"  --quiet              no live lines\n"
"  --json               final summary as one JSON line\n"
"  --csv FILE           live and final figures as CSV\n"
"\n"
"gen (pages of many flows):\n"
"  --gen N              generate on port N\n"
"  --size B             IPv4 packet length, %d..%d (default 4156: a 4 KiB page)\n"
"  --page B             page bytes per packet instead (size = page + %d)\n"
"  --flows N            flows, 1..%d (default 1)\n"
"  --pages N            pages per flow before page numbers wrap (default 65536)\n"
"  --rate-pps X | --rate-gbps X   rate (default flat out); Gbit/s of IPv4 bytes\n"
"  --count N            stop after N packets\n"
"  --duration S         stop after S seconds\n"
"  --src IP --dst IP    inner addresses (default 192.0.2.1 -> 192.0.2.2)\n"
"  --next-hop IP        resolved by ARP (default --dst); or --dmac MAC\n"
"  --dport-base N       flow f goes to UDP port N + f (default 10000)\n"
"\n"
"sink (checks every page):\n"
"  --sink N             check what arrives on port N\n"
"  --sink-flows N       flows to track (default 4096)\n"
"\n"
"impair (a wire between two ports; rates are fractions 0..1):\n"
"  --impair A,B         forward between ports A and B\n"
"  --drop F --corrupt F --duplicate F --reorder F --replay F\n"
"  --reorder-gap N      packets a reordered one is held back (default 3)\n"
"  --replay-gap N       packets before a replayed copy is sent (default 100)\n"
"  --delay-us N         delay every packet\n"
"  --seed N             random seed (default 1)\n"
"\n"
"mirror (for the benchmark: one appliance opens what it sealed):\n"
"  --mirror N           send what arrives on port N back with addresses swapped\n",
		PG_SIZE_MIN, PG_SIZE_MAX, PG_SIZE_MIN, PG_FLOWS_MAX);
}

static int
bad(const char *opt, const char *val)
{
	fprintf(stderr, "migsec-pktgen: %s: invalid value '%s'\n", opt, val);
	return -EINVAL;
}

static int
num(const char *opt, const char *v, double lo, double hi, double *out)
{
	char *end;
	double d = strtod(v, &end);

	if (*v == '\0' || *end != '\0' || d < lo || d > hi)
		return bad(opt, v);
	*out = d;
	return 0;
}

static int
ip4(const char *opt, const char *v, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1)
		return bad(opt, v);
	*out = a.s_addr;
	return 0;
}

static int
addrs(struct pg *pg, const char *v)
{
	char buf[256], *save = NULL, *tok, *eq;
	unsigned long p;

	snprintf(buf, sizeof(buf), "%s", v);
	eq = strchr(buf, '=');
	if (eq == NULL)
		return bad("--addr", v);
	*eq = '\0';
	p = strtoul(buf, NULL, 10);
	if (p >= PG_PORTS_MAX)
		return bad("--addr", v);
	for (tok = strtok_r(eq + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct pg_port *pt = &pg->port[p];

		if (pt->nb_addr == PG_ADDRS_MAX || ip4("--addr", tok, &pt->addr[pt->nb_addr]))
			return bad("--addr", v);
		pt->nb_addr++;
	}
	return 0;
}

static int
rate(const char *opt, const char *v, uint32_t *per_million)
{
	double d;

	if (num(opt, v, 0, 1, &d))
		return -EINVAL;
	*per_million = (uint32_t)(d * 1e6 + 0.5);
	return 0;
}

/* Each role's options stay together: one() picks their parser by range. */
enum {
	O_PORT = 256, O_QUEUES, O_CPU, O_PREFIX, O_MEM, O_HUGE, O_MBUFS, O_ADDR, O_RUN, O_IDLE,
	O_DRAIN, O_INTERVAL, O_QUIET, O_JSON, O_CSV, O_GEN, O_SIZE, O_PAGE, O_FLOWS, O_PAGES,
	O_PPS, O_GBPS, O_COUNT, O_DURATION, O_SRC, O_DST, O_NH, O_DMAC, O_DPORT, O_SINK,
	O_SINKFLOWS, O_IMPAIR, O_DROP, O_CORRUPT, O_DUP, O_REORDER, O_REPLAY, O_RGAP, O_PGAP,
	O_DELAY, O_SEED, O_MIRROR, O_LOG, O_LINGER, O_HELP,
};

static const struct option opts[] = {
	{ "port", 1, NULL, O_PORT }, { "queues", 1, NULL, O_QUEUES }, { "cpu", 1, NULL, O_CPU },
	{ "file-prefix", 1, NULL, O_PREFIX }, { "mem", 1, NULL, O_MEM }, { "huge", 1, NULL, O_HUGE },
	{ "mbufs", 1, NULL, O_MBUFS }, { "addr", 1, NULL, O_ADDR }, { "run", 1, NULL, O_RUN },
	{ "idle-exit", 1, NULL, O_IDLE }, { "drain-ms", 1, NULL, O_DRAIN },
	{ "interval", 1, NULL, O_INTERVAL }, { "quiet", 0, NULL, O_QUIET },
	{ "json", 0, NULL, O_JSON }, { "csv", 1, NULL, O_CSV }, { "gen", 1, NULL, O_GEN },
	{ "size", 1, NULL, O_SIZE }, { "page", 1, NULL, O_PAGE }, { "flows", 1, NULL, O_FLOWS },
	{ "pages", 1, NULL, O_PAGES }, { "rate-pps", 1, NULL, O_PPS },
	{ "rate-gbps", 1, NULL, O_GBPS }, { "count", 1, NULL, O_COUNT },
	{ "duration", 1, NULL, O_DURATION }, { "src", 1, NULL, O_SRC }, { "dst", 1, NULL, O_DST },
	{ "next-hop", 1, NULL, O_NH }, { "dmac", 1, NULL, O_DMAC },
	{ "dport-base", 1, NULL, O_DPORT }, { "sink", 1, NULL, O_SINK },
	{ "sink-flows", 1, NULL, O_SINKFLOWS }, { "impair", 1, NULL, O_IMPAIR },
	{ "drop", 1, NULL, O_DROP }, { "corrupt", 1, NULL, O_CORRUPT },
	{ "duplicate", 1, NULL, O_DUP }, { "reorder", 1, NULL, O_REORDER },
	{ "replay", 1, NULL, O_REPLAY }, { "reorder-gap", 1, NULL, O_RGAP },
	{ "replay-gap", 1, NULL, O_PGAP }, { "delay-us", 1, NULL, O_DELAY },
	{ "seed", 1, NULL, O_SEED }, { "mirror", 1, NULL, O_MIRROR },
	{ "log-level", 1, NULL, O_LOG }, { "linger", 0, NULL, O_LINGER },
	{ "help", 0, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
defaults(struct pg_opts *o, struct pg *pg)
{
	memset(o, 0, sizeof(*o));
	o->mem_mb = 384;
	o->huge = -1;
	o->queues = 1;
	o->mbufs = 8192;
	o->interval_s = 1;
	o->arp_timeout_s = 20;
	snprintf(o->prefix, sizeof(o->prefix), "pf-pktgen-%d", (int)getpid());
	snprintf(o->log_level, sizeof(o->log_level), "notice");
	pg->gen.port = pg->sink_port = pg->mirror_port = -1;
	pg->imp.a = pg->imp.b = -1;
	pg->gen.size = 4096 + PG_SIZE_MIN;
	pg->gen.flows = 1;
	pg->gen.pages = 65536;
	pg->gen.dport_base = 10000;
	pg->gen.src = htonl(0xc0000201);	/* 192.0.2.1 */
	pg->gen.dst = htonl(0xc0000202);	/* 192.0.2.2 */
	pg->sink_flows = 4096;
	pg->gen_done_drain_ms = 300;
	pg->imp.reorder_gap = 3;
	pg->imp.replay_gap = 100;
	pg->imp.seed = 1;
}

static int
port_arg(const char *opt, const char *v, int *out)
{
	double d;

	if (num(opt, v, 0, PG_PORTS_MAX - 1, &d))
		return -EINVAL;
	*out = (int)d;
	return 0;
}

static const char *
name_of(int c)
{
	for (unsigned int i = 0; opts[i].name != NULL; i++)
		if (opts[i].val == c)
			return opts[i].name;
	return "?";
}

/* The process's options: ports, EAL, how long to run, reports. */
static int
opt_process(int c, const char *name, const char *v, struct pg_opts *o, struct pg *pg)
{
	double d = 0;
	int rc = 0;

	switch (c) {
	case O_PORT:
		if (o->nb_ports == PG_PORTS_MAX || strlen(v) >= sizeof(o->port[0]))
			return bad(name, v);
		snprintf(o->port[o->nb_ports++], sizeof(o->port[0]), "%s", v);
		break;
	case O_QUEUES: rc = num(name, v, 1, PG_QUEUES_MAX, &d); o->queues = (unsigned int)d; break;
	case O_CPU: rc = num(name, v, 0, 1023, &d); o->cpu = (unsigned int)d; break;
	case O_PREFIX: snprintf(o->prefix, sizeof(o->prefix), "%s", v); break;
	case O_MEM: rc = num(name, v, 64, 65536, &d); o->mem_mb = (unsigned int)d; break;
	case O_HUGE:
		o->huge = !strcmp(v, "yes") ? 1 : !strcmp(v, "no") ? 0 : -1;
		rc = strcmp(v, "auto") && o->huge == -1 ? bad(name, v) : 0;
		break;
	case O_MBUFS: rc = num(name, v, 1024, 1 << 20, &d); o->mbufs = (unsigned int)d; break;
	case O_ADDR: rc = addrs(pg, v); break;
	case O_RUN: rc = num(name, v, 0, 86400, &o->run_s); break;
	case O_IDLE: rc = num(name, v, 0, 86400, &o->idle_exit_s); break;
	case O_DRAIN: rc = num(name, v, 0, 60000, &d); pg->gen_done_drain_ms = (uint32_t)d; break;
	case O_INTERVAL: rc = num(name, v, 0.1, 3600, &o->interval_s); break;
	case O_QUIET: o->quiet = true; break;
	case O_LINGER: o->linger = true; break;
	case O_JSON: o->json = true; break;
	case O_CSV: snprintf(o->csv, sizeof(o->csv), "%s", v); break;
	case O_LOG: snprintf(o->log_level, sizeof(o->log_level), "%s", v); break;
	case O_HELP: usage(stdout); exit(0);
	default: usage(stderr); return -EINVAL;
	}
	return rc;
}

/* The generator's options (--gen .. --dport-base). */
static int
opt_gen(int c, const char *name, const char *v, struct pg_gen_conf *g)
{
	double d = 0;
	int rc = 0;

	switch (c) {
	case O_GEN: rc = port_arg(name, v, &g->port); break;
	case O_SIZE: rc = num(name, v, PG_SIZE_MIN, PG_SIZE_MAX, &d); g->size = (uint32_t)d; break;
	case O_PAGE:
		rc = num(name, v, 0, PG_SIZE_MAX - PG_SIZE_MIN, &d);
		g->size = (uint32_t)d + PG_SIZE_MIN;
		break;
	case O_FLOWS: rc = num(name, v, 1, PG_FLOWS_MAX, &d); g->flows = (uint32_t)d; break;
	case O_PAGES: rc = num(name, v, 1, 1e15, &d); g->pages = (uint64_t)d; break;
	case O_PPS: rc = num(name, v, 0, 1e9, &g->pps); break;
	case O_GBPS: rc = num(name, v, 0, 1e4, &d); g->pps = -d; break;	/* resolved later */
	case O_COUNT: rc = num(name, v, 0, 1e15, &d); g->count = (uint64_t)d; break;
	case O_DURATION: rc = num(name, v, 0, 86400, &g->duration); break;
	case O_SRC: rc = ip4(name, v, &g->src); break;
	case O_DST: rc = ip4(name, v, &g->dst); break;
	case O_NH: rc = ip4(name, v, &g->nexthop); break;
	case O_DMAC:
		rc = rte_ether_unformat_addr(v, &g->dmac) ? bad(name, v) : 0;
		g->have_dmac = true;
		break;
	case O_DPORT: rc = num(name, v, 1, 65535 - 40000, &d); g->dport_base = (uint16_t)d; break;
	}
	return rc;
}

/* The other roles' options: sink, impairer, mirror (--sink .. --mirror). */
static int
opt_roles(int c, const char *name, const char *v, struct pg *pg)
{
	struct pg_impair_conf *imp = &pg->imp;
	double d = 0;
	int rc = 0;

	switch (c) {
	case O_SINK: rc = port_arg(name, v, &pg->sink_port); break;
	case O_SINKFLOWS: rc = num(name, v, 1, PG_FLOWS_MAX, &d); pg->sink_flows = (uint32_t)d; break;
	case O_IMPAIR:
		if (sscanf(v, "%d,%d", &imp->a, &imp->b) != 2 || imp->a < 0 || imp->b < 0 ||
		    imp->a >= PG_PORTS_MAX || imp->b >= PG_PORTS_MAX || imp->a == imp->b)
			return bad(name, v);
		break;
	case O_DROP: rc = rate(name, v, &imp->drop); break;
	case O_CORRUPT: rc = rate(name, v, &imp->corrupt); break;
	case O_DUP: rc = rate(name, v, &imp->dup); break;
	case O_REORDER: rc = rate(name, v, &imp->reorder); break;
	case O_REPLAY: rc = rate(name, v, &imp->replay); break;
	case O_RGAP: rc = num(name, v, 1, 100000, &d); imp->reorder_gap = (uint32_t)d; break;
	case O_PGAP: rc = num(name, v, 1, 1e9, &d); imp->replay_gap = (uint32_t)d; break;
	case O_DELAY: rc = num(name, v, 0, 1e6, &d); imp->delay_us = (uint32_t)d; break;
	case O_SEED: rc = num(name, v, 0, 1.8e19, &d); imp->seed = (uint64_t)d; break;
	case O_MIRROR: rc = port_arg(name, v, &pg->mirror_port); break;
	}
	return rc;
}

/* One option; the enum keeps each role's options together. */
static int
one(int c, const char *v, struct pg_opts *o, struct pg *pg)
{
	const char *name = name_of(c);

	if (c >= O_GEN && c <= O_DPORT)
		return opt_gen(c, name, v, &pg->gen);
	if (c >= O_SINK && c <= O_MIRROR)
		return opt_roles(c, name, v, pg);
	return opt_process(c, name, v, o, pg);
}

static int
check(struct pg_opts *o, struct pg *pg)
{
	int roles[] = { pg->gen.port, pg->sink_port, pg->mirror_port, pg->imp.a, pg->imp.b };

	if (o->nb_ports == 0) {
		fprintf(stderr, "migsec-pktgen: at least one --port is needed\n");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < RTE_DIM(roles); i++)
		if (roles[i] >= (int)o->nb_ports) {
			fprintf(stderr, "migsec-pktgen: a role names port %d; only %u given\n",
				roles[i], o->nb_ports);
			return -EINVAL;
		}
	if (pg->gen.port < 0 && pg->sink_port < 0 && pg->mirror_port < 0 && pg->imp.a < 0) {
		fprintf(stderr, "migsec-pktgen: give a role: --gen, --sink, --impair or --mirror\n");
		return -EINVAL;
	}
	if ((pg->imp.a >= 0 && (pg->imp.a == pg->gen.port || pg->imp.a == pg->sink_port ||
				pg->imp.a == pg->mirror_port)) ||
	    (pg->imp.b >= 0 && (pg->imp.b == pg->gen.port || pg->imp.b == pg->sink_port ||
				pg->imp.b == pg->mirror_port)) ||
	    (pg->mirror_port >= 0 && (pg->mirror_port == pg->gen.port ||
				      pg->mirror_port == pg->sink_port))) {
		fprintf(stderr, "migsec-pktgen: the impairer's and the mirror's ports are theirs alone\n");
		return -EINVAL;
	}
	if (pg->gen.pps < 0)	/* --rate-gbps */
		pg->gen.pps = -pg->gen.pps * 1e9 / (8.0 * pg->gen.size);
	if (pg->gen.nexthop == 0)
		pg->gen.nexthop = pg->gen.dst;
	/* The generator's port answers for its source, the sink's for the destination. */
	if (pg->gen.port >= 0 && pg->port[pg->gen.port].nb_addr == 0)
		pg->port[pg->gen.port].addr[pg->port[pg->gen.port].nb_addr++] = pg->gen.src;
	if (pg->sink_port >= 0 && pg->port[pg->sink_port].nb_addr < PG_ADDRS_MAX &&
	    pg->sink_port != pg->gen.port && pg->port[pg->sink_port].nb_addr == 0)
		pg->port[pg->sink_port].addr[pg->port[pg->sink_port].nb_addr++] = pg->gen.dst;
	return 0;
}

int
pg_opts_parse(int argc, char **argv, struct pg_opts *o, struct pg *pg)
{
	int c;

	defaults(o, pg);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h')
			c = O_HELP;
		if (c < O_PORT || c > O_HELP) {
			usage(stderr);
			return -EINVAL;
		}
		if (one(c, optarg, o, pg) != 0)
			return -EINVAL;
	}
	if (optind != argc) {
		fprintf(stderr, "migsec-pktgen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return check(o, pg);
}
