/* SPDX-License-Identifier: BSD-3-Clause */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ct.h"
#include "ms_ctl_proto.h"


static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int
io(int fd, void *buf, size_t n, bool out)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);

		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static char *
list_json(struct fake_dp *f)
{
	json_t *a = json_array();
	char sel[256], *s;

	for (unsigned int i = 0; i < f->nb; i++) {
		const struct ms_sa_spec *x = &f->sa[i];
		json_t *o = json_object(), *sels = json_array();
		char ip[64];

		for (unsigned int k = 0; k < x->nb_sel; k++)
			json_array_append_new(sels, json_string(ms_sel_str(&x->sel[k], sel, sizeof(sel))));
		json_object_set_new(o, "id", json_integer(x->id));
		json_object_set_new(o, "spi", json_integer(x->spi));
		json_object_set_new(o, "dir", json_string(x->dir == MS_DIR_OUT ? "out" :
							  x->dir == MS_DIR_IN ? "in" : "bypass"));
		json_object_set_new(o, "tag", json_string(x->tag));
		json_object_set_new(o, "peer", json_string(ms_ip_str(&x->peer, ip, sizeof(ip))));
		json_object_set_new(o, "local", json_string(ms_ip_str(&x->local, ip, sizeof(ip))));
		json_object_set_new(o, "selectors", sels);
		json_object_set_new(o, "pkts", json_integer((json_int_t)f->pkts[i]));
		json_object_set_new(o, "bytes", json_integer((json_int_t)f->pkts[i] * 100));
		json_object_set_new(o, "drops", json_object());
		json_array_append_new(a, o);
	}
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

/* n SAs, all or none: add number fail_add_after refuses its whole request. */
static char *
add(struct fake_dp *f, const struct ms_sa_spec *specs, uint32_t n, int32_t *status)
{
	f->adds += n;
	if (f->fail_add_after && f->adds >= (unsigned int)f->fail_add_after) {
		*status = -ENOSPC;
		return strdup("fake: refused");
	}
	if (f->nb + n > FAKE_MAX) {
		*status = -ENOSPC;
		return strdup("fake: full");
	}
	for (uint32_t i = 0; i < n; i++) {
		memcpy(&f->sa[f->nb], &specs[i], sizeof(specs[i]));
		f->pkts[f->nb++] = 0;
	}
	return strdup("{}");
}

/* SA id deleted (its key wiped): true, or false if there was none. */
static bool
del(struct fake_dp *f, uint32_t id)
{
	for (unsigned int i = 0; i < f->nb; i++)
		if (f->sa[i].id == id) {
			OPENSSL_cleanse(&f->sa[i], sizeof(f->sa[i]));
			f->sa[i] = f->sa[f->nb - 1];
			f->pkts[i] = f->pkts[f->nb - 1];
			f->nb--;
			return true;
		}
	return false;
}

static void
serve(struct fake_dp *f, int fd)
{
	struct ms_ctl_hdr h;
	_Alignas(16) uint8_t body[MS_CTL_MAX_REQ];
	char *reply = NULL;
	unsigned int first;
	bool delay;

	if (io(fd, &h, sizeof(h), false) || h.len > sizeof(body) || io(fd, body, h.len, false))
		return;
	pthread_mutex_lock(&lock);
	h.status = 0;
	first = f->adds + 1;
	if (h.op == MS_CTL_SA_ADD && h.len == sizeof(struct ms_ctl_sa_add)) {
		reply = add(f, (const struct ms_sa_spec *)body, 1, &h.status);
	} else if (h.op == MS_CTL_SA_ADD_BATCH && h.len >= 8) {
		uint32_t n;

		memcpy(&n, body, 4);
		if (n >= 1 && n <= MS_CTL_BATCH_MAX && h.len == 8 + n * sizeof(struct ms_sa_spec))
			reply = add(f, (const struct ms_sa_spec *)(body + 8), n, &h.status);
	} else if (h.op == MS_CTL_SA_DEL && h.len == sizeof(struct ms_ctl_sa_id)) {
		uint32_t id;

		memcpy(&id, body, 4);
		f->dels++;
		h.status = del(f, id) ? 0 : -ENOENT;
		reply = strdup("{}");
	} else if (h.op == MS_CTL_SA_DEL_BATCH && f->old_dp) {
		h.status = -EOPNOTSUPP;
		reply = strdup("unknown request");
	} else if (h.op == MS_CTL_SA_DEL_BATCH && h.len >= 8) {
		struct ms_ctl_sa_ids ids;

		memcpy(&ids, body, h.len < sizeof(ids) ? h.len : sizeof(ids));
		if (ids.n >= 1 && ids.n <= MS_CTL_DEL_BATCH_MAX && h.len == 8 + ids.n * 4) {
			json_t *gone = json_array(), *absent = json_array(), *j;

			f->del_batches++;
			for (uint32_t i = 0; i < ids.n; i++) {
				f->dels++;
				json_array_append_new(del(f, ids.id[i]) ? gone : absent,
						      json_integer(ids.id[i]));
			}
			j = json_pack("{s:o,s:o}", "ids", gone, "absent", absent);
			reply = json_dumps(j, JSON_COMPACT);
			json_decref(j);
		}
		if (reply == NULL) {
			h.status = -EINVAL;
			reply = strdup("fake: bad SA_DEL_BATCH");
		}
	} else if (h.op == MS_CTL_SA_LIST) {
		reply = list_json(f);
	} else {
		char buf[128];

		snprintf(buf, sizeof(buf), "{\"workers\":%d,\"policy\":\"discard\",\"crypto_driver\":"
			 "\"fake\"}", f->workers ? f->workers : 1);
		reply = strdup(buf);
	}
	delay = (h.op == MS_CTL_SA_ADD || h.op == MS_CTL_SA_ADD_BATCH) && f->slow_add &&
		first <= (unsigned int)f->slow_add && f->adds >= (unsigned int)f->slow_add;
	pthread_mutex_unlock(&lock);
	OPENSSL_cleanse(body, sizeof(body));
	if (delay)	/* a data plane that installed the SA, then stalled before answering */
		usleep((useconds_t)f->slow_ms * 1000);
	h.len = reply ? (uint32_t)strlen(reply) : 0;
	if (io(fd, &h, sizeof(h), true) == 0 && h.len)
		io(fd, reply, h.len, true);
	free(reply);
}

static void *
loop(void *arg)
{
	struct fake_dp *f = arg;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		int fd = accept(f->lfd, NULL, NULL);

		if (fd < 0)
			continue;
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

int
fake_dp_start(struct fake_dp *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 0, 100000 };

	static int seq;

	snprintf(f->path, sizeof(f->path), "/tmp/migsec-ct-%d-%d.sock", getpid(), seq++);
	strcpy(sa.sun_path, f->path);
	unlink(f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f->lfd, 8))
		return -1;
	setsockopt(f->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));	/* accept wakes up */
	return pthread_create(&f->thr, NULL, loop, f);
}

void
fake_dp_stop(struct fake_dp *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_RELAXED);
	pthread_join(f->thr, NULL);
	close(f->lfd);
	unlink(f->path);
}

const struct ms_sa_spec *
fake_dp_find(struct fake_dp *f, uint8_t dir, unsigned int gen)
{
	const struct ms_sa_spec *r = NULL;

	pthread_mutex_lock(&lock);
	for (unsigned int i = 0; i < f->nb; i++) {
		const char *p = strrchr(f->sa[i].tag, '|');
		unsigned int g = 0;
		int field = 0;

		/* tag: mc1|id|role|policy|kind|gen|expires */
		for (const char *c = f->sa[i].tag; *c && p; c++)
			if (*c == '|' && ++field == 5)
				g = (unsigned int)strtoul(c + 1, NULL, 16);
		if (f->sa[i].dir == dir && g == gen)
			r = &f->sa[i];
	}
	pthread_mutex_unlock(&lock);
	return r;
}

void
fake_dp_set_pkts(struct fake_dp *f, uint32_t id, uint64_t pkts)
{
	pthread_mutex_lock(&lock);
	for (unsigned int i = 0; i < f->nb; i++)
		if (f->sa[i].id == id)
			f->pkts[i] = pkts;
	pthread_mutex_unlock(&lock);
}
