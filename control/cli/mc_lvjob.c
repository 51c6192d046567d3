/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl migrate's libvirt job (mc_lvjob.h). virDomainMigrateToURI3
 * (peer-to-peer) or virDomainMigrate3 (direct, with the destination's
 * connection) blocks until the migration is over, so it runs on a thread of its own
 * while this thread runs libvirt's event loop: a tick every TICK_MS that
 * prints progress from virDomainGetJobStats, turns a SIGINT or SIGTERM
 * (or the migsec lifetime running out) into virDomainAbortJob, and notices
 * the job's end. The end is whichever comes first: the call returning, a
 * VIR_DOMAIN_EVENT_ID_JOB_COMPLETED or STOPPED lifecycle event, or the
 * statistics showing no job where one ran; j->over is called then, or, if
 * the call has not returned yet, GRACE_MS later (libvirt may still be
 * telling the destination to clean up, over a connection the migsec
 * migration seals).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "mc_lvjob.h"
#include "mc_show.h"

#define TICK_MS 200
#define GRACE_MS 10000		/* job over, call not returned: end migsec anyway */
#define GIVE_UP_MS 60000	/* abort sent, call not returned: stop waiting */

static volatile sig_atomic_t signalled;

struct run {
	struct mc_lvjob *j;
	pthread_t th;
	atomic_bool done;	/* the migration call returned */
	int rc, code;		/* the call's result, libvirt's error code (the thread's) */
	char err[512];
	bool quit, over_called, seen_active, aborted;
	int gone;		/* job statistics in a row without a job */
	long long t0, over_at, abort_at, next_progress;
	const char *over_why;
};

static void
on_signal(int s)
{
	signalled = s;
}

long long
mc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
mc_sig_hold(bool hold)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(hold ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static void *
migrate_thread(void *arg)
{
	struct run *r = arg;
	struct mc_lvjob *j = r->j;
	virDomainPtr dd = NULL;
	int rc;

	mc_sig_hold(true);	/* SIGINT/SIGTERM are the event loop's thread's to see */
	if (j->dconn != NULL) {	/* direct: this process drives both libvirtds */
		dd = virDomainMigrate3(j->dom, j->dconn, j->params, (unsigned int)j->nparams,
				       j->flags);
		rc = dd != NULL ? 0 : -1;
	} else {
		rc = virDomainMigrateToURI3(j->dom, j->dest_uri, j->params,
					    (unsigned int)j->nparams, j->flags);
	}
	if (rc == 0) {
		r->rc = 0;
		if (dd != NULL)
			virDomainFree(dd);
	} else {
		virErrorPtr e = virGetLastError();

		r->rc = -1;
		r->code = e ? e->code : 0;
		snprintf(r->err, sizeof(r->err), "%s", e && e->message ? e->message : "unknown error");
	}
	atomic_store(&r->done, true);
	return NULL;
}

static void
say(const struct run *r, const char *kind, const char *what)
{
	if (r->j->json) {
		json_t *o = json_pack("{s:s,s:s,s:s}", "event", kind, "domain", r->j->name,
				      "what", what);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: %s\n", r->j->name, what);
	}
	fflush(stdout);
}

static void
mark_over(struct run *r, const char *why)
{
	if (r->over_at != 0)
		return;
	r->over_at = mc_now_ms();
	r->over_why = why;
	say(r, "job_over", why);
}

static void
end_migsec(struct run *r, const char *why)
{
	if (r->over_called)
		return;
	r->over_called = true;
	r->j->over(r->j->opaque, why);
}

static void
on_job_completed(virConnectPtr c, virDomainPtr d, virTypedParameterPtr p, int n, void *op)
{
	struct run *r = op;
	unsigned long long v;

	(void)c;
	(void)d;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &v) == 1)
		r->j->mem_bytes = v;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED, &v) == 1)
		r->j->disk_bytes = v;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &v) == 1)
		r->j->elapsed_ms = v;
	mark_over(r, "libvirt event: job completed");
}

static int
on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *op)
{
	struct run *r = op;

	(void)c;
	(void)d;
	if (event == VIR_DOMAIN_EVENT_SUSPENDED && detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY) {
		r->j->postcopy = true;
		say(r, "postcopy", "libvirt event: post-copy started (the destination runs the "
		    "domain and pulls the rest of its memory)");
	} else if (event == VIR_DOMAIN_EVENT_SUSPENDED &&
		   detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED) {
		say(r, "postcopy", "libvirt event: post-copy FAILED (the domain is paused on "
		    "both hosts; see virsh migrate --postcopy-resume)");
	}
	if (event == VIR_DOMAIN_EVENT_STOPPED)
		mark_over(op, detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED
			  ? "libvirt event: stopped, migrated" : "libvirt event: domain stopped");
	return 0;
}

static unsigned long long
ull(virTypedParameterPtr p, int n, const char *name)
{
	unsigned long long v = 0;

	virTypedParamsGetULLong(p, n, name, &v);
	return v;
}

static void
progress(struct run *r)
{
	virTypedParameterPtr p = NULL;
	int n = 0, type = VIR_DOMAIN_JOB_NONE;
	struct mc_lvjob *j = r->j;
	char a[32], b[32], c[32], d[32];

	if (virDomainGetJobStats(j->dom, &type, &p, &n, 0) != 0) {
		r->gone = 0;	/* an error says nothing about the job */
		return;
	}
	if (type == VIR_DOMAIN_JOB_NONE) {	/* twice in a row, after it ran: over */
		if (r->seen_active && !atomic_load(&r->done) && ++r->gone >= 2)
			mark_over(r, "job statistics: the job is gone");
		virTypedParamsFree(p, n);
		return;
	}
	r->seen_active = true;
	r->gone = 0;
	j->mem_bytes = ull(p, n, VIR_DOMAIN_JOB_MEMORY_PROCESSED);
	j->disk_bytes = ull(p, n, VIR_DOMAIN_JOB_DISK_PROCESSED);
	j->elapsed_ms = ull(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED);
	if (j->json) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "event", "progress",
				      "domain", j->name, "elapsed_ms", (json_int_t)j->elapsed_ms,
				      "memory_processed", (json_int_t)j->mem_bytes,
				      "memory_total", (json_int_t)ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL),
				      "disk_processed", (json_int_t)j->disk_bytes,
				      "disk_total", (json_int_t)ull(p, n, VIR_DOMAIN_JOB_DISK_TOTAL),
				      "data_remaining",
				      (json_int_t)ull(p, n, VIR_DOMAIN_JOB_DATA_REMAINING));

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: migrating: memory %s of %s, disk %s of %s, %.1f s\n", j->name,
		       mc_human_bytes((long long)j->mem_bytes, a, sizeof(a)),
		       mc_human_bytes((long long)ull(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL), b, sizeof(b)),
		       mc_human_bytes((long long)j->disk_bytes, c, sizeof(c)),
		       mc_human_bytes((long long)ull(p, n, VIR_DOMAIN_JOB_DISK_TOTAL), d, sizeof(d)),
		       (double)j->elapsed_ms / 1000.0);
	}
	fflush(stdout);
	virTypedParamsFree(p, n);
}

static void
abort_job(struct run *r, const char *why)
{
	r->aborted = true;
	r->abort_at = mc_now_ms();
	say(r, "abort", why);
	if (virDomainAbortJob(r->j->dom) != 0) {
		virErrorPtr e = virGetLastError();

		fprintf(stderr, "migsecctl: %s: libvirt did not abort the job: %s\n", r->j->name,
			e && e->message ? e->message : "unknown error");
	}
}

static void
tick(int timer, void *op)
{
	struct run *r = op;
	long long t = mc_now_ms();

	(void)timer;
	if (signalled && !r->aborted)
		abort_job(r, signalled == SIGINT ? "interrupted (SIGINT): aborting the migration job"
			  : "terminated (SIGTERM): aborting the migration job");
	if (!r->aborted && r->j->deadline_s > 0 && t - r->t0 > r->j->deadline_s * 1000)
		abort_job(r, "the migsec migration's lifetime is up: aborting the migration job");
	if (atomic_load(&r->done)) {
		end_migsec(r, r->over_why ? r->over_why : "the migration call returned");
		r->quit = true;
		return;
	}
	if (t >= r->next_progress) {
		progress(r);
		r->next_progress = t + r->j->interval_ms;
	}
	if (r->over_at && t - r->over_at > GRACE_MS)
		end_migsec(r, r->over_why);
	if (r->aborted && t - r->abort_at > GIVE_UP_MS) {
		snprintf(r->j->err, sizeof(r->j->err), "libvirt did not end the job %d s after the "
			 "abort", GIVE_UP_MS / 1000);
		r->j->rc = -1;
		end_migsec(r, "libvirt did not end the job after the abort");
		r->quit = true;
	}
}

int
mc_lvjob_init(void)
{
	return virEventRegisterDefaultImpl();
}

static void
outcome(struct run *r)
{
	struct mc_lvjob *j = r->j;

	j->outcome = j->rc == 0 ? "completed"
		: r->code == VIR_ERR_OPERATION_ABORTED || r->aborted ? "cancelled" : "failed";
}

int
mc_lvjob_run(struct mc_lvjob *j)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	struct run *rp = calloc(1, sizeof(*rp));
	int cb_job, cb_life, timer;

	if (rp == NULL) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		return -1;
	}
	rp->j = j;
	rp->t0 = rp->next_progress = mc_now_ms();
	cb_job = virConnectDomainEventRegisterAny(j->conn, j->dom, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
						  VIR_DOMAIN_EVENT_CALLBACK(on_job_completed), rp, NULL);
	cb_life = virConnectDomainEventRegisterAny(j->conn, j->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						   VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), rp, NULL);
	timer = virEventAddTimeout(TICK_MS, tick, rp, NULL);
	if (cb_job < 0 || cb_life < 0 || timer < 0) {
		snprintf(j->err, sizeof(j->err), "cannot listen for libvirt's events");
		goto fail;
	}
	virConnectSetKeepAlive(j->conn, 5, 6);	/* a libvirtd that vanishes fails the call */
	if (j->dconn != NULL)
		virConnectSetKeepAlive(j->dconn, 5, 6);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (pthread_create(&rp->th, NULL, migrate_thread, rp) != 0) {
		snprintf(j->err, sizeof(j->err), "cannot start a thread");
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		goto fail;
	}
	while (!rp->quit)
		if (virEventRunDefaultImpl() != 0)
			break;
	if (atomic_load(&rp->done)) {
		pthread_join(rp->th, NULL);
		j->rc = rp->rc;
		snprintf(j->err, sizeof(j->err), "%s", rp->err);
	} else {
		/* Given up on: the thread may still use rp and j's libvirt objects until the
		 * process exits, so neither is freed (j->detached tells the caller). */
		pthread_detach(rp->th);
		j->detached = true;
	}
	end_migsec(rp, "migsecctl stops waiting");
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	outcome(rp);
	virEventRemoveTimeout(timer);
	virConnectDomainEventDeregisterAny(j->conn, cb_job);
	virConnectDomainEventDeregisterAny(j->conn, cb_life);
	if (!j->detached)
		free(rp);
	return 0;
fail:
	if (timer >= 0)
		virEventRemoveTimeout(timer);
	if (cb_job >= 0)
		virConnectDomainEventDeregisterAny(j->conn, cb_job);
	if (cb_life >= 0)
		virConnectDomainEventDeregisterAny(j->conn, cb_life);
	free(rp);
	return -1;
}
