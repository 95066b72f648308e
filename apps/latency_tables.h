/* asvk latency import and asvk latency predict (apps/cmd_latency_tables.c),
 * run by asvk latency for its first argument. */
#ifndef ASVK_APPS_LATENCY_TABLES_H
#define ASVK_APPS_LATENCY_TABLES_H

#include "apps/cli.h"

int latency_import(cli_args *a);
int latency_predict(cli_args *a);

#endif
