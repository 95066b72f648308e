/* asvk: AutoSpace on Vulkan. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apps/commands.h"
#include "apps/interrupt.h"
#include "apps/ranks.h"
#include "apps/stats.h"
#include "engine/version.h"

static const cli_command *const commands[] = {&cmd_pipeline, &cmd_devices, &cmd_evolve, &cmd_search, &cmd_latency, &cmd_space, &cmd_train, &cmd_eval, &cmd_cost, &cmd_widen, &cmd_export, &cmd_bench, &cmd_report};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void overview(FILE *f) {
    fprintf(f, "asvk %s — AutoSpace on Vulkan: learn a NAS search space, search and train on any Vulkan GPU\n\n"
               "usage: asvk <command> [options]\n\ncommands:\n", ASVK_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "  %-10s %s\n  %-10s %s\n", "help", "explain a command: asvk help <command>", "version",
            "print the version and git commit");
    fprintf(f, "\nEnvironment: ASVK_DEVICE (device choice), ASVK_VALIDATION=1 (Vulkan validation layer),\n"
               "ASVK_DISABLE / ASVK_ENABLE (path switches: push_descriptors, texel, image, host_map,\n"
               "fp16, subgroup, timestamps), ASVK_MEMORY_BUDGET (e.g. 512M), ASVK_MAX_BINDING (e.g. 64M),\n"
               "ASVK_GEMM (GEMM tuning), ASVK_CACHE_DIR (pipeline cache; 'off' disables),\n"
               "ASVK_PIPELINE_THREADS (threads building pipelines; default the cores),\n"
               "ASVK_VULKAN_LIBRARY (loader path).\n"
               "Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input, 130/143 stopped by Ctrl-C/SIGTERM.\n");
}

static const cli_command *find(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

double asvk_main_ns;

int main(int argc, char **argv) {
    asvk_main_ns = asvk_now_ns();
    setvbuf(stdout, NULL, _IOLBF, 0); /* a line at a time into a file or pipe too: in order with stderr's progress */
    if (argc < 2) {
        overview(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc < 3) { overview(stdout); return 0; }
        const cli_command *c = find(argv[2]);
        if (!c) {
            fprintf(stderr, "asvk: no command '%s'; 'asvk help' lists them\n", argv[2]);
            return 2;
        }
        cli_print_help(stdout, c);
        return 0;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("asvk %s (git %s)\n", ASVK_VERSION, asvk_git_commit);
        return 0;
    }
    const cli_command *c = find(name);
    if (!c) {
        fprintf(stderr, "asvk: no command '%s'; 'asvk help' lists them\n", name);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(stdout, c);
            return 0;
        }
    asvk_status st = ranks_open(&argc, &argv);
    if (st) {
        fprintf(stderr, "asvk: %s\n", asvk_error_message());
        return asvk_status_exit_code(st);
    }
    /* the commands that split their work over ranks (docs/scale.md);
     * the others would only repeat it N times into the same files */
    static const char *const parallel[] = {"train", "evolve", "search", "pipeline"};
    bool ok = !ranks_parallel();
    for (size_t i = 0; i < sizeof parallel / sizeof parallel[0]; i++) ok = ok || strcmp(name, parallel[i]) == 0;
    ok = ok || (strcmp(name, "bench") == 0 && argc > 2 && strcmp(argv[2], "allreduce") == 0);
    if (!ok) {
        if (ranks_leader())
            fprintf(stderr, "asvk: 'asvk %s' runs in one process; start it without mpirun (train, evolve, search and "
                    "pipeline run on several)\n", name);
        ranks_close(0);
        return 2;
    }
    interrupt_install();
    cli_args a;
    int rc = cli_parse(c, argc - 2, argv + 2, &a);
    if (!rc) rc = c->run(&a);
    interrupt_report();
    ranks_close(rc);
    return rc;
}
