/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's audit trail (mc_audit.h): one line per event to syslog
 * (authpriv) and, if configured, the JSON-lines file, which is rotated at
 * its bound (FILE -> FILE.1, one generation; older ones are logrotate's).
 * Called from its one thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mc_audit.h"

static char appliance_name[32];
static char audit_path[256];
static int audit_fd = -1;
static uint64_t audit_max;	/* bytes; 0: no bound */

int
mc_audit_open(const char *appliance, const char *file)
{
	snprintf(appliance_name, sizeof(appliance_name), "%s", appliance);
	openlog("migsec-control", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	if (file != NULL && file[0] != '\0') {
		snprintf(audit_path, sizeof(audit_path), "%s", file);
		audit_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (audit_fd < 0)
			return -errno;
	}
	return 0;
}

void
mc_audit_bound(uint64_t max_bytes)
{
	audit_max = max_bytes;
}

/*
 * The file would pass its bound with len more bytes: FILE becomes FILE.1
 * and a new FILE begins (the directory must be writable by mgmt.user). If
 * that fails, the file is no longer written rather than fill the disk;
 * syslog goes on. Returns the previous file's name when it rotated.
 */
static const char *
rotate_if_full(size_t len)
{
	static char old[sizeof(audit_path) + 2];
	struct stat st;
	int fd;

	if (audit_max == 0 || fstat(audit_fd, &st) != 0 || (uint64_t)st.st_size + len <= audit_max)
		return NULL;
	snprintf(old, sizeof(old), "%s.1", audit_path);
	if (rename(audit_path, old) != 0 ||
	    (fd = open(audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
		syslog(LOG_ERR, "the audit file %s reached mgmt.audit_max_kib and cannot be rotated "
		       "(%s): it is no longer written; the audit trail goes on in syslog", audit_path,
		       strerror(errno));
		close(audit_fd);
		audit_fd = -1;
		return NULL;
	}
	close(audit_fd);
	audit_fd = fd;
	return old;
}

static void
file_line(char *line)
{
	size_t n = strlen(line);
	const char *rotated = rotate_if_full(n + 1);

	if (rotated != NULL)	/* the new file says where the trail went on from */
		mc_audit("audit_rotated", json_pack("{s:s,s:I}", "previous", rotated,
						    "bound_bytes", (json_int_t)audit_max));
	if (audit_fd < 0)
		return;
	line[n] = '\n';	/* the NUL becomes the line's end for the write */
	if (write(audit_fd, line, n + 1) < 0)
		syslog(LOG_ERR, "cannot write the audit file: %s", strerror(errno));
	line[n] = '\0';
}

void
mc_audit(const char *event, json_t *fields)
{
	struct timespec ts;
	struct tm tm;
	char when[64], *line;
	json_t *o = fields ? fields : json_object();

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_object_set_new(o, "ts", json_string(when));
	json_object_set_new(o, "appliance", json_string(appliance_name));
	json_object_set_new(o, "event", json_string(event));
	line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (line == NULL)
		return;
	syslog(LOG_NOTICE, "audit %s", line);
	if (audit_fd >= 0)
		file_line(line);
	free(line);
}

void
mc_audit_close(void)
{
	if (audit_fd >= 0)
		close(audit_fd);
	audit_fd = -1;
	closelog();
}
