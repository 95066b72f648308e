/* The commands of the asvk program. */
#ifndef ASVK_APPS_COMMANDS_H
#define ASVK_APPS_COMMANDS_H
#include "apps/cli.h"
extern const cli_command cmd_devices;
extern const cli_command cmd_bench;
extern const cli_command cmd_cost;
extern const cli_command cmd_train;
extern const cli_command cmd_eval;
extern const cli_command cmd_evolve;
extern const cli_command cmd_space;
extern const cli_command cmd_latency;
extern const cli_command cmd_search;
extern const cli_command cmd_pipeline;
extern const cli_command cmd_report;
extern const cli_command cmd_export;
extern const cli_command cmd_widen;
#endif
