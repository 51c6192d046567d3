/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl top. One status request per appliance and interval (the
 * management protocol's, over mutual TLS like every other command); rates
 * are the difference of two replies over the time between them, so nothing
 * is kept on the appliances for it. Runs on migsecctl's one thread; the
 * signal handler only sets stop.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mc_cli.h"
#include "mc_client.h"
#include "mc_msg.h"
#include "mc_show.h"
#include "mc_top.h"

struct sample {
	json_t *reply[MC_APPL_MAX];	/* an ok status reply, or NULL */
	char err[MC_APPL_MAX][256];	/* why not */
	double t[MC_APPL_MAX];		/* CLOCK_MONOTONIC when it came */
};

struct top {
	SSL_CTX *ctx;
	int timeout_ms;
	bool json, tty;
	struct mc_peer app[MC_APPL_MAX];
	struct mc_conn conn[MC_APPL_MAX];	/* one per appliance, kept (read-only) */
	int n;
	double interval;
	long count;			/* frames; 0: until interrupted */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
parse(struct top *t, int argc, char **argv)
{
	char *end;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
			t->interval = strtod(argv[++i], &end);
			if (*end != '\0' || !(t->interval >= 0.1 && t->interval <= 3600)) {
				fprintf(stderr, "migsecctl: --interval must be 0.1..3600 seconds\n");
				return -1;
			}
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			t->count = strtol(argv[++i], &end, 10);
			if (*end != '\0' || t->count < 1 || t->count > 1000000000) {
				fprintf(stderr, "migsecctl: --count must be 1..1000000000\n");
				return -1;
			}
		} else if (mc_cli_peer_add(argv[i], t->app, &t->n) != 0) {
			return -1;
		}
	}
	if (t->n == 0) {
		fprintf(stderr, "migsecctl: top needs at least one APPLIANCE\n");
		return -1;
	}
	return 0;
}

static void
sample_take(struct top *t, struct sample *s)
{
	char req[64];

	snprintf(req, sizeof(req), "{\"v\":%d,\"op\":\"status\"}", MC_PROTO_VERSION);
	for (int i = 0; i < t->n && !stop; i++) {
		json_t *r = NULL;

		s->reply[i] = NULL;
		if (mc_conn_call(&t->conn[i], req, &r, s->err[i], sizeof(s->err[i])) == 0 &&
		    !json_is_true(json_object_get(r, "ok"))) {
			snprintf(s->err[i], sizeof(s->err[i]), "refused: %s",
				 json_string_value(json_object_get(json_object_get(r, "error"),
								   "message")) ?: "(no message)");
		} else if (r != NULL) {
			s->reply[i] = json_incref(r);
		}
		json_decref(r);
		s->t[i] = now_mono();
	}
}

static void
sample_free(struct sample *s, int n)
{
	for (int i = 0; i < n; i++) {
		json_decref(s->reply[i]);
		s->reply[i] = NULL;
	}
}

static json_t *
jrate(double v)
{
	char b[32];

	if (isnan(v))
		return json_null();
	snprintf(b, sizeof(b), "%.3f", v);	/* three decimals are plenty for a rate */
	return json_real(strtod(b, NULL));
}

static void
fmt_rate(char *buf, size_t len, double v, int decimals)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", decimals, v);
}

static void
text_mig(const json_t *m, const struct mc_rates *r)
{
	char om[24], op[24], im[24], ip[24], dr[24], ob[32], ib[32];

	fmt_rate(om, sizeof(om), r->out_mbps, 1);
	fmt_rate(op, sizeof(op), r->out_pps, 0);
	fmt_rate(im, sizeof(im), r->in_mbps, 1);
	fmt_rate(ip, sizeof(ip), r->in_pps, 0);
	fmt_rate(dr, sizeof(dr), r->drops, 0);
	printf("  %-16s %-14s %-11s %3lld %10s %10s %10s %10s %8s %10s %10s %7llds\n",
	       json_string_value(json_object_get(m, "migration")),
	       json_string_value(json_object_get(m, "vm")),
	       json_string_value(json_object_get(m, "role")), mc_jint(m, "generation"), om, op,
	       im, ip, dr, mc_human_bytes(mc_jint(m, "out_bytes"), ob, sizeof(ob)),
	       mc_human_bytes(mc_jint(m, "in_bytes"), ib, sizeof(ib)), mc_jint(m, "expires_in_s"));
}

static void
text_appliance(const struct top *t, int i, const struct sample *cur, const struct sample *prev)
{
	const json_t *rep = cur->reply[i], *prep = prev->reply[i], *m;
	double dt = cur->t[i] - prev->t[i];
	struct mc_rates a = mc_top_appliance_rates(json_object_get(rep, "counters"),
					 json_object_get(prep, "counters"), dt);
	char s[24], o[24], d[24];
	size_t k;

	if (rep == NULL) {
		printf("%s: %s\n\n", t->app[i].name, cur->err[i]);
		return;
	}
	fmt_rate(s, sizeof(s), a.out_mbps, 1);
	fmt_rate(o, sizeof(o), a.in_mbps, 1);
	fmt_rate(d, sizeof(d), a.drops, 0);
	printf("%s: data plane %s, %zu migration(s); sealed %s Mbit/s, opened %s Mbit/s, "
	       "dropped %s/s\n", t->app[i].name, json_string_value(json_object_get(rep, "dataplane")),
	       json_array_size(json_object_get(rep, "migrations")), s, o, d);
	printf("  %-16s %-14s %-11s %3s %10s %10s %10s %10s %8s %10s %10s %8s\n", "MIGRATION", "VM",
	       "ROLE", "GEN", "OUT Mbit/s", "OUT pkt/s", "IN Mbit/s", "IN pkt/s", "DROPS/s",
	       "OUT TOTAL", "IN TOTAL", "EXPIRES");
	json_array_foreach(json_object_get(rep, "migrations"), k, m) {
		struct mc_rates r = mc_top_mig_rates(m, prep, dt);

		text_mig(m, &r);
	}
	printf("\n");
}

static json_t *
rates_json(json_t *o, const struct mc_rates *r)
{
	json_object_set_new(o, "out_mbps", jrate(r->out_mbps));
	json_object_set_new(o, "out_pps", jrate(r->out_pps));
	json_object_set_new(o, "in_mbps", jrate(r->in_mbps));
	json_object_set_new(o, "in_pps", jrate(r->in_pps));
	json_object_set_new(o, "drops_per_s", jrate(r->drops));
	return o;
}

static json_t *
json_appliance(int i, const struct sample *cur, const struct sample *prev)
{
	const json_t *rep = cur->reply[i], *prep = prev->reply[i], *m;
	double dt = cur->t[i] - prev->t[i];
	struct mc_rates a;
	json_t *o, *migs = json_array();
	size_t k;

	if (rep == NULL) {
		json_decref(migs);
		return json_pack("{s:s}", "error", cur->err[i]);
	}
	a = mc_top_appliance_rates(json_object_get(rep, "counters"), json_object_get(prep, "counters"), dt);
	o = rates_json(json_pack("{s:O}", "dataplane", json_object_get(rep, "dataplane")), &a);
	json_array_foreach(json_object_get(rep, "migrations"), k, m) {
		const char *id = json_string_value(json_object_get(m, "migration")) ?: "";
		struct mc_rates r = mc_top_mig_rates(m, prep, dt);

		json_array_append_new(migs, rates_json(json_pack("{s:s,s:O,s:O,s:O,s:O,s:O}",
			"migration", id, "vm", json_object_get(m, "vm"),
			"role", json_object_get(m, "role"), "generation", json_object_get(m, "generation"),
			"out_bytes", json_object_get(m, "out_bytes"),
			"in_bytes", json_object_get(m, "in_bytes")), &r));
	}
	json_object_set_new(o, "migrations", migs);
	return o;
}

static void
utc_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
frame(const struct top *t, const struct sample *cur, const struct sample *prev)
{
	char when[32];

	utc_now(when, sizeof(when));
	if (t->json) {
		json_t *apps = json_object(), *f;

		for (int i = 0; i < t->n; i++)
			json_object_set_new(apps, t->app[i].name, json_appliance(i, cur, prev));
		f = json_pack("{s:s,s:f,s:o}", "ts", when, "interval_s", t->interval, "appliances", apps);
		json_dumpf(f, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(f);
	} else {
		if (t->tty)
			printf("\033[H\033[J");	/* home, clear: one screen per frame */
		printf("migsecctl top  %s  every %.1f s  (Ctrl-C quits)\n\n", when, t->interval);
		for (int i = 0; i < t->n; i++)
			text_appliance(t, i, cur, prev);
	}
	fflush(stdout);
}

/* Sleeps until the next frame is due; returns early on a signal. */
static void
sleep_until(double when)
{
	double left = when - now_mono();
	struct timespec ts;

	if (left <= 0 || stop)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* EINTR: stop is set */
}

static int
run(struct top *t)
{
	static struct sample a, b;
	struct sample *prev = &a, *cur = &b, *x;
	double next = now_mono();
	int rc = MC_EXIT_OK;

	sample_take(t, prev);
	for (long f = 0; !stop && (t->count == 0 || f < t->count); f++) {
		next += t->interval;
		sleep_until(next);
		if (stop)
			break;
		sample_take(t, cur);
		if (stop)	/* interrupted while asking: a half frame is not shown */
			break;
		frame(t, cur, prev);
		rc = MC_EXIT_OK;
		for (int i = 0; i < t->n; i++)
			if (cur->reply[i] == NULL)
				rc = MC_EXIT_UNREACHABLE;
		sample_free(prev, t->n);
		x = prev;
		prev = cur;
		cur = x;
	}
	sample_free(prev, t->n);
	sample_free(cur, t->n);
	return rc;
}

int
mc_top_main(SSL_CTX *ctx, int timeout_ms, bool json, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: I/O returns */
	static struct top t;
	int rc;

	t.ctx = ctx;
	t.timeout_ms = timeout_ms;
	t.json = json;
	t.tty = isatty(STDOUT_FILENO);
	t.interval = 1.0;
	if (parse(&t, argc, argv) != 0)
		return MC_EXIT_USAGE;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (int i = 0; i < t.n; i++) {
		mc_conn_init(&t.conn[i], ctx, &t.app[i], timeout_ms);
		t.conn[i].readonly = true;	/* status only: opened again whenever needed */
	}
	rc = run(&t);
	for (int i = 0; i < t.n; i++)
		mc_conn_close(&t.conn[i]);
	return rc;
}
