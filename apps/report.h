/* The HTML report of a pipeline run folder (apps/cmd_report.c). */
#ifndef ASVK_APPS_REPORT_H
#define ASVK_APPS_REPORT_H

#include "engine/status.h"

/* Writes dir/report.html (atomically) from the run's files. */
asvk_status report_write(const char *dir);

#include <stdio.h>

/* The exported model and the predictions on every table (apps/report_deploy.c). */
void report_deploy_section(FILE *f, const char *dir);

#endif
