/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migsec-control's audit trail (mc_audit.h): one line per event to syslog
 * (authpriv) and, if configured, the JSON-lines file. Called from its one
 * thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mc_audit.h"

static char appliance_name[32];
static int audit_fd = -1;

int
mc_audit_open(const char *appliance, const char *file)
{
	snprintf(appliance_name, sizeof(appliance_name), "%s", appliance);
	openlog("migsec-control", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	if (file != NULL && file[0] != '\0') {
		audit_fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (audit_fd < 0)
			return -errno;
	}
	return 0;
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
	if (audit_fd >= 0) {
		size_t n = strlen(line);

		line[n] = '\n';	/* the NUL becomes the line's end for the write */
		if (write(audit_fd, line, n + 1) < 0)
			syslog(LOG_ERR, "cannot write the audit file: %s", strerror(errno));
		line[n] = '\0';
	}
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
