/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl's text output of what the appliances report (status, health,
 * and the data plane's counters within them); used by its commands and by
 * top. No state.
 */
#include <string.h>

#include "mc_show.h"

const char *
mc_human_bytes(long long v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", d, unit[u]);
	return buf;
}

long long
mc_jint(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void
pkts_bytes(FILE *f, const char *what, const json_t *c, const char *pkts, const char *bytes)
{
	char b[32];

	fprintf(f, "%s %lld pkts / %s", what, mc_jint(c, pkts),
		mc_human_bytes(mc_jint(c, bytes), b, sizeof(b)));
}

static void
show_port(FILE *f, const char *name, const json_t *p)
{
	fprintf(f, "  port %s (%s, %s): ", name, json_string_value(json_object_get(p, "device")),
		json_string_value(json_object_get(p, "mac")));
	pkts_bytes(f, "rx", p, "rx_pkts", "rx_bytes");
	pkts_bytes(f, ", tx", p, "tx_pkts", "tx_bytes");
	/* What the port itself lost, before any worker saw it. */
	fprintf(f, "; rx_missed %lld, rx_kernel_drops %lld, rx_errors %lld, rx_nombuf %lld, "
		"tx_errors %lld, tx_kernel_drops %lld, rx_kernel_rollovers %lld\n",
		mc_jint(p, "rx_missed"), mc_jint(p, "rx_kernel_drops"), mc_jint(p, "rx_errors"),
		mc_jint(p, "rx_nombuf"), mc_jint(p, "tx_errors"), mc_jint(p, "tx_kernel_drops"),
		mc_jint(p, "rx_kernel_rollovers"));
}

static void
show_drops(FILE *f, const json_t *c)
{
	json_t *drops = json_object_get(c, "drops"), *v;
	const char *k;
	int n = 0;

	fprintf(f, "  dropped %lld:", mc_jint(c, "dropped"));
	json_object_foreach(drops, k, v) {
		if (json_integer_value(v) != 0) {
			fprintf(f, " %s=%lld", k, (long long)json_integer_value(v));
			n++;
		}
	}
	fprintf(f, "%s\n", n ? "" : " none");
}

void
mc_show_counters(FILE *f, const json_t *c)
{
	const json_t *ports = json_object_get(c, "ports"), *w;
	size_t i;

	fprintf(f, "  ");
	pkts_bytes(f, "sealed", c, "sealed_pkts", "sealed_bytes");
	pkts_bytes(f, ", opened", c, "opened_pkts", "opened_bytes");
	pkts_bytes(f, ", bypassed", c, "bypass_pkts", "bypass_bytes");
	fprintf(f, "\n  slow path %lld, icmp sent %lld, mss clamped %lld, SAs %lld\n",
		mc_jint(c, "slowpath_pkts"), mc_jint(c, "icmp_sent"), mc_jint(c, "mss_clamped"),
		mc_jint(c, "sa_count"));
	show_port(f, "inner", json_object_get(ports, "inner"));
	show_port(f, "outer", json_object_get(ports, "outer"));
	fprintf(f, "  polling %s (lib/power %s); TSC cycles at %lld Hz: busy_cycles %lld "
		"(io_cycles %lld), idle_cycles %lld in total\n",
		json_string_value(json_object_get(c, "poll_mode")) ?: "-",
		json_string_value(json_object_get(c, "power")) ?: "-", mc_jint(c, "tsc_hz"),
		mc_jint(c, "busy_cycles"), mc_jint(c, "io_cycles"), mc_jint(c, "idle_cycles"));
	json_array_foreach(json_object_get(c, "workers"), i, w) {
		long long busy = mc_jint(w, "busy_cycles"), idle = mc_jint(w, "idle_cycles");

		fprintf(f, "  worker %zu (lcore %lld): busy_cycles %lld (io_cycles %lld), idle_cycles "
			"%lld (sleep_cycles %lld, sleeps %lld): %.1f %% busy\n", i, mc_jint(w, "lcore"),
			busy, mc_jint(w, "io_cycles"), idle, mc_jint(w, "sleep_cycles"),
			mc_jint(w, "sleeps"),
			busy + idle ? 100.0 * (double)busy / (double)(busy + idle) : 0.0);
	}
	show_drops(f, c);
}

void
mc_show_crypto(FILE *f, const json_t *cr)
{
	const json_t *d;
	size_t i;

	fprintf(f, "  crypto profile %s (%s):\n", json_string_value(json_object_get(cr, "profile")),
		json_string_value(json_object_get(cr, "mode")));
	json_array_foreach(json_object_get(cr, "devices"), i, d)
		fprintf(f, "    %s %s (%s, %s): enqueued %lld, dequeued %lld, enqueue_errors %lld, "
			"dequeue_errors %lld\n", json_string_value(json_object_get(d, "role")),
			json_string_value(json_object_get(d, "device")),
			json_string_value(json_object_get(d, "driver")),
			json_string_value(json_object_get(d, "state")), mc_jint(d, "enqueued"),
			mc_jint(d, "dequeued"), mc_jint(d, "enqueue_errors"),
			mc_jint(d, "dequeue_errors"));
}

/* One migration of a status reply: two lines. */
static void
show_mig(FILE *f, const json_t *m)
{
	char ob[32], ib[32], drops[256] = "none";
	const char *k;
	json_t *v;
	size_t n = 0;

	json_object_foreach(json_object_get(m, "drops"), k, v)
		if (json_integer_value(v) && n < sizeof(drops) - 40)
			n += (size_t)snprintf(drops + n, sizeof(drops) - n, "%s%s=%lld",
					      n ? "," : "", k, json_integer_value(v));
	fprintf(f, "  %-16s vm %-16s %-11s %-13s gen %-3lld spi out 0x%08llx in 0x%08llx\n",
		json_string_value(json_object_get(m, "migration")),
		json_string_value(json_object_get(m, "vm")),
		json_string_value(json_object_get(m, "role")),
		json_string_value(json_object_get(m, "policy")),
		json_integer_value(json_object_get(m, "generation")),
		(unsigned long long)json_integer_value(json_object_get(m, "spi_out")),
		(unsigned long long)json_integer_value(json_object_get(m, "spi_in")));
	fprintf(f, "  %-16s out %s / %lld pkts, in %s / %lld pkts, drops %s, age %llds, "
		"expires in %llds, keys %s\n", "",
		mc_human_bytes(json_integer_value(json_object_get(m, "out_bytes")), ob, sizeof(ob)),
		json_integer_value(json_object_get(m, "out_pkts")),
		mc_human_bytes(json_integer_value(json_object_get(m, "in_bytes")), ib, sizeof(ib)),
		json_integer_value(json_object_get(m, "in_pkts")), drops,
		json_integer_value(json_object_get(m, "age_s")),
		json_integer_value(json_object_get(m, "expires_in_s")),
		json_string_value(json_object_get(m, "keys")));
}

void
mc_show_status(FILE *f, json_t *reply, const char *name)
{
	json_t *migs = json_object_get(reply, "migrations"), *m;
	size_t i;

	fprintf(f, "appliance %s: data plane %s, %zu migration(s)\n", name,
		json_string_value(json_object_get(reply, "dataplane")), json_array_size(migs));
	if (json_object_get(reply, "counters") != NULL)
		mc_show_counters(f, json_object_get(reply, "counters"));
	if (json_object_get(reply, "crypto") != NULL)
		mc_show_crypto(f, json_object_get(reply, "crypto"));
	json_array_foreach(migs, i, m)
		show_mig(f, m);
}

static double
pct(json_int_t part, json_int_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

void
mc_show_health(FILE *f, json_t *reply, const char *name)
{
	json_t *w;
	size_t i;

	fprintf(f, "appliance %s: data plane %s, %lld migration(s), %lld worker(s), crypto %s, "
		"polling %s (lib/power %s)\n", name, json_string_value(json_object_get(reply, "dataplane")),
		json_integer_value(json_object_get(reply, "migrations")),
		json_integer_value(json_object_get(reply, "workers")),
		json_string_value(json_object_get(reply, "crypto_driver")) ?: "-",
		json_string_value(json_object_get(reply, "poll_mode")) ?: "-",
		json_string_value(json_object_get(reply, "power")) ?: "-");
	/* Shares of each worker's time since the data plane started. */
	json_array_foreach(json_object_get(reply, "worker_load"), i, w) {
		json_int_t busy = json_integer_value(json_object_get(w, "busy_cycles"));
		json_int_t idle = json_integer_value(json_object_get(w, "idle_cycles"));
		json_int_t asleep = json_integer_value(json_object_get(w, "sleep_cycles"));

		fprintf(f, "  worker %zu (lcore %lld): busy %.1f%%, idle %.1f%% (asleep %.1f%%, "
			"%lld sleeps) since start\n", i, json_integer_value(json_object_get(w, "lcore")),
			pct(busy, busy + idle), pct(idle, busy + idle), pct(asleep, busy + idle),
			json_integer_value(json_object_get(w, "sleeps")));
	}
}
