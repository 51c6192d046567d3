/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-dpctl: the data plane's stats and crypto replies (JSON) as text
 * for operators; --json prints them as they came. Not JSON: printed as is.
 */
#include <jansson.h>
#include <stdio.h>

#include "dpctl.h"

/* Shares of each worker's time since the data plane started. */
static void
print_workers(json_t *j)
{
	json_t *v;
	size_t i;

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
}

/* The data plane's mbufs, crypto ops and sessions: in use of all. */
static void
print_pools(json_t *v)
{
	printf("in use  mbufs %lld/%lld, crypto ops %lld/%lld, sessions %lld/%lld\n",
	       json_integer_value(json_object_get(json_object_get(v, "mbufs"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "mbufs"), "size")),
	       json_integer_value(json_object_get(json_object_get(v, "crypto_ops"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "crypto_ops"), "size")),
	       json_integer_value(json_object_get(json_object_get(v, "sessions"), "in_use")),
	       json_integer_value(json_object_get(json_object_get(v, "sessions"), "size")));
}

void
dpctl_print_stats(const char *js)
{
	json_t *j = json_loads(js, 0, NULL), *drops, *ports, *v;
	const char *k;

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
		       json_integer_value(json_object_get(v, "rx_errors")) +
		       json_integer_value(json_object_get(v, "rx_kernel_drops")),
		       json_integer_value(json_object_get(v, "tx_errors")) +
		       json_integer_value(json_object_get(v, "tx_kernel_drops")));
	print_workers(j);
	print_pools(json_object_get(j, "pools"));
	printf("dropped %12lld pkts\n", json_integer_value(json_object_get(j, "dropped")));
	drops = json_object_get(j, "drops");
	json_object_foreach(drops, k, v)
		if (json_integer_value(v) != 0)
			printf("  %-20s %12lld\n", k, json_integer_value(v));
	json_decref(j);
}

void
dpctl_print_crypto(const char *js)
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
