/* What the architecture harnesses check of an architecture that loaded. */
#ifndef ASVK_TESTS_FUZZ_ARCH_CHECKS_H
#define ASVK_TESTS_FUZZ_ARCH_CHECKS_H

#include "runtime/io/arch.h"

/* Its cost and parameter list exist; its skeleton, when it has one, builds
 * the same network back (by cost); it writes as asvk JSON and reads back
 * equal. Any failure ends the run (fuzz_fail). */
void fuzz_check_arch(const asvk_arch *a);

/* When it can be written as a net.config, that reads back as the same
 * network: same layers, input and cost. */
void fuzz_check_arch_netconfig(const asvk_arch *a);

#endif
