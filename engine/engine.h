/* The whole engine API. */
#ifndef ASVK_ENGINE_ENGINE_H
#define ASVK_ENGINE_ENGINE_H
#include "engine/device.h"
#include "engine/kernel.h"
#include "engine/memory.h"
#include "engine/status.h"
#include "engine/stream.h"
#include "engine/version.h"
#endif
