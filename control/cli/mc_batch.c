/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsecctl start --batch FILE: many migrations (a host evacuation) with
 * the options of the command line, one line of FILE each:
 * "ID VM SELECTOR [SELECTOR...]". The whole file is checked first, so a
 * bad line starts nothing. Then one migration after another, each with its
 * own one-shot key and the semantics of a single start (mc_start.c), over
 * one connection per appliance; a line per migration as it is done and a
 * summary that names those that did not start.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc_start.h"
#include "ms_sel.h"

#define LINE_MAX_LEN 1024	/* ID, VM and MC_SEL_MAX selectors fit */
#define LINES_MAX 100000	/* comments and blank lines included */
#define SEL_TEXT_MAX 200	/* as the protocol's */

struct batch {
	const char *name;	/* for messages: the file, or "stdin" */
	struct mc_mig_spec *m;
	char **text;		/* each line's copy, which m[i] points into */
	unsigned int n;
};

static int
bad(const struct batch *b, unsigned int line, const char *what, const char *arg)
{
	fprintf(stderr, "migsecctl: %s:%u: %s%s%s%s; nothing started\n", b->name, line, what,
		arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
	return -1;
}

/* One line into its fields (in place); "#" at the start of a field begins a comment. */
static int
split(char *s, char **f, unsigned int max, unsigned int *nf)
{
	*nf = 0;
	for (char *t = strtok(s, " \t"); t != NULL && t[0] != '#'; t = strtok(NULL, " \t")) {
		if (*nf == max)
			return -1;
		f[(*nf)++] = t;
	}
	return 0;
}

static bool
id_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= MC_ID_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool
vm_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)s[i]))
			return false;
	return n >= 1 && n <= MC_VM_MAX;
}

/* The fields of line ln (its own copy in b->text[b->n]) as migration b->n. */
static int
take(struct batch *b, unsigned int ln, char **f, unsigned int nf)
{
	struct mc_mig_spec *m = &b->m[b->n];
	struct ms_sel sel, first;
	char err[160];

	if (nf < 3)
		return bad(b, ln, "want ID VM SELECTOR [SELECTOR...]", NULL);
	if (!id_ok(f[0]))
		return bad(b, ln, "ID must be 1 to 32 of A-Za-z0-9._-, not", f[0]);
	if (!vm_ok(f[1]))
		return bad(b, ln, "VM must be 1 to 64 printable characters, not", f[1]);
	for (unsigned int i = 0; i < b->n; i++)
		if (strcmp(b->m[i].id, f[0]) == 0) {
			snprintf(err, sizeof(err), "migration %s is also on line %u", f[0],
				 b->m[i].line);
			return bad(b, ln, err, NULL);
		}
	for (unsigned int i = 2; i < nf; i++) {
		if (strlen(f[i]) > SEL_TEXT_MAX)
			return bad(b, ln, "a selector is longer than 200 characters", NULL);
		if (ms_sel_parse(f[i], &sel, err, sizeof(err)) != 0)
			return bad(b, ln, err, f[i]);
		if (i == 2)
			first = sel;
		else if (sel.src.ip.af != first.src.ip.af)
			return bad(b, ln, "selectors must all be IPv4 or all IPv6", NULL);
		m->sel[m->nb_sel++] = f[i];
	}
	m->id = f[0];
	m->vm = f[1];
	m->line = ln;
	b->n++;
	return 0;
}

/* One line of at most LINE_MAX_LEN bytes into buf; 1 line, 0 end, -1 said. */
static int
read_line(FILE *in, const struct batch *b, unsigned int ln, char *buf)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(in)) != EOF && ch != '\n') {
		if (ch == '\0' || (iscntrl(ch) && ch != '\t' && ch != '\r'))
			return bad(b, ln, "a control character", NULL);
		if (n == LINE_MAX_LEN)
			return bad(b, ln, "the line is longer than 1024 bytes", NULL);
		buf[n++] = (char)ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (ch == EOF && ferror(in))
		return bad(b, ln, "cannot read", NULL);
	return ch == EOF && n == 0 ? 0 : 1;
}

static int
parse(FILE *in, struct batch *b)
{
	char buf[LINE_MAX_LEN + 1], *f[2 + MC_SEL_MAX + 1];
	unsigned int ln, nf;
	int r;

	for (ln = 1; ln <= LINES_MAX && (r = read_line(in, b, ln, buf)) == 1; ln++) {
		char *copy = strdup(buf);

		if (copy == NULL)
			return bad(b, ln, "out of memory", NULL);
		b->text[b->n] = copy;
		if (split(copy, f, 2 + MC_SEL_MAX, &nf) != 0) {
			snprintf(buf, sizeof(buf), "more than %d selectors", MC_SEL_MAX);
			return bad(b, ln, buf, NULL);
		}
		if (nf == 0) {
			free(copy);
			b->text[b->n] = NULL;
			continue;
		}
		if (b->n == MC_IDS_MAX)
			return bad(b, ln, "more than " MC_IDS_MAX_S " migrations", NULL);
		if (take(b, ln, f, nf) != 0)
			return -1;
	}
	if (ln > LINES_MAX)
		return bad(b, ln, "more than 100000 lines", NULL);
	if (r < 0)
		return -1;
	if (b->n == 0)
		return bad(b, ln - 1, "no migration in the file", NULL);
	return 0;
}

static int
load(const char *path, struct batch *b)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	int rc;

	b->name = in == stdin ? "stdin" : path;
	b->m = calloc(MC_IDS_MAX, sizeof(*b->m));
	b->text = calloc(MC_IDS_MAX + 1, sizeof(*b->text));	/* + the line over the limit */
	if (in == NULL || b->m == NULL || b->text == NULL) {
		fprintf(stderr, "migsecctl: cannot read the batch file %s: %m\n", path);
		if (in != NULL && in != stdin)
			fclose(in);
		return -1;
	}
	rc = parse(in, b);
	if (in != stdin)
		fclose(in);
	return rc;
}

static void
unload(struct batch *b)
{
	for (unsigned int i = 0; b->text != NULL && i <= MC_IDS_MAX; i++)
		free(b->text[i]);
	free(b->text);
	free(b->m);
}

/* Worst first: a rollback failed, unreachable, usage, refused, downgraded, started. */
static int
rank(int rc)
{
	static const int order[] = { [MC_EXIT_OK] = 0, [MC_EXIT_DOWNGRADED] = 1,
				     [MC_EXIT_REFUSED] = 2, [MC_EXIT_USAGE] = 3,
				     [MC_EXIT_UNREACHABLE] = 4, [MC_EXIT_PARTIAL] = 5 };

	return rc >= 0 && rc <= MC_EXIT_PARTIAL ? order[rc] : 5;
}

static bool
started(int rc)
{
	return rc == MC_EXIT_OK || rc == MC_EXIT_DOWNGRADED;
}

static void
print_one(const struct mc_start_run *run, const struct mc_mig_spec *m, int rc, json_t **r)
{
	const char *names[2] = { run->o->src.name, run->o->dst.name };

	if (run->c->json) {
		json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:b,s:b}", "id", m->id, "vm", m->vm, "line",
				      m->line, "exit", rc, "started", started(rc), "sealed",
				      rc == MC_EXIT_OK && strcmp(run->o->policy, "disabled") != 0);

		if (started(rc)) {
			json_object_set(o, "source", r[0]);
			json_object_set(o, "destination", r[1]);
		}
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else if (started(rc)) {
		printf("%s: started %s", m->id, json_is_true(json_object_get(r[0], "sealed")) ?
		       "sealed" : "NOT sealed (plaintext)");
		for (int i = 0; i < 2; i++)
			printf(", %s SPI out 0x%08llx in 0x%08llx", names[i],
			       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_out")),
			       (unsigned long long)json_integer_value(json_object_get(r[i], "spi_in")));
		putchar('\n');
	} else if (rc == MC_EXIT_PARTIAL) {
		printf("%s: NOT started (exit 5): its rollback failed, %s may still hold it\n", m->id,
		       names[0]);
	} else {
		printf("%s: NOT started (exit %d): nothing left running\n", m->id, rc);
	}
	fflush(stdout);
}

static void
list(const char *what, const struct batch *b, const int *rc, int want)
{
	bool any = false;

	for (unsigned int i = 0; i < b->n; i++)
		if (want < 0 ? !started(rc[i]) : rc[i] == want) {
			printf("%s%s", any ? " " : what, b->m[i].id);
			any = true;
		}
	if (any)
		putchar('\n');
}

static void
summary(const struct mc_start_run *run, const struct batch *b, const int *rc, int worst,
	double s)
{
	json_t *o, *lists[3];
	unsigned int n[3] = { 0, 0, 0 };	/* started, downgraded, rollback failed */

	for (unsigned int i = 0; i < b->n; i++) {
		n[0] += started(rc[i]);
		n[1] += rc[i] == MC_EXIT_DOWNGRADED;
		n[2] += rc[i] == MC_EXIT_PARTIAL;
	}
	if (!run->c->json) {
		printf("batch %s: %u migrations, %u started (%u unsealed), %u NOT started (%u with a "
		       "failed rollback), %.3f s, exit %d\n", b->name, b->n, n[0], n[1], b->n - n[0],
		       n[2], s, worst);
		list("not started: ", b, rc, -1);
		list("rollback failed, may remain: ", b, rc, MC_EXIT_PARTIAL);
		return;
	}
	for (int k = 0; k < 3; k++)
		lists[k] = json_array();
	for (unsigned int i = 0; i < b->n; i++)
		json_array_append_new(lists[started(rc[i]) ? 0 : rc[i] == MC_EXIT_PARTIAL ? 2 : 1],
				      json_string(b->m[i].id));
	o = json_pack("{s:{s:s,s:i,s:o,s:o,s:o,s:i,s:f,s:i}}", "summary", "batch", b->name,
		      "migrations", b->n, "started", lists[0], "not_started", lists[1],
		      "rollback_failed", lists[2], "unsealed", n[1], "seconds", s, "exit", worst);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Both connections up (or still to be opened) for the next migration. */
static bool
reachable(const struct mc_start_run *run, const struct mc_mig_spec *m)
{
	for (int i = 0; i < 2; i++)
		if (run->conn[i].down) {
			fprintf(stderr, "migsecctl: %s: not tried: %s\n", m->id, run->conn[i].err);
			return false;
		}
	return true;
}

int
mc_batch_main(const struct mc_cli *c, struct mc_start_opts *o)
{
	struct batch b = { 0 };
	struct mc_start_run run;
	int *rc = NULL, worst = MC_EXIT_OK, pre;
	double t0;

	if (load(o->batch, &b) != 0 || (rc = calloc(b.n, sizeof(*rc))) == NULL) {
		unload(&b);
		return MC_EXIT_USAGE;
	}
	t0 = now_s();
	mc_start_run_init(&run, c, o, true);
	pre = mc_start_prepare(&run);
	for (unsigned int i = 0; i < b.n; i++) {
		json_t *r[2] = { NULL, NULL };

		if (pre != MC_EXIT_OK)
			rc[i] = pre;
		else if (!reachable(&run, &b.m[i]))
			rc[i] = MC_EXIT_UNREACHABLE;
		else
			rc[i] = mc_start_one(&run, &b.m[i], r);
		if (rank(rc[i]) > rank(worst))
			worst = rc[i];
		print_one(&run, &b.m[i], rc[i], r);
		json_decref(r[0]);
		json_decref(r[1]);
	}
	mc_start_run_close(&run);
	summary(&run, &b, rc, worst, now_s() - t0);
	free(rc);
	unload(&b);
	return worst;
}
