/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl watch: the clean-up agent of issue 19, item 4. For each source
 * host given (--connect, mapped to its appliance by the hosts of
 * /etc/migsec/libvirt.conf) it listens to libvirt's job-completed and
 * lifecycle events of every domain, and every --interval it asks the
 * host's appliance for its migrations: one whose role is source, whose VM
 * had a libvirt job once (seen by a sweep, or an event since) and now has
 * none, or is gone from the host, is ended on that appliance and on its
 * peer (the host whose appliance_outer is the migration's peer). A
 * migration whose VM never had a job is left alone: an orchestrator may
 * have started it and not yet migrated; its lifetime bounds it. So keys
 * do not outlive a libvirt migration whose orchestrator (or migsecctl
 * migrate) died. One thread: libvirt's event loop with a timer.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc_cli.h"
#include "mc_libvirt.h"
#include "mc_lvhosts.h"
#include "mc_migrate.h"

#ifdef MS_HAVE_LIBVIRT
#include <libvirt/virterror.h>

#include "mc_lvjob.h"

#define W_HOSTS 16
#define W_SEEN 256

struct w_host {
	const struct mc_lvhost *h;
	virConnectPtr conn;
	int cb_job, cb_life;
};

struct watch {
	const struct mc_cli *c;
	struct mc_lvhosts hs;
	struct w_host host[W_HOSTS];
	int nb_host;
	char seen[W_SEEN][40];		/* migsec ids whose VM had a libvirt job */
	int nb_seen;
	char flagged[W_SEEN][64];	/* domains an event named since the last sweep */
	int nb_flagged;
	bool quit;
	long long sweeps, count, interval_ms, next_ms;
};

static volatile sig_atomic_t w_signalled;

static void
w_on_signal(int s)
{
	w_signalled = s;
}

static int
seen_idx(const struct watch *w, const char *id)
{
	for (int i = 0; i < w->nb_seen; i++)
		if (strcmp(w->seen[i], id) == 0)
			return i;
	return -1;
}

static void
seen_set(struct watch *w, const char *id, bool on)
{
	int i = seen_idx(w, id);

	if (on && i < 0 && w->nb_seen < W_SEEN)
		snprintf(w->seen[w->nb_seen++], sizeof(w->seen[0]), "%s", id);
	else if (!on && i >= 0)
		memcpy(w->seen[i], w->seen[--w->nb_seen], sizeof(w->seen[0]));
}

static void
say(const struct watch *w, const char *kind, const char *host, const char *vm, const char *text)
{
	if (w->c->json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "event", kind, "host", host, "domain", vm,
				      "what", text);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: %s: %s\n", host, vm, text);
	}
	fflush(stdout);
}

/* The domain's libvirt job: 1 one runs, 0 none, -1 the domain is gone from the host. */
static int
job_state(virConnectPtr conn, const char *vm)
{
	virDomainPtr d = virDomainLookupByName(conn, vm);
	virDomainJobInfo info;
	int rc;

	if (d == NULL)
		return -1;
	rc = virDomainGetJobInfo(d, &info) == 0 && info.type != VIR_DOMAIN_JOB_NONE ? 1 : 0;
	virDomainFree(d);
	return rc;
}

static void
end_on(struct watch *w, const struct mc_peer *p, const char *id)
{
	json_t *req = mc_cli_req("end", id), *reply = NULL;

	if (mc_cli_call1(w->c, p, req, &reply) != MC_EXIT_OK)
		fprintf(stderr, "migsecctl: watch: %s: ending %s failed (see above)\n", p->name, id);
	json_decref(req);
	json_decref(reply);
}

/* The host whose appliance's outer address is outer. */
static const struct mc_lvhost *
by_outer(const struct watch *w, const char *outer)
{
	for (unsigned int i = 0; i < w->hs.n; i++)
		if (w->hs.h[i].has_appliance && mc_same_addr(w->hs.h[i].outer, outer))
			return &w->hs.h[i];
	return NULL;
}

static void
sweep_one(struct watch *w, struct w_host *wh, json_t *mig)
{
	const char *id = json_string_value(json_object_get(mig, "migration"));
	const char *vm = json_string_value(json_object_get(mig, "vm"));
	const char *role = json_string_value(json_object_get(mig, "role"));
	const char *peer = json_string_value(json_object_get(mig, "peer"));
	const struct mc_lvhost *ph;
	char text[256];
	int st;

	if (id == NULL || vm == NULL || role == NULL || strcmp(role, "source") != 0)
		return;
	for (int i = 0; i < w->nb_flagged; i++)	/* an event for it: its job ran */
		if (strcmp(w->flagged[i], vm) == 0)
			seen_set(w, id, true);
	st = job_state(wh->conn, vm);
	if (st == 1) {
		seen_set(w, id, true);
		return;
	}
	if (seen_idx(w, id) < 0)
		return;		/* no job seen yet: an orchestrator may be about to migrate */
	ph = peer ? by_outer(w, peer) : NULL;
	snprintf(text, sizeof(text), "libvirt job over (%s): ending migsec migration %s on %s%s%s",
		 st < 0 ? "the domain left the host" : "no job", id, wh->h->appliance.name,
		 ph ? " and " : " (its peer is in no hosts entry)", ph ? ph->appliance.name : "");
	say(w, "end", wh->h->name, vm, text);
	end_on(w, &wh->h->appliance, id);
	if (ph != NULL)
		end_on(w, &ph->appliance, id);
	seen_set(w, id, false);
}

static void
sweep(struct watch *w)
{
	mc_sig_hold(true);	/* a SIGTERM now must not cut an end short */
	for (int i = 0; i < w->nb_host; i++) {
		json_t *req = mc_cli_req("status", NULL), *reply = NULL, *ms, *m;
		size_t k;

		if (mc_cli_call1(w->c, &w->host[i].h->appliance, req, &reply) == MC_EXIT_OK) {
			ms = json_object_get(reply, "migrations");
			json_array_foreach(ms, k, m)
				sweep_one(w, &w->host[i], m);
		}
		json_decref(req);
		json_decref(reply);
	}
	mc_sig_hold(false);
	w->nb_flagged = 0;
	w->sweeps++;
}

/* An event: the domain's migration may be over; mark its ids seen, sweep now. */
static void
on_event(struct watch *w, virConnectPtr conn, virDomainPtr d, const char *what)
{
	const char *vm = virDomainGetName(d);

	for (int i = 0; i < w->nb_host; i++)
		if (w->host[i].conn == conn)
			say(w, "libvirt", w->host[i].h->name, vm, what);
	if (vm != NULL && w->nb_flagged < W_SEEN)
		snprintf(w->flagged[w->nb_flagged++], sizeof(w->flagged[0]), "%s", vm);
	w->next_ms = 0;		/* sweep at the next tick */
}

static void
w_job(virConnectPtr c, virDomainPtr d, virTypedParameterPtr p, int n, void *op)
{
	(void)p;
	(void)n;
	on_event(op, c, d, "job completed");
}

static int
w_life(virConnectPtr c, virDomainPtr d, int event, int detail, void *op)
{
	(void)detail;
	if (event == VIR_DOMAIN_EVENT_STOPPED || event == VIR_DOMAIN_EVENT_RESUMED)
		on_event(op, c, d, event == VIR_DOMAIN_EVENT_STOPPED ? "stopped" : "resumed");
	return 0;
}

static void
w_tick(int timer, void *op)
{
	struct watch *w = op;
	long long t = mc_now_ms();

	(void)timer;
	if (w_signalled || (w->count && w->sweeps >= w->count)) {
		w->quit = true;
		return;
	}
	if (t < w->next_ms)
		return;
	w->next_ms = t + w->interval_ms;
	sweep(w);
}

static int
w_hosts(struct watch *w, const char **uris, int n)
{
	for (int i = 0; i < n; i++) {
		struct w_host *wh = &w->host[w->nb_host];
		char *name;

		wh->cb_job = wh->cb_life = -1;
		wh->conn = virConnectOpen(uris[i]);
		if (wh->conn == NULL) {
			fprintf(stderr, "migsecctl: watch: cannot connect to libvirt (%s): %s\n",
				uris[i] ? uris[i] : "default URI", mc_lv_msg());
			return MC_EXIT_UNREACHABLE;
		}
		w->nb_host++;
		name = virConnectGetHostname(wh->conn);
		wh->h = name ? mc_lvhosts_find(&w->hs, name) : NULL;
		if (wh->h == NULL || !wh->h->has_appliance) {
			fprintf(stderr, "migsecctl: watch: host '%s' (%s) is %s in the hosts of %s\n",
				name ? name : "?", uris[i] ? uris[i] : "default URI",
				wh->h ? "without appliance" : "not", w->hs.file);
			free(name);
			return MC_EXIT_USAGE;
		}
		free(name);
		wh->cb_job = virConnectDomainEventRegisterAny(wh->conn, NULL,
			VIR_DOMAIN_EVENT_ID_JOB_COMPLETED, VIR_DOMAIN_EVENT_CALLBACK(w_job), w, NULL);
		wh->cb_life = virConnectDomainEventRegisterAny(wh->conn, NULL,
			VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(w_life), w, NULL);
		virConnectSetKeepAlive(wh->conn, 5, 6);
	}
	return MC_EXIT_OK;
}

static int
w_args(int argc, char **argv, struct watch *w, const char **uris, int *n)
{
	for (int i = 1; i < argc; i++) {
		char *e = NULL;
		double v = 0;

		if (strcmp(argv[i], "--connect") == 0 && i + 1 < argc && *n < W_HOSTS) {
			uris[(*n)++] = argv[++i];
			continue;
		}
		if ((strcmp(argv[i], "--interval") == 0 || strcmp(argv[i], "--count") == 0) &&
		    i + 1 < argc)
			v = strtod(argv[i + 1], &e);
		if (e == NULL || *e != '\0' || argv[i + 1][0] == '\0' ||
		    (argv[i][2] == 'i' && (v < 0.2 || v > 3600)) ||
		    (argv[i][2] == 'c' && (v < 1 || v > 1e9 || v != (long long)v))) {
			fprintf(stderr, "migsecctl: watch: bad argument '%s' (--connect URI (at most "
				"%d), --interval 0.2..3600, --count N)\n", argv[i], W_HOSTS);
			return -1;
		}
		if (argv[i][2] == 'i')
			w->interval_ms = (long long)(v * 1000);
		else
			w->count = (long long)v;
		i++;
	}
	if (*n == 0)
		uris[(*n)++] = NULL;	/* libvirt's default URI: this host */
	return 0;
}

int
mc_cli_watch(const struct mc_cli *c, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = w_on_signal };
	struct watch *w = calloc(1, sizeof(*w));
	const char *uris[W_HOSTS];
	char err[512];
	int n = 0, rc = MC_EXIT_USAGE, timer = -1;

	if (w == NULL)
		return MC_EXIT_USAGE;
	w->c = c;
	w->interval_ms = 2000;
	if (w_args(argc, argv, w, uris, &n) != 0)
		goto out;
	if (mc_lvhosts_load(&w->hs, err, sizeof(err)) != 0) {
		fprintf(stderr, "migsecctl: watch: %s\n", err);
		goto out;
	}
	if (mc_lvjob_init() != 0)
		goto out;
	mc_lv_quiet();
	rc = w_hosts(w, uris, n);
	if (rc != MC_EXIT_OK)
		goto out;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	timer = virEventAddTimeout(200, w_tick, w, NULL);
	for (int i = 0; i < w->nb_host; i++)
		say(w, "watching", w->host[i].h->name, "*", w->host[i].h->appliance.name);
	while (!w->quit && timer >= 0)
		if (virEventRunDefaultImpl() != 0)
			break;
	rc = timer >= 0 ? MC_EXIT_OK : MC_EXIT_USAGE;
out:
	if (timer >= 0)
		virEventRemoveTimeout(timer);
	for (int i = 0; i < w->nb_host; i++) {
		if (w->host[i].cb_job >= 0)
			virConnectDomainEventDeregisterAny(w->host[i].conn, w->host[i].cb_job);
		if (w->host[i].cb_life >= 0)
			virConnectDomainEventDeregisterAny(w->host[i].conn, w->host[i].cb_life);
		virConnectClose(w->host[i].conn);
	}
	free(w);
	return rc;
}

#else

int
mc_cli_watch(const struct mc_cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	fprintf(stderr, "migsecctl: watch: this migsecctl was built without libvirt "
		"(install libvirt-dev and rebuild)\n");
	return MC_EXIT_USAGE;
}

#endif
